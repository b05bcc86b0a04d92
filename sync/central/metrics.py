"""The head office's figures, each named once: formula, grain, filters (issue 19).

Every page, CSV export and read-API answer about sales calls :func:`table` (or :func:`summary`), so a figure is
computed by one function from one set of sums and is the same number wherever it appears (a test compares the page,
the CSV and the API for the same filters). Money stays in integer minor units here; people's formatting happens in
the views.

Sources (all maintained by projections as facts arrive — no query scans raw events or sale lines):

- ``sales_item_daily`` (store × local day × item × category): money, units, cost → every grain but the hour.
- ``sales_hourly`` (store × local day × local hour): baskets (a basket is a sale, not an item, so it cannot be
  summed from item rows) → grains total, store, day, hour, and only without a category/item filter.
- ``stock`` × ``store_items`` (now), ``count_sessions`` and write-off movements, ``points_entries`` (members):
  the stock and member figures, grains total and store.

A figure that a grain or filter cannot give is ``None`` (shown as "—"), never 0: transactions of a category
would be a different figure (baskets containing it), and zero would be a wrong number rather than a missing one.
Net sales are tax-included, as the till charges them; gross margin is on net sales less tax, over the lines whose
cost was known when the sale was folded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.engine import Connection, Engine

from sync.central import reports
from sync.central import schema as t
from sync.central.members import points_entries
from sync.central.sales import sales, sales_hourly, sales_item_daily

GRAINS = ("total", "store", "category", "item", "day", "hour", "store_day")
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "total": (),
    "store": ("store_id",),
    "category": ("category",),
    "item": ("item_id",),
    "day": ("day",),
    "hour": ("hour",),
    "store_day": ("store_id", "day"),
}


@dataclass(frozen=True)
class Filters:
    """Local days ``start``..``end`` inclusive; optionally one store, one category, one item."""

    start: date
    end: date
    store: str | None = None
    category: str | None = None
    item: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def last_year(self) -> Filters:
        return replace(self, start=minus_year(self.start), end=minus_year(self.end))


def minus_year(d: date) -> date:
    """The same calendar day a year earlier (29 February → 28 February)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return a / b


@dataclass(frozen=True)
class Metric:
    key: str
    en: str
    zh: str
    unit: str  # money | count | ratio | number | days
    formula: str
    grains: tuple[str, ...]
    value: Callable[[dict[str, Any]], float | int | None]
    needs_baskets: bool = False  # from sales_hourly: not under a category or item filter


_ALL = GRAINS
_SALES_GRAINS = ("total", "store", "day", "hour", "store_day")
_STORE_GRAINS = ("total", "store")

