"""``token new`` and ``token hash``: bearer tokens for ``serve``, kept out of shell history.

The tokens file holds SHA-256 hashes, never tokens. ``token new`` makes a random token (256
bits, ``secrets.token_urlsafe``) and prints it with its hash; ``token hash`` hashes one the user
chose, read from stdin unless given (an argument lands in the shell's history and in ``ps``),
and refuses an empty or short one: a guessable token is a role anyone can take.
"""

from __future__ import annotations

import secrets
import sys

import typer

from ordinis.engines.learning.cli import render as r
from ordinis.engines.learning.cli.commands import JsonOpt, token_app

MIN_TOKEN_CHARS = 16


def _digest(token: str) -> str:
    """The hash the server's token book looks the token up by (its own function)."""
    from ordinis.engines.learning.api import hash_token

    return str(hash_token(token))


def _read_token() -> str:
    """One token from stdin: hidden at a terminal, else the first line of the pipe."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("token: ")
    return sys.stdin.readline().rstrip("\r\n")


@token_app.command("new")
def token_new(json_out: bool = JsonOpt) -> None:
    """Make a random token and print it with the SHA-256 to put in the tokens file."""
    token = secrets.token_urlsafe(32)
    digest = _digest(token)
    if json_out:
        return r.as_json({"token": token, "sha256": digest})
    r.out.print(f"token:  {token}", markup=False, highlight=False)
    r.out.print(f"sha256: {digest}", markup=False, highlight=False)
    r.err.print("give the token to its client (it is stored nowhere); put the sha256 in the "
                "tokens file with the client's identity and roles", markup=False)


@token_app.command("hash")
def token_hash(
    token: str | None = typer.Argument(
        None, help="The secret token; omit it (or give -) to read it from stdin, which keeps "
        "it out of the shell's history"),
) -> None:
    """Print the SHA-256 to put in the tokens file (store hashes, never tokens)."""
    secret = _read_token() if token in (None, "-") else str(token)
    if not secret.strip():
        r.fail("the token is empty: give the secret token (or make one with "
               "`ordinis-learning token new`)")
        raise typer.Exit(2)
    if secret != secret.strip():
        r.fail("the token starts or ends with whitespace, which a client's header would not "
               "carry; give it without")
        raise typer.Exit(2)
    if len(secret) < MIN_TOKEN_CHARS:
        r.fail(f"the token has {len(secret)} characters; use at least {MIN_TOKEN_CHARS} (a "
               "short token can be guessed): `ordinis-learning token new` makes a random one")
        raise typer.Exit(2)
    r.out.print(_digest(secret), markup=False, highlight=False)
