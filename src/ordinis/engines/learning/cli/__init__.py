"""The ``ordinis-learning`` command line (Typer + Rich).

Every command talks to a running server (``--url``, ``--token``) or, in-process, to a data dir
(``--data-dir``, ``--config``) through the same HTTP app; ``--json`` prints what the API
returned. Imports are lazy: ``--url`` commands never import the engine.
"""

from ordinis.engines.learning.cli import model_commands, ops_commands, rollout_commands
from ordinis.engines.learning.cli.commands import app

_REGISTERED = (model_commands, ops_commands, rollout_commands)  # their commands register on import

__all__ = ["app"]
