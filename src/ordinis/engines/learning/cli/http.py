"""A small blocking HTTP client on the standard library for ``--url`` mode: a read command
then costs the interpreter, typer and one request, not httpx's import."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Reply:
    """What the commands read of a response (the subset of httpx.Response they use)."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class UrlClient:
    """One keep-alive connection to ``base_url``, sending the given headers on every call."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url {base_url!r}: give http(s)://host:port")
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._conn = cls(parts.hostname, parts.port, timeout=timeout)
        self._prefix = parts.path.rstrip("/")
        self._headers = {"Accept": "application/json", **headers}

    def __enter__(self) -> UrlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None,
        content: bytes | None = None, headers: dict[str, str] | None = None,
    ) -> Reply:
        target = self._prefix + path
        if params:
            target += "?" + urlencode(
                {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()},
                doseq=True)
        hdrs = {**self._headers, **(headers or {})}
        body = content
        if json is not None and content is None:
            body = _dumps(json)
            hdrs.setdefault("Content-Type", "application/json")
        try:
            self._conn.request(method, target, body=body, headers=hdrs)
            resp = self._conn.getresponse()
            return Reply(resp.status, resp.read())
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise ConnectionError(f"cannot reach the server ({exc})") from None


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")
