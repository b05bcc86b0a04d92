"""``storehub promotions price``: price a basket with a list of promotions, as head office does before publishing.

Without ``--data-dir`` nothing but the two files is read (head office has no hub); with it, lines that omit
category or brand take them from that hub's catalog, and the time zone defaults to the store's."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from hub.inventory import catalog
from hub.kernel import settings
from hub.kernel.cliopts import data_dir_option
from hub.kernel.errors import StoreHubError, ValidationError
from hub.promotions import engine
from hub.promotions.validation import parse_basket, parse_promotions
from hub.store import open_db

DEFAULT_TIMEZONE = "Asia/Shanghai"  # the kernel's default store zone


@click.group("promotions")
def promotions_group() -> None:
    """Promotions: check and price with the engine every sale uses."""


def _read(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(
            f"{option} {path}: not a readable JSON file ({exc})", code="invalid_file", details={"field": option}
        ) from None


def _human(result: dict[str, Any]) -> str:
    out = []
    for line in result["lines"]:
        amount = f"{line['grams']} g" if "grams" in line else f"x{line['qty']}"
        why = ", ".join(f"{a['promotion']} -{a['discount_minor']}" for a in line["applied"])
        out.append(
            f"{line['sku']:<16} {amount:>9} {line['gross_minor']:>9} {-line['discount_minor']:>8} "
            f"{line['net_minor']:>9}  {why}"
        )
    out.append(
        f"subtotal {result['subtotal_minor']}  discount {result['discount_minor']}  total {result['total_minor']}"
    )
    out += [f"rejected coupon {r['code']}: {r['reason']}" for r in result["rejected_coupons"]]
    return "\n".join(out)


@promotions_group.command("price")
@click.option(
    "--promotions",
    "promos_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PROMOS.json: a list of promotions in the head-office format",
)
@click.option(
    "--basket",
    "basket_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="BASKET.json: {at, member, coupons, lines}",
)
@click.option(
    "--timezone",
    "tz",
    default=None,
    help="The store's IANA zone for weekdays and hours "
    "(default: the hub's setting with --data-dir, else Asia/Shanghai)",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object")
@data_dir_option
def price_cmd(promos_path: Path, basket_path: Path, tz: str | None, as_json: bool, data_dir: Path | None) -> None:
    """Price BASKET.json with PROMOS.json. Bad input: a JSON error naming the field on stderr, exit code 2."""
    try:
        promos = parse_promotions(_read(promos_path, "--promotions"))
        raw_basket = _read(basket_path, "--basket")
        if data_dir is not None:
            if not Path(data_dir).is_dir():
                raise ValidationError(
                    f"--data-dir {data_dir}: no hub there", code="invalid_file", details={"field": "--data-dir"}
                )
            _cfg, db = open_db(data_dir)
            try:
                conn = db.read()
                basket = parse_basket(raw_basket, lambda sku: catalog.get_item_by_sku(conn, sku))
                tz = tz or settings.get(conn, "timezone")
            finally:
                db.close()
        else:
            basket = parse_basket(raw_basket)
        zone = tz or DEFAULT_TIMEZONE
        try:
            zone_info = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                f"--timezone {zone!r} is not an IANA zone name (e.g. Asia/Shanghai)",
                code="invalid_timezone",
                details={"field": "--timezone"},
            ) from None
        result = engine.price(promos, basket, zone_info)
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False), err=True)
        sys.exit(2)
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else _human(result))
