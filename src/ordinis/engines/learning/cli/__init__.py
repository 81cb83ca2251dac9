"""The ``ordinis-learning`` command line (Typer + Rich).

Every command talks to a running server (``--url``, ``--token``) or, in-process, to a data dir
(``--data-dir``, ``--config``) with the same requests; ``--json`` prints what the API returned.
Imports are lazy: ``--url`` commands never import the engine, and in-process reads of the
event store (audit, events, jobs, breakers, status) open only the store (``EngineReader``),
never MLflow, river or FastAPI; writes and registry reads go through the HTTP app in-process.
"""

from ordinis.engines.learning.cli import (
    model_commands,
    ops_commands,
    parity_commands,
    retrain_commands,
    rollout_commands,
    token_commands,
)
from ordinis.engines.learning.cli.commands import app

# their commands register on import
_REGISTERED = (model_commands, ops_commands, parity_commands, retrain_commands,
               rollout_commands, token_commands)

__all__ = ["app"]
