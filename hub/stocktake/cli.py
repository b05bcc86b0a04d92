"""``storehub stocktake …`` commands."""

from __future__ import annotations

import json
import sys

import click


@click.group("stocktake")
def stocktake_group() -> None:
    """Cycle counting from the command line (for a daily timer)."""


def _db(data_dir):
    from hub.store import open_db

    return open_db(data_dir)[1]


@stocktake_group.command("classify")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="STOREHUB_DATA_DIR", default=None)
@click.option("--days", default=90, show_default=True, help="Sales window")
@click.option("--basis", type=click.Choice(["value", "velocity"]), default="value", show_default=True)
def classify_cmd(data_dir, days, basis):
    """ABC-classify items (A: first 80% of value, B: next 15%, C: the rest)."""
    from hub.kernel.errors import StoreHubError
    from hub.stocktake import cycle

    db = _db(data_dir)
    try:
        with db.write() as conn:
            out = cycle.classify(conn, days=days, basis=basis, actor="system:cli")
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict()))
        sys.exit(2)
    finally:
        db.close()
    click.echo(json.dumps(out))


@stocktake_group.command("schedule")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="STOREHUB_DATA_DIR", default=None)
@click.option("--horizon-days", default=7, show_default=True, help="Create tasks falling due within this many days")
def schedule_cmd(data_dir, horizon_days):
    """Create cycle-count tasks for items falling due (run daily)."""
    from hub.stocktake import cycle

    db = _db(data_dir)
    try:
        with db.write() as conn:
            out = cycle.schedule(conn, actor="system:cli", horizon_days=horizon_days)
    finally:
        db.close()
    click.echo(json.dumps({"created": out["created"]}))
