"""``storehub staff …``: the payroll export and attendance exceptions from the hub's console (an office PC
without the handheld, or a script that hands the export to the payroll system)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hub.kernel.cliopts import data_dir_option
from hub.kernel.errors import StoreHubError
from hub.staff import attendance, payroll
from hub.store import open_db


@click.group("staff")
def staff_group() -> None:
    """Staff: attendance exceptions and the payroll export."""


@staff_group.command("export")
@data_dir_option
@click.option("--from", "first", required=True, help="First day of the pay period (YYYY-MM-DD, store's local date)")
@click.option("--to", "last", required=True, help="Last day of the pay period (YYYY-MM-DD)")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write")
def export_cmd(data_dir, first, last, fmt, out):
    """Write a pay period's hours (the stored file once the period is approved)."""
    _cfg, db = open_db(data_dir)
    try:
        data, _name, _media = payroll.export(
            db.read(), attendance.parse_day(first, "from"), attendance.parse_day(last, "to"), fmt
        )
    except StoreHubError as exc:
        click.echo(exc.message if hasattr(exc, "message") else str(exc), err=True)
        sys.exit(2)
    finally:
        db.close()
    out.write_bytes(data)
    click.echo(f"{out} ({len(data)} bytes)")


@staff_group.command("exceptions")
@data_dir_option
@click.option("--from", "first", required=True)
@click.option("--to", "last", required=True)
def exceptions_cmd(data_dir, first, last):
    """Late, early leave, absent, missing clock-out and unrostered work, one JSON object per line."""
    _cfg, db = open_db(data_dir)
    try:
        rows = attendance.exceptions_between(
            db.read(), attendance.parse_day(first, "from"), attendance.parse_day(last, "to")
        )
    except StoreHubError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    finally:
        db.close()
    for r in rows:
        click.echo(json.dumps(r, ensure_ascii=False))
