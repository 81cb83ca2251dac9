"""The HTTP service: one engine behind FastAPI, bearer tokens with roles, problem details.

Uses only the public API of ``ordinis.engines.learning``.
"""

from ordinis.engines.learning.api.app import create_app
from ordinis.engines.learning.api.auth import Identity, Role, TokenBook, hash_token

__all__ = ["Identity", "Role", "TokenBook", "create_app", "hash_token"]
