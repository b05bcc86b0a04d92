"""The one pricing function a cart calls: list price (or the price set by hand), the promotions engine
(``hub.promotions.model.price_basket``), then the cashier's manual discount, then the tax each net includes.

Every line comes back explained: gross, each promotion's discount with its name, the manual discount, net and
tax. A variable-measure label that states its price is sold for that price (the scale printed it), as one
piece; a weighed line is priced by the engine from grams × price per kg; the engine rounds half up."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Sequence

from hub.checkout import rules
from hub.kernel import settings
from hub.promotions import model as promotions
from hub.synclink import downlink


def tax_rate(rates: dict[str, Any], category: str) -> str:
    return str((rates.get("categories") or {}).get(category, rates["default"]))


def basket_line(line: dict[str, Any], rate: str) -> dict[str, Any]:
    """What the engine prices for one cart line."""
    out: dict[str, Any] = {"sku": line["sku"], "category": line["category"], "brand": line["brand"], "tax_rate": rate}
    if line["weighed"]:
        if line["label_price_minor"] is not None and line["price_override_minor"] is None:
            out.update(qty=1, unit_price_minor=line["label_price_minor"])
        else:
            out.update(grams=line["qty"], price_per_kg_minor=_unit_price(line))
    else:
        out.update(qty=line["qty"], unit_price_minor=_unit_price(line))
    return out


def _unit_price(line: dict[str, Any]) -> int:
    return int(line["price_override_minor"] if line["price_override_minor"] is not None else line["price_minor"])


def price_lines(conn: sqlite3.Connection, lines: Sequence[dict[str, Any]], at: datetime | str | None = None) -> dict[str, Any]:
    """Price the cart's live lines (cart line rows joined with their items). Returns the priced lines in the
    same order and the totals; ``promotions_version`` names the promotions the price used."""
    rates = settings.get(conn, "checkout.tax_rates")
    line_rates = [tax_rate(rates, ln["category"]) for ln in lines]
    result: dict[str, Any] = {"lines": [], "applied": []}
    if lines:
        priced = promotions.price_basket(conn, {"lines": [basket_line(ln, r) for ln, r in zip(lines, line_rates)]},
                                         at)
        names = promotions.delivered(conn)[0].by_id
    else:
        priced = {"lines": [], "applied": []}
        names = {}
    out_lines = []
    tax_by_rate: dict[str, int] = {}
    for ln, p, rate in zip(lines, priced["lines"], line_rates):
        discounts = [{"promotion": a["promotion"], "name": dict(names[a["promotion"]].name)
                      if a["promotion"] in names else {"en": a["promotion"], "zh-CN": a["promotion"]},
                      "discount_minor": a["discount_minor"]} for a in p["applied"] if a["discount_minor"]]
        promo = int(p["discount_minor"])
        after = int(p["net_minor"])
        manual = min(int(ln["manual_discount_minor"] or 0), after)
        net = after - manual
        tax = rules.tax_included(net, rate)
        tax_by_rate[rate] = tax_by_rate.get(rate, 0) + tax
        unit = _unit_price(ln) if not (ln["weighed"] and ln["label_price_minor"] is not None
                                        and ln["price_override_minor"] is None) else None
        out_lines.append({
            "id": ln["id"], "pos": ln["pos"], "item_id": ln["item_id"], "sku": ln["sku"], "name_en": ln["name_en"],
            "name_zh": ln["name_zh"], "unit": ln["unit"], "qty": ln["qty"], "weighed": bool(ln["weighed"]),
            "list_price_minor": ln["price_minor"], "unit_price_minor": unit,
            "label_price_minor": ln["label_price_minor"], "price_override_minor": ln["price_override_minor"],
            "override_reason": ln["override_reason"], "gross_minor": int(p["gross_minor"]), "discounts": discounts,
            "promotion_discount_minor": promo, "manual_discount_minor": manual,
            "discount_reason": ln["discount_reason"], "discount_minor": promo + manual, "net_minor": net,
            "tax_rate": rate, "tax_minor": tax, "code": ln["code"]})
    subtotal = sum(x["gross_minor"] for x in out_lines)
    discount = sum(x["discount_minor"] for x in out_lines)
    result.update(lines=out_lines, subtotal_minor=subtotal, discount_minor=discount, total_minor=subtotal - discount,
                  promotion_discount_minor=sum(x["promotion_discount_minor"] for x in out_lines),
                  manual_discount_minor=sum(x["manual_discount_minor"] for x in out_lines),
                  tax=[{"rate": r, "tax_minor": t} for r, t in sorted(tax_by_rate.items())],
                  applied=[{**a, "name": dict(names[a["promotion"]].name) if a["promotion"] in names else None}
                           for a in priced["applied"]],
                  promotions_version=downlink.version(conn))
    return result
