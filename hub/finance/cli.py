"""``storehub finance …`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hub.store import open_db
from hub.finance import model


@click.group("finance")
def finance_group() -> None:
    """Finance."""


@finance_group.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STOREHUB_DATA_DIR",
              default=None, help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
def list_cmd(data_dir, limit):
    """Print the newest records, one JSON object per line."""
    _cfg, db = open_db(data_dir)
    try:
        rows, _total = model.list_records(db.read(), limit=limit)
    finally:
        db.close()
    for r in rows:
        click.echo(json.dumps(r, ensure_ascii=False))
