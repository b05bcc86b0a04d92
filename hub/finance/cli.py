"""``storehub finance …``: close, reconcile and lock a business day, import a provider's statement, export the
day's journal (docs/finance.md). Errors print as the API's error object and exit 1."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hub.finance import accounting, model
from hub.kernel.cliopts import data_dir_option
from hub.kernel.errors import StoreHubError
from hub.store import open_db

ACTOR = click.option("--actor", default="cli", show_default=True, help="Who does it (written to the audit log)")


def _run(data_dir: Path | None, fn: Callable[[Any], Any], *, write: bool = True) -> Any:
    _cfg, db = open_db(data_dir)
    try:
        if write:
            with db.write() as conn:
                return fn(conn)
        return fn(db.read())
    except StoreHubError as e:
        click.echo(
            json.dumps({"error": {"code": e.code, "message": str(e), "details": e.details}}, ensure_ascii=False),
            err=True,
        )
        sys.exit(1)
    finally:
        db.close()


def _echo(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=True))


@click.group("finance")
def finance_group() -> None:
    """Finance: store-day close, settlement, accounting export."""


@finance_group.command("close-day")
@data_dir_option
@ACTOR
@click.argument("business_date")
def close_day(data_dir, actor, business_date):
    """Close a business day (it stays 'closing' while a Z report or a payment is missing: printed as blockers)."""
    _echo(_run(data_dir, lambda c: model.close_day(c, business_date, actor=actor)))


@finance_group.command("reconcile-day")
@data_dir_option
@ACTOR
@click.option("--note", default="", help="What the manager checked")
@click.argument("business_date")
def reconcile_day(data_dir, actor, note, business_date):
    """Freeze a closed day's settlement with its differences."""
    _echo(_run(data_dir, lambda c: model.reconcile_day(c, business_date, actor=actor, note=note)))


@finance_group.command("lock-day")
@data_dir_option
@ACTOR
@click.argument("business_date")
def lock_day(data_dir, actor, business_date):
    """Lock a reconciled day: its journal is frozen and nothing posts into it again."""
    _echo(_run(data_dir, lambda c: model.lock_day(c, business_date, actor=actor)))


@finance_group.command("settlement")
@data_dir_option
@click.argument("business_date")
def settlement(data_dir, business_date):
    """Print the day's settlement per tender and till with every difference, as JSON."""
    _echo(_run(data_dir, lambda c: model.settlement(c, business_date), write=False))


@finance_group.command("import-statement")
@data_dir_option
@ACTOR
@click.option("--provider", type=click.Choice(["wechatpay", "alipay"]), required=True)
@click.option("--date", "bill_date", default=None, help="Bill date YYYY-MM-DD (WeChat's file does not say it)")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_statement(data_dir, actor, provider, bill_date, file):
    """Import a WeChat Pay downloadbill (ALL) text or an Alipay csv.zip; a wrong layout or merchant imports nothing."""
    data = file.read_bytes()
    out = _run(data_dir, lambda c: model.import_statement(c, provider, data, bill_date=bill_date, actor=actor))
    _echo(out)


@finance_group.command("fetch-statement")
@data_dir_option
@ACTOR
@click.option("--provider", type=click.Choice(["wechatpay", "alipay"]), required=True)
@click.argument("business_date")
def fetch_statement(data_dir, actor, provider, business_date):
    """Fetch the provider's statement of the day over its API (payments.json credentials) and import it."""
    from hub.checkout.payments.base import load_config
    from hub.finance import fetch

    cfg, _db = open_db(data_dir)
    _db.close()
    day = model.check_date(business_date)
    try:
        data = fetch.statement(load_config(cfg.data_dir), provider, day)
    except StoreHubError as e:
        click.echo(
            json.dumps({"error": {"code": e.code, "message": str(e), "details": e.details}}, ensure_ascii=False),
            err=True,
        )
        sys.exit(1)
    _echo(_run(data_dir, lambda c: model.import_statement(c, provider, data, bill_date=day, actor=actor)))


@finance_group.command("export")
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(["vouchers", "beancount"]), default="vouchers", show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory to write the file into",
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="beancount: have beancount itself validate the file (needs the dev extra's beancount)",
)
@click.argument("business_date")
def export(data_dir, fmt, out_dir, check, business_date):
    """Write the day's journal as a voucher CSV (凭证) or a beancount file; prints the file's path."""
    name, data = _run(data_dir, lambda c: accounting.export(c, model.check_date(business_date), fmt), write=False)
    if fmt == "beancount" and check:
        try:
            from beancount import loader
        except ImportError:
            click.echo("beancount is not installed: --no-check, or pip install beancount", err=True)
            sys.exit(2)
        _entries, errors, _opts = loader.load_string(data.decode("utf-8"))
        if errors:
            for e in errors:
                click.echo(f"beancount: {e.message}", err=True)
            sys.exit(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / name).write_bytes(data)
    click.echo(str(out_dir / name))
