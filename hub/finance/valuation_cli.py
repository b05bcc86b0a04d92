"""``storehub valuation …`` commands: stock value at a date, gross margin, VAT categories (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hub.finance import tax, valuation
from hub.kernel.errors import StoreHubError
from hub.store import open_db

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STOREHUB_DATA_DIR",
    default=None,
    help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)",
)


def _fail(e: StoreHubError) -> None:
    click.echo(json.dumps(e.to_dict(), ensure_ascii=False))
    raise SystemExit(1)


@click.group("valuation")
def valuation_group() -> None:
    """Inventory valuation, gross margin and VAT categories."""


@valuation_group.command("stock-value")
@_DATA_DIR
@click.option("--at", "at", required=True, help="A day YYYY-MM-DD (its end, local time) or an ISO time with offset")
@click.option("--by", type=click.Choice(["total", "category", "item"]), default="total", show_default=True)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
def stock_value_cmd(data_dir, at, by, limit):
    """Print the stock value at a date as JSON."""
    _cfg, db = open_db(data_dir)
    try:
        out = valuation.stock_value(db.read(), at, by=by, limit=limit)
    except StoreHubError as e:
        _fail(e)
    finally:
        db.close()
    click.echo(json.dumps(out, ensure_ascii=False))


@valuation_group.command("margin")
@_DATA_DIR
@click.option("--from", "start", required=True, help="First local day YYYY-MM-DD")
@click.option("--to", "end", required=True, help="Last local day YYYY-MM-DD (included)")
@click.option("--by", type=click.Choice(["item", "category", "store"]), default="category", show_default=True)
def margin_cmd(data_dir, start, end, by):
    """Print the gross margin over a period as JSON."""
    _cfg, db = open_db(data_dir)
    try:
        out = valuation.margin(db.read(), start, end, by=by)
    except StoreHubError as e:
        _fail(e)
    finally:
        db.close()
    click.echo(json.dumps(out, ensure_ascii=False))


@valuation_group.command("tax-rate")
@_DATA_DIR
@click.argument("category")
@click.argument("rate")
@click.option("--from", "valid_from", required=True, help="First local day YYYY-MM-DD the rate applies")
@click.option("--to", "valid_to", default=None, help="Last local day (included); open-ended if left out")
@click.option("--name-en", default=None)
@click.option("--name-zh", default=None)
def tax_rate_cmd(data_dir, category, rate, valid_from, valid_to, name_en, name_zh):
    """Add a VAT rate to a category (the category is created when names are given)."""
    _cfg, db = open_db(data_dir)
    try:
        with db.write() as conn:
            if name_en is not None or name_zh is not None:
                tax.put_category(conn, category, name_en=name_en or "", name_zh=name_zh or "", actor="cli")
            out = tax.add_rate(conn, category, rate, valid_from, valid_to, actor="cli")
    except StoreHubError as e:
        _fail(e)
    finally:
        db.close()
    click.echo(json.dumps(out, ensure_ascii=False))


@valuation_group.command("tax-categories")
@_DATA_DIR
def tax_categories_cmd(data_dir):
    """Print the VAT categories and their rates, one JSON object per line."""
    _cfg, db = open_db(data_dir)
    try:
        rows = tax.categories(db.read())
    finally:
        db.close()
    for r in rows:
        click.echo(json.dumps(r, ensure_ascii=False))
