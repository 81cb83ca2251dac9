"""The registry read from MLflow's own SQLite tables, read-only, without importing MLflow.

A read command (``ordinis-learning models list --data-dir D``) needs the versions, their tags
and the aliases: two MLflow searches through MlflowClient cost ~3 s CPU to import MLflow and
~1.5 s for its store's start (SQLAlchemy, schema checks) on this machine. Here the same rows
come from ``registered_models``, ``registered_model_tags``, ``registered_model_aliases``,
``model_versions`` and ``model_version_tags`` over a ``mode=ro`` connection, with the filters
MLflow's SqlAlchemyStore applies (the default workspace, no deleted versions). MLflow stays the
one source of truth: nothing is cached or written. When the URI is not a local SQLite file or
the tables are not the ones expected, ``load_models`` returns None and the caller uses
MlflowClient.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ordinis.engines.learning.registry.tags import (
    TAG_MANAGED,
    LoadedModel,
    LoadedVersion,
    loaded_version,
)

DEFAULT_WORKSPACE = "default"  # MLflow's single-tenant workspace (mlflow.utils.workspace_utils)
DELETED_STAGE = "Deleted_Internal"  # MLflow's marker of a deleted version, never listed
# The columns read from each table; a schema without them is not one this reader knows.
_COLUMNS: dict[str, frozenset[str]] = {
    "registered_models": frozenset({"name"}),
    "registered_model_tags": frozenset({"key", "value", "name"}),
    "registered_model_aliases": frozenset({"alias", "version", "name"}),
    "model_versions": frozenset(
        {"name", "version", "creation_time", "description", "current_stage", "source",
         "run_id"}),
    "model_version_tags": frozenset({"key", "value", "name", "version"}),
}


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI (None for any other kind)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    raw = tracking_uri[len("sqlite:///"):].partition("?")[0]
    return Path(raw) if raw and raw != ":memory:" else None


def load_models(tracking_uri: str) -> list[LoadedModel] | None:
    """Every model this engine manages, with versions and aliases, as ``MlflowBackend.load_all``
    reads them; None when this reader cannot read that store (then use MlflowClient)."""
    path = sqlite_path(tracking_uri)
    if path is None or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        return _read(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection) -> list[LoadedModel] | None:
    scoped: dict[str, bool] = {}
    for table, needed in _COLUMNS.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if not needed <= columns:
            return None
        scoped[table] = "workspace" in columns
    conn.execute("BEGIN")  # one snapshot of every table
    try:
        managed = [name for (name,) in conn.execute(
            "SELECT name FROM registered_model_tags WHERE key = ? AND value = 'true'"
            + _in_default(scoped, "registered_model_tags") + " ORDER BY name", (TAG_MANAGED,))]
        known = {name for (name,) in conn.execute(
            "SELECT name FROM registered_models WHERE 1 = 1"
            + _in_default(scoped, "registered_models"))}
        aliases: dict[str, dict[str, str]] = {}
        for name, alias, version in conn.execute(
            "SELECT name, alias, version FROM registered_model_aliases WHERE 1 = 1"
            + _in_default(scoped, "registered_model_aliases")
        ):
            aliases.setdefault(name, {})[alias] = str(version)
        tags: dict[tuple[str, str], dict[str, str]] = {}
        for name, version, key, value in conn.execute(
            "SELECT name, version, key, value FROM model_version_tags WHERE 1 = 1"
            + _in_default(scoped, "model_version_tags")
        ):
            tags.setdefault((name, str(version)), {})[key] = value
        versions: dict[str, list[LoadedVersion]] = {}
        for name, version, created, source, description, run_id in conn.execute(
            "SELECT name, version, creation_time, source, description, run_id "
            "FROM model_versions WHERE current_stage != ?"
            + _in_default(scoped, "model_versions"), (DELETED_STAGE,)
        ):
            lv = loaded_version(name, str(version), tags.get((name, str(version)), {}),
                                created, source, description, run_id)
            if lv is not None:
                versions.setdefault(name, []).append(lv)
    finally:
        conn.execute("COMMIT")
    out = []
    for name in managed:
        if name not in known:
            continue
        found = versions.get(name, [])
        found.sort(key=lambda lv: int(lv.version.mlflow_version or 0))
        out.append(LoadedModel(name, found, aliases.get(name, {})))
    return out


def _in_default(scoped: dict[str, bool], table: str) -> str:
    """The workspace filter MLflow's store adds (tables of MLflow 3 carry a workspace)."""
    return f" AND workspace = '{DEFAULT_WORKSPACE}'" if scoped[table] else ""
