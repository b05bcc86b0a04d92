"""``storehub orders import FILE``: take orders in from a CSV or JSON file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("orders")
def orders_cli() -> None:
    """Customer orders."""


@orders_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STOREHUB_DATA_DIR", default=None)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="Default: from the file name (.csv / .json)",
)
@click.option("--actor", default="system:import", show_default=True)
def import_cmd(file: Path, data_dir: Path | None, fmt: str | None, actor: str) -> None:
    """Import orders; prints a JSON report (created, duplicates, errors). Exit 1 if any order was refused."""
    from hub.kernel.errors import StoreHubError
    from hub.orders import importer
    from hub.store import open_db

    fmt = fmt or file.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise click.UsageError("give --format csv|json (cannot tell from the file name)")
    _cfg, db = open_db(data_dir)
    try:
        orders = importer.parse(file.read_text(encoding="utf-8-sig"), fmt)
        with db.write() as conn:
            report = importer.import_orders(conn, orders, actor=actor)
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False), err=True)
        sys.exit(2)
    finally:
        db.close()
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(1 if report["errors"] else 0)
