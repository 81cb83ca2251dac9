"""How the CLI reaches an engine: a running server (``--url``), or in-process on a data dir
(reads of the event store answered by ``api.local``; writes and registry reads by the same HTTP
app in-process). Either way the commands send the same requests and read the same JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

URL_ENV = "ORDINIS_LEARNING_URL"
TOKEN_ENV = "ORDINIS_LEARNING_TOKEN"


class CliError(Exception):
    """A refusal to show the user (exit code 2), with the full message (never cut)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """Where the command goes: ``url`` (+ ``token``), or ``data_dir`` / ``config`` in-process."""

    url: str | None = None
    token: str | None = None
    data_dir: Path | None = None
    config: Path | None = None
    json: bool = False

    @property
    def remote(self) -> bool:
        return self.url is not None


def resolve(
    url: str | None, token: str | None, data_dir: Path | None, config: Path | None, json: bool
) -> Target:
    """Options first, then ``ORDINIS_LEARNING_URL`` / ``ORDINIS_LEARNING_TOKEN``."""
    url = url or (os.environ.get(URL_ENV) if data_dir is None else None)
    token = token or os.environ.get(TOKEN_ENV)
    if url and data_dir is not None:
        raise CliError("--url and --data-dir exclude each other: a command goes to a running "
                       "server or opens a data dir, not both")
    return Target(url, token, data_dir, config, json)


class Client:
    """Thin JSON-over-HTTP calls; an error reply becomes a CliError with its full detail."""

    def __init__(self, http: Any) -> None:
        self.http = http

    def get(self, path: str, /, **params: Any) -> Any:
        return self._send("GET", path, params=_clean(params))

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self._send("POST", path, json=body if body is not None else {},
                          params=_clean(params))

    def put(self, path: str, body: Any) -> Any:
        return self._send("PUT", path, json=body)

    def post_raw(self, path: str, content: bytes, content_type: str) -> Any:
        return self._send("POST", path, content=content,
                          headers={"Content-Type": content_type})

    def health(self) -> Any:
        """``GET /health``: its body for 200 and for 503 alike (503 is the server saying
        UNHEALTHY, with the level and the causes, not a failed call)."""
        return self._send("GET", "/health", answers=frozenset({503}))

    def text(self, path: str) -> str:
        r = self.http.get(path)
        if r.status_code >= 400:
            raise CliError(_problem(r), r.status_code)
        return str(r.text)

    def _send(self, method: str, path: str, answers: frozenset[int] = frozenset(),
              **kw: Any) -> Any:
        """The reply's JSON; an error status becomes a CliError unless it is in ``answers``
        (a status the endpoint answers with, like /health's 503)."""
        try:
            r = self.http.request(method, path, **kw)
        except ValueError as exc:  # json.dumps(allow_nan=False): NaN or infinity in the body
            if "JSON compliant" not in str(exc):
                raise
            raise CliError("a number given is NaN or infinite: the engine takes finite numbers "
                           "only (JSON cannot carry the others); pass a finite value") from None
        if r.status_code >= 400 and r.status_code not in answers:
            raise CliError(_problem(r), r.status_code)
        return r.json()


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _problem(r: Any) -> str:
    try:
        body = r.json()
    except ValueError:
        return f"HTTP {r.status_code}: {r.text}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail:
        return detail
    return f"HTTP {r.status_code}: {body}"


def config_file(config: Path | None, data_dir: Path | None, say: Any) -> Path | None:
    """``--config``, else the settings file the data dir carries (as the demo writes it)."""
    if config is not None or data_dir is None:
        return config
    from ordinis.engines.learning import LearningEngineConfig

    found = LearningEngineConfig.settings_in(data_dir)
    if found is not None:
        say(f"config: {found} (the data dir's settings; --config FILE for others)")
    return found


def store_exists(data_dir: Path, store_url: str) -> bool:
    """True when the SQLite store of ``data_dir`` exists (a PostgreSQL URL always counts)."""
    if not store_url.startswith("sqlite:///"):
        return True
    return Path(store_url.removeprefix("sqlite:///")).exists()


@contextmanager
def connect(target: Target, write: bool, say: Any) -> Iterator[Client]:
    """A client for ``target``; in-process, the engine opens for the command and closes after.

    A read command refuses to create a store that does not exist (it names the path and how to
    choose another); ``say`` reports which store or server is used.
    """
    if target.remote:
        from ordinis.engines.learning.cli.http import UrlClient

        headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
        say(f"server: {target.url}")
        try:
            remote = UrlClient(str(target.url), headers, timeout=600)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        with remote:
            try:
                yield Client(remote)
            except ConnectionError as exc:
                raise CliError(f"{target.url}: {exc}; is `ordinis-learning serve` running "
                               "there?") from None
        return
    from ordinis.engines.learning import LearningEngineConfig

    overrides: dict[str, Any] = {}
    if target.data_dir is not None:
        overrides["data_dir"] = target.data_dir
    try:
        path = config_file(target.config, target.data_dir, say)
        config = LearningEngineConfig.load(path, **overrides)
    except Exception as exc:
        raise CliError(str(exc)) from None
    store = config.resolved_store_url
    if not write and not store_exists(config.data_dir, store):
        raise CliError(
            f"no store at {store} (data dir {config.data_dir.resolve()}); a read command does "
            "not create one: pass --data-dir DIR of an existing store, or --url of a server"
        )
    say(f"store: {store}")
    if not write:
        with _reads(config) as local:
            yield Client(local)
        return
    from ordinis.engines.learning.cli.local import in_process_client_class

    test_client = in_process_client_class()
    from ordinis.engines.learning import LearningEngine
    from ordinis.engines.learning.api import create_app

    engine = LearningEngine(config, read_only=not write)  # reads write nothing, start nothing
    app = create_app(engine, insecure_local=True, local_identity=_user())
    try:
        with test_client(app, base_url="http://in-process", raise_server_exceptions=True) as http:
            yield Client(http)
    except CliError:
        raise
    except Exception as exc:
        from ordinis.engines.learning import LearningEngineError, StoreLockedError

        if isinstance(exc, StoreLockedError):  # a write needs the owner: say how to reach it
            raise CliError(
                f"{exc}. A write goes to the engine that owns the store: when that engine is "
                "`ordinis-learning serve`, send this command to it with --url http://HOST:PORT "
                "(and --token)") from None
        if isinstance(exc, LearningEngineError):
            raise CliError(str(exc)) from None
        raise


@contextmanager
def _reads(config: Any) -> Iterator[Any]:
    """A read command: the store-backed reads without MLflow or FastAPI (``EngineReader``),
    the full read-only engine only for what needs it (registry, drift, rollouts)."""
    from ordinis.engines.learning import EngineReader, LearningEngineError
    from ordinis.engines.learning.cli.local import LocalReads

    reader = EngineReader(config)
    try:
        reader.open()
    except LearningEngineError as exc:
        raise CliError(str(exc)) from None
    try:
        with LocalReads(reader, config, _user()) as local:
            try:
                yield local
            except LearningEngineError as exc:
                raise CliError(str(exc)) from None
    finally:
        reader.close()


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "local"
