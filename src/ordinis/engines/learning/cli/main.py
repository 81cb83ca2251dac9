"""``python -m ordinis.engines.learning.cli.main``: the same as the ``ordinis-learning`` script."""

from ordinis.engines.learning.cli import app

if __name__ == "__main__":
    app()
