"""Bearer tokens and roles: token hashes (never tokens) map to an identity and its roles.

The token book is a JSON/YAML file or the ``ORDINIS_LEARNING_TOKENS`` environment variable:
``{"<sha256 of the token>": {"identity": "alice", "roles": ["reader", "approver"]}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ordinis.engines.learning import ConfigError, FieldProblem

TOKENS_ENV = "ORDINIS_LEARNING_TOKENS"


class Role(StrEnum):
    """What an identity may do: read, ingest, operate, approve promotions."""

    READER = "reader"
    WRITER = "writer"
    OPERATOR = "operator"
    APPROVER = "approver"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who called, and with which roles (the audit log records ``name``)."""

    name: str
    roles: frozenset[Role]


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in the token book."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenBook:
    """Token hash -> identity; looks tokens up by hash in constant time per entry."""

    def __init__(self, entries: Mapping[str, Identity]) -> None:
        self.entries = dict(entries)

    @classmethod
    def parse(cls, data: object, source: str) -> TokenBook:
        """Validate a decoded book; ConfigError names the bad entry and the fix."""
        problems: list[FieldProblem] = []
        entries: dict[str, Identity] = {}
        if not isinstance(data, dict):
            raise ConfigError(source, [FieldProblem("tokens", type(data).__name__,
                              "must be a mapping {sha256-hex: {identity, roles}}")])
        for digest, spec in data.items():
            key = str(digest).lower()
            if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
                problems.append(FieldProblem(f"tokens[{digest}]", digest,
                                "must be the SHA-256 hex of the token (64 hex chars), "
                                "never the token itself"))
                continue
            if not isinstance(spec, dict) or not spec.get("identity"):
                problems.append(FieldProblem(f"tokens[{key[:8]}…].identity", spec,
                                "must name the identity"))
                continue
            roles: set[Role] = set()
            for r in spec.get("roles", []):
                try:
                    roles.add(Role(str(r)))
                except ValueError:
                    problems.append(FieldProblem(f"tokens[{key[:8]}…].roles", r,
                                    f"must be one of {[x.value for x in Role]}"))
            entries[key] = Identity(str(spec["identity"]), frozenset(roles))
        if problems:
            raise ConfigError(source, problems)
        return cls(entries)

    @classmethod
    def load(cls, path: Path | None = None) -> TokenBook:
        """From ``path`` (JSON or YAML), else from the environment variable, else empty."""
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                why = f"cannot be read ({exc.strerror}); pass an existing file"
                raise ConfigError(
                    str(path), [FieldProblem("tokens_file", str(path), why)]
                ) from None
            return cls.parse(yaml.safe_load(text) or {}, str(path))
        raw = os.environ.get(TOKENS_ENV)
        if raw:
            try:
                return cls.parse(json.loads(raw), TOKENS_ENV)
            except json.JSONDecodeError as exc:
                raise ConfigError(TOKENS_ENV, [FieldProblem(TOKENS_ENV, raw[:20],
                                  f"is not JSON ({exc.msg})")]) from None
        return cls({})

    def identify(self, token: str) -> Identity | None:
        digest = hash_token(token)
        for key, ident in self.entries.items():
            if hmac.compare_digest(key, digest):
                return ident
        return None


LOCAL_IDENTITY = Identity("local", frozenset(Role))
_bearer = HTTPBearer(auto_error=False)


def require(role: Role) -> Callable[..., Awaitable[Identity]]:
    """A dependency: the caller's identity, 401 without a valid token, 403 without ``role``."""

    async def dependency(  # async: no thread-pool hop per request (a hash and a lookup)
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Identity:
        settings = request.app.state.auth
        if creds is None or not creds.credentials:
            if settings.insecure_local:
                local = Identity(settings.local_name, LOCAL_IDENTITY.roles)
                request.state.identity = local.name
                return local
            raise HTTPException(401, "a bearer token is required (Authorization: Bearer …)",
                                headers={"WWW-Authenticate": "Bearer"})
        ident = settings.book.identify(creds.credentials)
        if ident is None:
            raise HTTPException(401, "the bearer token is not known",
                                headers={"WWW-Authenticate": "Bearer"})
        if role not in ident.roles:
            raise HTTPException(403, f"{ident.name!r} lacks the role {role.value!r}")
        request.state.identity = ident.name
        return ident

    dependency.__name__ = f"require_{role.value}"
    return dependency


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """The token book, and whether unauthenticated loopback callers are let in."""

    book: TokenBook
    insecure_local: bool = False
    local_name: str = "local"


Reader = Annotated[Identity, Depends(require(Role.READER))]
Writer = Annotated[Identity, Depends(require(Role.WRITER))]
Operator = Annotated[Identity, Depends(require(Role.OPERATOR))]
Approver = Annotated[Identity, Depends(require(Role.APPROVER))]