METRICS: tuple[Metric, ...] = (
    Metric(
        "net_sales",
        "Net sales",
        "净销售额",
        "money",
        "Σ sale line net (tax included, after discounts) − Σ refunds of returns",
        _ALL,
        lambda b: b["net_minor"] - b["refund_minor"],
    ),
    Metric(
        "net_sales_ly",
        "Net sales last year",
        "去年同期净销售额",
        "money",
        "net sales over the same local days a year earlier (same grain, same filters)",
        _ALL,
        lambda b: (b["ly_net_minor"] - b["ly_refund_minor"]) if b.get("ly_rows") else None,
    ),
    Metric(
        "vs_ly",
        "vs last year",
        "同比",
        "ratio",
        "net sales ÷ net sales last year − 1",
        _ALL,
        lambda b: (
            (_div(b["net_minor"] - b["refund_minor"], b["ly_net_minor"] - b["ly_refund_minor"]) - 1)
            if b.get("ly_rows") and (b["ly_net_minor"] - b["ly_refund_minor"])
            else None
        ),
    ),
    Metric(
        "gross_sales",
        "Gross sales",
        "销售总额(折前)",
        "money",
        "Σ sale line gross (list or overridden price × quantity, before discounts)",
        _ALL,
        lambda b: b["gross_minor"],
    ),
    Metric(
        "transactions",
        "Transactions",
        "交易笔数",
        "count",
        "number of completed sales (returns are not transactions)",
        _SALES_GRAINS,
        lambda b: b["sales"],
        needs_baskets=True,
    ),
    Metric(
        "basket_size",
        "Average basket",
        "客单价",
        "money",
        "Σ sale net ÷ transactions (before returns)",
        _SALES_GRAINS,
        lambda b: round(_div(b["net_minor"], b["sales"])) if b["sales"] else None,
        needs_baskets=True,
    ),
    Metric(
        "units_per_basket",
        "Units per basket",
        "客单件数",
        "number",
        "units sold ÷ transactions (a weighed line is one unit)",
        _SALES_GRAINS,
        lambda b: _div(b["units"], b["sales"]),
        needs_baskets=True,
    ),
    Metric(
        "units",
        "Units sold",
        "销售件数",
        "count",
        "Σ units of sale lines (a weighed line is one unit)",
        _ALL,
        lambda b: b["units"],
    ),
    Metric(
        "discount_share",
        "Discount share",
        "折扣占比",
        "ratio",
        "Σ discounts ÷ Σ gross sales",
        _ALL,
        lambda b: _div(b["discount_minor"], b["gross_minor"]),
    ),
    Metric(
        "returns_rate",
        "Returns rate",
        "退货率",
        "ratio",
        "Σ refunds ÷ Σ sale net (same days; a return counts on the day it happened)",
        _ALL,
        lambda b: _div(b["refund_minor"], b["net_minor"]),
    ),
    Metric(
        "gross_margin",
        "Gross margin",
        "毛利率",
        "ratio",
        "(Σ net − tax − cost) ÷ Σ (net − tax), over sale lines whose cost was known",
        ("total", "store", "category", "item", "day", "store_day"),
        lambda b: _div(b["costed_net_ex_tax_minor"] - b["cost_minor"], b["costed_net_ex_tax_minor"]),
    ),
    Metric(
        "member_share",
        "Member share",
        "会员销售占比",
        "ratio",
        "Σ net of sales that earned member points ÷ Σ sale net",
        _STORE_GRAINS,
        lambda b: _div(b.get("member_net_minor"), b["net_minor"]),
        needs_baskets=True,
    ),
    Metric(
        "shrink_rate",
        "Shrink rate",
        "损耗率",
        "ratio",
        "(count shrink + write-offs, at cost) ÷ net sales, over the same local days",
        _STORE_GRAINS,
        lambda b: _div(b.get("shrink_minor"), b["net_minor"] - b["refund_minor"]),
    ),
    Metric(
        "stock_out_rate",
        "Stock-out rate",
        "缺货率",
        "ratio",
        "active items with stock rows at or below 0 on hand now ÷ such items (a snapshot, not the period)",
        _STORE_GRAINS,
        lambda b: _div(b.get("stock_out_items"), b.get("stocked_items")),
    ),
    Metric(
        "days_of_inventory",
        "Days of inventory",
        "库存天数",
        "days",
        "stock at cost now ÷ (cost of goods sold in the period ÷ days in the period)",
        _STORE_GRAINS,
        lambda b: _div(b.get("stock_cost_minor"), _div(b["cost_minor"], b["days"])) if b["cost_minor"] else None,
    ),
)
BY_KEY = {m.key: m for m in METRICS}
SUMS = (
    "net_minor",
    "refund_minor",
    "gross_minor",
    "discount_minor",
    "tax_minor",
    "units",
    "returned_units",
    "cost_minor",
    "costed_net_ex_tax_minor",
)


def metrics_for(by: str) -> list[Metric]:
    return [m for m in METRICS if by in m.grains]


def _empty() -> dict[str, Any]:
    return {**dict.fromkeys(SUMS, 0), "sales": 0, "returns": 0, "ly_net_minor": 0, "ly_refund_minor": 0, "ly_rows": 0}


def _key(r: Any, by: str) -> tuple:
    """The group's key; days as ISO text (SQLite returns text, PostgreSQL dates)."""
    return tuple((str(getattr(r, c))[:10] if c == "day" else getattr(r, c)) for c in DIMENSIONS[by])


def _item_sums(conn: Connection, f: Filters, by: str) -> dict[tuple, dict[str, int]]:
    s = sales_item_daily.c
    dims = [getattr(s, c) for c in DIMENSIONS[by]]
    q = (
        select(*dims, func.count().label("n_rows"), *[func.sum(getattr(s, k)).label(k) for k in SUMS])
        .where(s.day >= f.start, s.day <= f.end)
        .group_by(*dims)
    )
    if f.store:
        q = q.where(s.store_id == f.store)
    if f.category is not None:
        q = q.where(s.category == f.category)
    if f.item:
        q = q.where(s.item_id == f.item)
    # grain total: an aggregate without GROUP BY answers one row even over nothing — that is no data
    return {_key(r, by): {k: int(getattr(r, k) or 0) for k in SUMS} for r in conn.execute(q) if r.n_rows}


