"""Model artifacts: SHA-256 manifests at registration, verification before anything is unpickled.

A manifest maps each artifact file (path relative to the version's artifact root, POSIX
separators) to its SHA-256. ``load_model`` verifies every file against it first; a changed,
missing or extra file raises ArtifactIntegrityError and nothing is deserialised.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import joblib

from ordinis.engines.learning.core.errors import (
    ArtifactIntegrityError,
    FieldProblem,
    ValidationError,
)

MODEL_FILENAME = "model.joblib"
_LOADABLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def build_manifest(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of a file (its name) or of every file under a directory."""
    if root.is_file():
        return {root.name: sha256_file(root)}
    manifest: dict[str, str] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            manifest[p.relative_to(root).as_posix()] = sha256_file(p)
    return dict(sorted(manifest.items()))


def manifest_digest(manifest: dict[str, str]) -> str:
    """One SHA-256 standing for a whole manifest (canonical JSON)."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def artifact_sha256(manifest: dict[str, str]) -> str:
    """``ModelVersion.artifact_sha256``: the file's hash for one file, else the manifest digest."""
    if len(manifest) == 1:
        return next(iter(manifest.values()))
    return manifest_digest(manifest)


def verify_manifest(root: Path, manifest: dict[str, str], what: str) -> None:
    """Raise ArtifactIntegrityError naming every changed, missing or unexpected file."""
    problems: list[str] = []
    if not root.is_dir():
        raise ArtifactIntegrityError(f"{what}: artifact directory {root} is missing")
    actual: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            actual[p.relative_to(root).as_posix()] = p
    for rel, expected in manifest.items():
        path = actual.get(rel)
        if path is None:
            problems.append(f"{rel}: missing")
            continue
        got = sha256_file(path)
        if got != expected:
            problems.append(f"{rel}: sha256 {got[:12]}… differs from registered {expected[:12]}…")
    extra = sorted(set(actual) - set(manifest))
    problems.extend(f"{rel}: not registered (added later)" for rel in extra)
    if problems:
        raise ArtifactIntegrityError(
            f"{what}: artifact integrity check failed, refusing to load: " + "; ".join(problems)
        )


def choose_model_file(manifest: dict[str, str], declared: str | None, what: str) -> str:
    """The file to deserialise: the declared one, else the only .joblib/.pkl file."""
    if declared:
        return declared
    candidates = [rel for rel in manifest if rel.endswith(_LOADABLE_SUFFIXES)]
    if len(candidates) == 1:
        return candidates[0]
    raise ValidationError(
        f"model file of {what}",
        [FieldProblem(
            "model_file", candidates,
            "need exactly one .joblib/.pkl/.pickle artifact to load (register with model= or a "
            "single model file)",
        )],
    )


def save_model_object(model: Any, directory: Path) -> Path:
    """Serialise ``model`` with joblib into ``directory/model.joblib``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MODEL_FILENAME
    try:
        joblib.dump(model, path)
    except Exception as exc:
        raise ValidationError(
            "model", [FieldProblem("model", type(model).__name__, f"cannot be serialised: {exc}")]
        ) from exc
    return path


def load_model_file(path: Path) -> Any:
    """Deserialise a verified artifact (joblib reads plain pickles too)."""
    return joblib.load(path)


def local_path(uri: str) -> Path | None:
    """The local filesystem path of a ``file://`` URI or plain path; None for remote URIs."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(uri)
    return None


class ArtifactDir:
    """Context manager giving a local directory with a version's artifacts (downloaded into a
    temporary directory when the artifact store is remote)."""

    def __init__(self, source: str, tracking_uri: str) -> None:
        self.source = source
        self.tracking_uri = tracking_uri
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        local = local_path(self.source)
        if local is not None:
            return local
        import mlflow.artifacts

        self._tmp = tempfile.TemporaryDirectory(prefix="ordinis-load-")
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=self.source, dst_path=self._tmp.name, tracking_uri=self.tracking_uri
        )
        return Path(path)

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
