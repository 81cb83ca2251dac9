"""``ordinis-learning serve``: one engine behind uvicorn; unauthenticated only on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

from ordinis.engines.learning import ConfigError, FieldProblem, LearningEngine, LearningEngineConfig
from ordinis.engines.learning.api.app import create_app
from ordinis.engines.learning.api.auth import TokenBook


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    config: LearningEngineConfig,
    host: str = "127.0.0.1",
    port: int = 8765,
    tokens_file: Path | None = None,
    insecure_local: bool = False,
    log_level: str = "info",
) -> None:
    """Run the service until interrupted (uvicorn, httptools/uvloop when installed)."""
    import uvicorn

    if insecure_local and not is_loopback(host):
        raise ConfigError("serve", [FieldProblem(
            "--insecure-local", host,
            "unauthenticated access is allowed on loopback only; bind 127.0.0.1 or drop "
            "--insecure-local and pass --tokens-file")])
    book = TokenBook.load(tokens_file)
    if not book.entries and not insecure_local:
        raise ConfigError("serve", [FieldProblem(
            "--tokens-file", str(tokens_file) if tokens_file else None,
            "no tokens configured: pass --tokens-file or set ORDINIS_LEARNING_TOKENS "
            "(`ordinis-learning token hash` prints a token's hash), or --insecure-local")])
    engine = LearningEngine(config)
    # The app's lifespan still shuts the engine down, inside uvicorn's own shutdown: uvicorn
    # re-raises SIGTERM/SIGINT once it has stopped, so nothing after ``serve()`` would run.
    app = create_app(engine, book, insecure_local=insecure_local)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                           access_log=False))

    async def run() -> None:
        # The engine starts before the socket is bound (the lifespan's initialize() is then a
        # no-op): a configuration or store error is the engine's own message (the CLI prints it
        # and exits 2), not a traceback from uvicorn's lifespan and "Application startup failed".
        await engine.initialize()
        try:
            await server.serve()
        finally:
            await engine.shutdown()  # a no-op after the lifespan's; needed if serving failed

    asyncio.run(run())