def _hourly_sums(conn: Connection, f: Filters, by: str) -> dict[tuple, dict[str, int]]:
    h = sales_hourly.c
    dims = [getattr(h, c) for c in DIMENSIONS[by]]
    cols = (
        "sales",
        "returns",
        "units",
        "returned_units",
        "gross_minor",
        "discount_minor",
        "net_minor",
        "tax_minor",
        "refund_minor",
    )
    q = (
        select(*dims, func.count().label("n_rows"), *[func.sum(getattr(h, k)).label(k) for k in cols])
        .where(h.day >= f.start, h.day <= f.end)
        .group_by(*dims)
    )
    if f.store:
        q = q.where(h.store_id == f.store)
    return {_key(r, by): {k: int(getattr(r, k) or 0) for k in cols} for r in conn.execute(q) if r.n_rows}


def _member_net(conn: Connection, f: Filters, by: str) -> dict[tuple, int]:
    s, p = sales.c, points_entries.c
    dims = [getattr(s, c) for c in DIMENSIONS[by]]
    earned = exists().where(p.kind == "earn", p.ref == s.sale_id, p.store_id == s.store_id)
    q = (
        select(*dims, func.sum(s.net_minor).label("n"))
        .where(s.kind == "sale", s.day >= f.start, s.day <= f.end, earned)
        .group_by(*dims)
    )
    if f.store:
        q = q.where(s.store_id == f.store)
    return {_key(r, by): int(r.n or 0) for r in conn.execute(q)}


def _stock_figures(conn: Connection, f: Filters, by: str) -> dict[tuple, dict[str, int]]:
    """Per store (or all): stocked active items, those at or below zero, stock value at cost (now)."""
    s, i = t.stock, t.store_items
    per_item = select(s.c.store_id, s.c.item_id, func.sum(s.c.on_hand).label("on_hand")).group_by(
        s.c.store_id, s.c.item_id
    )
    if f.store:
        per_item = per_item.where(s.c.store_id == f.store)
    sq = per_item.subquery()
    q = (
        select(sq.c.store_id, sq.c.on_hand, i.c.cost_minor, i.c.unit, i.c.category)
        .select_from(sq.join(i, and_(i.c.store_id == sq.c.store_id, i.c.item_id == sq.c.item_id)))
        .where(i.c.active.is_(True))
    )
    if f.category is not None:
        q = q.where(i.c.category == f.category)
    if f.item:
        q = q.where(i.c.item_id == f.item)
    out: dict[tuple, dict[str, int]] = {}
    for r in conn.execute(q):
        k = (r.store_id,) if by == "store" else ()
        a = out.setdefault(k, {"stocked_items": 0, "stock_out_items": 0, "stock_cost_minor": 0})
        on = int(r.on_hand or 0)
        a["stocked_items"] += 1
        a["stock_out_items"] += 1 if on <= 0 else 0
        if on > 0:
            a["stock_cost_minor"] += (
                (on * int(r.cost_minor or 0) + 500) // 1000 if r.unit == "kg" else on * int(r.cost_minor or 0)
            )
    return out


def _shrink(engine: Engine, f: Filters, by: str) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for r in reports.count_accuracy(engine, start=f.start, end=f.end, store=f.store):
        k = (r["store_id"],) if by == "store" else ()
        out[k] = out.get(k, 0) + int(r["shrink_cost_minor"]) + int(r["writeoff_cost_minor"])
    return out


