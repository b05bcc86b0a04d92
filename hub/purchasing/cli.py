"""``storehub purchasing …`` commands: the nightly timer's replenishment and expiry check, CSV imports, recall.

Each prints one JSON object; a refused input prints the error object and exits 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hub.kernel import settings
from hub.kernel.errors import StoreHubError
from hub.purchasing import days, demand, lots, replenish, suppliers_csv
from hub.store import open_db

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STOREHUB_DATA_DIR",
    default=None,
    help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)",
)
ACTOR = "system:purchasing"


@click.group("purchasing")
def purchasing_group() -> None:
    """Suppliers, purchase orders, lots and replenishment."""


def _run(data_dir, fn):
    _cfg, db = open_db(data_dir)
    try:
        with db.write() as conn:
            out = fn(conn)
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False))
        sys.exit(2)
    finally:
        db.close()
    click.echo(json.dumps(out, ensure_ascii=False))


@purchasing_group.command("replenish")
@_DATA_DIR
@click.option("--drafts/--no-drafts", default=True, show_default=True, help="Write draft orders per supplier")
def replenish_cmd(data_dir, drafts):
    """Compute reorder points and suggestions; write draft orders (for the nightly timer)."""

    def work(conn):
        out = replenish.run(conn, today=days.today(conn), actor=ACTOR, create_drafts=drafts)
        out.pop("suggestions")
        return out

    _run(data_dir, work)


@purchasing_group.command("expiry-check")
@_DATA_DIR
def expiry_cmd(data_dir):
    """Raise or clear near-expiry and expired-stock alerts and suggest markdowns (for the nightly timer)."""
    from hub.purchasing import markdowns

    def work(conn):
        today, setting = days.today(conn), settings.get(conn, "purchasing.near_expiry_days")
        out = lots.check_expiry(conn, today=today, setting=setting)
        return {**out, "markdowns_suggested": len(markdowns.suggest(conn, today=today, setting=setting))}

    _run(data_dir, work)


@purchasing_group.command("late-check")
@_DATA_DIR
def late_cmd(data_dir):
    """Raise or clear late-delivery alerts for orders past their expected day (for the nightly timer)."""
    from hub.purchasing import alerts as po_alerts

    _run(data_dir, lambda conn: po_alerts.check_late(conn, today=days.today(conn)))


@purchasing_group.command("import")
@_DATA_DIR
@click.argument("kind", type=click.Choice(suppliers_csv.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row, apply nothing")
def import_cmd(data_dir, kind, file, dry_run):
    """Import suppliers, or what they sell (case packs, cost price lists), from CSV."""
    data = file.read_bytes()
    _run(
        data_dir,
        lambda conn: suppliers_csv.import_csv(
            conn, kind, data, actor=ACTOR, today=days.today(conn).isoformat(), dry_run=dry_run
        ),
    )


@purchasing_group.command("recall")
@_DATA_DIR
@click.argument("lot")
@click.option("--item-id", default=None)
@click.option("--csv", "as_csv", is_flag=True, help="Print the recall as CSV (one row per finding) instead of JSON")
def recall_cmd(data_dir, lot, item_id, as_csv):
    """Where a lot is now, what was sold when (receipts), to which members, for which orders, and transfers."""
    from hub.purchasing import recall

    _cfg, db = open_db(data_dir)
    try:
        r = recall.recall(db.read(), lot, item_id=item_id)
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False))
        sys.exit(2)
    finally:
        db.close()
    click.echo(recall.to_csv(recall.rows(r)) if as_csv else json.dumps(r, ensure_ascii=False), nl=not as_csv)


@purchasing_group.command("rebuild-demand")
@_DATA_DIR
def rebuild_cmd(data_dir):
    """Recompute daily demand from the ledger (history from before purchasing was installed)."""
    _run(data_dir, lambda conn: {"rows": demand.rebuild(conn)})
