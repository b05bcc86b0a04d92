"""What every ``storehub`` command that opens a hub shares: the ``--data-dir`` option and who the CLI acts as."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STOREHUB_DATA_DIR",
    default=None,
    help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)",
)


def cli_actor() -> str:
    """The audit actor of a command run by a person at the hub's console: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (e.g. a container without a passwd entry)
        return "cli"


def storehub_argv(*args: str, python: str | None = None) -> list[str]:
    """argv that runs a ``storehub`` subcommand as a child process with this interpreter.

    ``-P`` keeps the child from importing the parent's working directory: a ``hub/`` folder in the folder
    ``storehub serve`` was started from must not replace the installed package in the bus child."""
    return [python or sys.executable, "-P", "-m", "hub.cli", *args]
