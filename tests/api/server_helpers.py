"""A live service for tests: uvicorn in a thread on a free loopback port, tokens per role."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from ordinis.engines.learning import LearningEngine, LearningEngineConfig
from ordinis.engines.learning.api import Identity, Role, TokenBook, create_app, hash_token

T = TypeVar("T")
TOKENS: dict[str, tuple[str, frozenset[Role]]] = {
    "tok-reader": ("rita", frozenset({Role.READER})),
    "tok-writer": ("walt", frozenset({Role.WRITER})),
    "tok-operator": ("olga", frozenset({Role.OPERATOR, Role.READER})),
    "tok-approver": ("anna", frozenset({Role.APPROVER, Role.READER})),
    "tok-approver2": ("bert", frozenset({Role.APPROVER, Role.OPERATOR, Role.READER})),
}


def token_book() -> TokenBook:
    return TokenBook({hash_token(t): Identity(n, r) for t, (n, r) in TOKENS.items()})


@dataclass
class Live:
    """The server's URL, its engine, and ``call`` to run a coroutine on the server's loop."""

    url: str
    engine: LearningEngine
    loop: asyncio.AbstractEventLoop

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(data_dir: Path, **cfg: object) -> Iterator[Live]:
    """Serve a fresh engine on ``data_dir`` until the block ends."""
    config = LearningEngineConfig.create(data_dir=data_dir, **cfg)
    engine = LearningEngine(config)
    app = create_app(engine, token_book())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", engine, loops[0])
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


class ScaleModel:
    """Signal = scale * features["x"] (pickled by reference: it lives in this module)."""

    feature_names = ("x",)

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def predict(self, features: Any) -> list[float]:
        return [self.scale * float(features["x"])]


def seed_rollout(live: Live, name: str, starter: str = "olga") -> tuple[str, str]:
    """A production champion (through four eyes) and a candidate in a shadow rollout."""
    eng = live.engine

    async def go() -> tuple[str, str]:
        v1 = await eng.register_model_version(name, "v1", model=ScaleModel(1.0))
        await eng.promote_model(name, v1.version_id, "staging", actor="olga", reason="try")
        req = await eng.request_promotion(v1.version_id, "production", "olga", "first")
        await eng.approve_promotion(req.request_id, "anna", "ok")
        v2 = await eng.register_model_version(name, "v2", model=ScaleModel(2.0))
        await eng.promote_model(name, v2.version_id, "staging", actor="olga", reason="try")
        await eng.start_rollout(name, v2.version_id, "canary", actor=starter, reason="better")
        return v1.version_id, v2.version_id

    return live.call(go())