def _base(engine: Engine, f: Filters, by: str, with_ly: bool) -> dict[tuple, dict[str, Any]]:
    if by not in GRAINS:
        raise ValueError(f"grain is one of {', '.join(GRAINS)}")
    baskets = by in _SALES_GRAINS and f.category is None and not f.item
    rows: dict[tuple, dict[str, Any]] = {}
    with engine.connect() as conn:
        if by != "hour":
            for k, v in _item_sums(conn, f, by).items():
                rows.setdefault(k, _empty()).update(v)
        if baskets:
            for k, v in _hourly_sums(conn, f, by).items():
                r = rows.setdefault(k, _empty())
                r.update(sales=v["sales"], returns=v["returns"])
                if by == "hour":  # money by hour only exists in the hourly rollup
                    r.update(
                        {
                            c: v[c]
                            for c in (
                                "units",
                                "returned_units",
                                "gross_minor",
                                "discount_minor",
                                "net_minor",
                                "tax_minor",
                                "refund_minor",
                            )
                        }
                    )
        if with_ly:
            ly = f.last_year()
            src = _hourly_sums(conn, ly, by) if by == "hour" else _item_sums(conn, ly, by)
            for k, v in src.items():
                if "day" in DIMENSIONS[by]:  # the day a year later is this period's row
                    n = DIMENSIONS[by].index("day")
                    later = _plus_year(date.fromisoformat(k[n])).isoformat()
                    if later < f.start.isoformat() or later > f.end.isoformat():
                        continue
                    k = k[:n] + (later,) + k[n + 1 :]
                r = rows.setdefault(k, _empty())
                r.update(ly_net_minor=v["net_minor"], ly_refund_minor=v["refund_minor"], ly_rows=1)
        if by in _STORE_GRAINS:
            if baskets:
                for k, n in _member_net(conn, f, by).items():
                    rows.setdefault(k, _empty())["member_net_minor"] = n
            for k, v in _stock_figures(conn, f, by).items():
                rows.setdefault(k, _empty()).update(v)
    if by in _STORE_GRAINS:
        for k, n in _shrink(engine, f, by).items():
            rows.setdefault(k, _empty())["shrink_minor"] = n
    if by == "total" and not rows:
        rows[()] = _empty()
    for r in rows.values():
        r["days"] = f.days
        r["_baskets"] = baskets
    return rows


def _plus_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:
        return d.replace(year=d.year + 1, day=28)


def table(
    engine: Engine, f: Filters, by: str = "store", *, keys: list[str] | None = None, with_ly: bool = True
) -> list[dict[str, Any]]:
    """One row per ``by`` group (its dimension columns, then each metric's value by key). The one place figures
    are computed: pages, CSV exports and the read API all call this."""
    base = _base(engine, f, by, with_ly)
    wanted = [BY_KEY[k] for k in keys] if keys else metrics_for(by)
    out = []
    for k, b in base.items():
        row: dict[str, Any] = dict(zip(DIMENSIONS[by], k))
        for m in wanted:
            row[m.key] = None if (by not in m.grains or (m.needs_baskets and not b["_baskets"])) else m.value(b)
        out.append(row)
    if by in ("day", "hour", "store_day"):
        out.sort(key=lambda r: tuple(r[c] for c in DIMENSIONS[by]))
    elif by != "total":
        out.sort(key=lambda r: (-(r.get("net_sales") or 0), str(r[DIMENSIONS[by][0]])))
    return out


def summary(engine: Engine, f: Filters) -> dict[str, Any]:
    """The headline figures of the filters (grain total)."""
    return table(engine, f, "total")[0]


def definitions() -> list[dict[str, Any]]:
    """Every figure as documented for people and tools (the read API serves this)."""
    return [
        {
            "key": m.key,
            "name_en": m.en,
            "name_zh": m.zh,
            "unit": m.unit,
            "formula": m.formula,
            "grains": list(m.grains),
            "filters": ["start", "end", "store"] + ([] if m.needs_baskets else ["category", "item"]),
        }
        for m in METRICS
    ]


def currency(engine: Engine, store: str | None = None) -> str:
    """The currency the sales were made in (the store's, or the group's most common); CNY when nothing sold."""
    q = select(sales.c.currency, func.count()).where(sales.c.currency != "").group_by(sales.c.currency)
    if store:
        q = q.where(sales.c.store_id == store)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(func.count().desc()).limit(1)).first()
    return rows[0] if rows else "CNY"


def latest_day(engine: Engine, store: str | None = None) -> date | None:
    """The newest local day with sales (the default end of a report: today may have none yet)."""
    q = select(func.max(sales_hourly.c.day))
    if store:
        q = q.where(sales_hourly.c.store_id == store)
    with engine.connect() as conn:
        d = conn.execute(q).scalar()
    if d is None:
        return None
    return d if isinstance(d, date) else date.fromisoformat(str(d))


def item_names(engine: Engine, item_ids: list[str]) -> dict[str, dict[str, str]]:
    """item id -> {sku, name_en, name_zh} (any store's catalog row; item ids are global UUIDs)."""
    i = t.store_items.c
    out: dict[str, dict[str, str]] = {}
    with engine.connect() as conn:
        for n in range(0, len(item_ids), 500):
            for r in conn.execute(
                select(i.item_id, i.sku, i.name_en, i.name_zh).where(i.item_id.in_(item_ids[n : n + 500]))
            ):
                out.setdefault(r.item_id, {"sku": r.sku, "name_en": r.name_en, "name_zh": r.name_zh})
    return out
