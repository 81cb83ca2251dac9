"""The HTTP service: one engine behind FastAPI, bearer tokens with roles, problem details.

Uses only the public API of ``ordinis.engines.learning``. Names load on first use (PEP 562):
the CLI's in-process reads use ``api.local`` (the same read endpoints without HTTP) and never
import FastAPI.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.api.app import create_app
    from ordinis.engines.learning.api.auth import Identity, Role, TokenBook, hash_token

_LAZY: dict[str, str] = {
    "create_app": "ordinis.engines.learning.api.app",
    "Identity": "ordinis.engines.learning.api.auth",
    "Role": "ordinis.engines.learning.api.auth",
    "TokenBook": "ordinis.engines.learning.api.auth",
    "hash_token": "ordinis.engines.learning.api.auth",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = ["Identity", "Role", "TokenBook", "create_app", "hash_token"]
