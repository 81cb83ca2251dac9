"""In-process reads for the CLI: store-backed GETs answered by ``api.local`` over an
``EngineReader`` (no MLflow, no FastAPI); any other request opens the full read-only engine
behind the HTTP app, once, on first need (models, drift, rollouts)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

from ordinis.engines.learning.cli.http import Reply

# Starlette warns at import when its test client runs on httpx instead of httpx2 (a plain
# ``pip install`` has httpx only); the CLI's in-process calls work the same on either.
_TESTCLIENT_HTTPX_WARNING = r"Using `httpx` with `starlette\.testclient` is deprecated"


def in_process_client_class() -> Any:
    """Starlette's TestClient (the CLI's in-process transport), imported without its warnings.

    Its import-time deprecation notices are about the test client's own transport, not about
    anything the user did, and they would otherwise print on every in-process CLI command.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=_TESTCLIENT_HTTPX_WARNING)
        from fastapi.testclient import TestClient
    return TestClient


class LocalReads:
    """The http object of ``Client`` for read commands on a data dir."""

    def __init__(self, reader: Any, config: Any, identity: str) -> None:
        self.reader = reader
        self.config = config
        self.identity = identity
        self._stack = ExitStack()
        self._app: Any = None

    def __enter__(self) -> LocalReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                **kw: Any) -> Any:
        if method == "GET":
            from ordinis.engines.learning.api.local import answer

            doc = answer(self.reader, path, params or {})  # refusals: LearningEngineError
            if doc is not None:
                return Reply(200, json.dumps(doc).encode("utf-8"))
        return self._full().request(method, path, params=params, **kw)

    def _full(self) -> Any:
        """The HTTP app over the full read-only engine (registry reads), opened once."""
        if self._app is None:
            test_client = in_process_client_class()
            from ordinis.engines.learning import LearningEngine
            from ordinis.engines.learning.api import create_app

            engine = LearningEngine.open_read_only(self.config)  # writes nothing, starts nothing
            app = create_app(engine, insecure_local=True, local_identity=self.identity)
            self._app = self._stack.enter_context(
                test_client(app, base_url="http://in-process", raise_server_exceptions=True))
        return self._app
