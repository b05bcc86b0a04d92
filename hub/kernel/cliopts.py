"""What every ``storehub`` command that opens a hub shares: the ``--data-dir`` option and who the CLI acts as."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STOREHUB_DATA_DIR", default=None,
    help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)")


def cli_actor() -> str:
    """The audit actor of a command run by a person at the hub's console: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (e.g. a container without a passwd entry)
        return "cli"
