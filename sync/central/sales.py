"""Sales at the central: the checkout's ``sale.completed`` and ``sale.returned`` facts folded into a sale header,
its lines and two rollups (migration 0006, docs/sync.md "Analytics").

Exactly once: ``projections.fold`` only ever sees events the ingest really inserted, and on top of that the
header insert is ``ON CONFLICT DO NOTHING RETURNING`` — lines and rollups move only for the sales whose header was
inserted by this very statement, so the same sale arriving twice by any path (a replayed push, a re-registered
hub resending) never counts twice.

Days and hours are the store's local ones (``Folded.day`` — the same local day the movement projection uses;
times stay UTC in ``ts``). The line's category and cost are the ones the central knows for the item when the sale
is folded (``store_items``, written earlier in the same ingest transaction when the item came in the same batch):
a sale is history, so a later re-categorisation does not move last year's figures. Cost unknown (0 in the
catalog) stays NULL and the line is left out of gross margin rather than counted at zero cost.

A return is its own row (kind ``return``, its ``original_sale_id``) on the day it happened, its refund is what
the till paid back for the goods; units and tax are taken from the original sale's line (the return fact carries
neither the weighed flag nor the tax) in proportion to the refund."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table, Text, select
from sqlalchemy.engine import Connection

from hub.protocol.timeutil import parse_iso
from sync.central import schema as t

_MONEY = ("gross_minor", "discount_minor", "net_minor", "tax_minor")


def _money(*names: str) -> list[Column]:
    return [Column(n, BigInteger, nullable=False, server_default="0") for n in names]


sales = Table(
    "sales",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("sale_id", String(40), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("original_sale_id", String(40)),
    Column("day", Date, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("ts", String(40), nullable=False),
    Column("business_date", String(10)),
    Column("till_id", String(64), nullable=False),
    Column("receipt_code", String(64), nullable=False),
    Column("currency", String(8), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("units", BigInteger, nullable=False),
    *_money(*_MONEY),
)
Index("sales_store_day", sales.c.store_id, sales.c.day)

sale_lines = Table(
    "sale_lines",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("sale_id", String(40), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("day", Date, nullable=False),
    Column("item_id", String(40), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("category", Text, nullable=False, server_default=""),
    Column("qty", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("weighed", Boolean, nullable=False),
    *_money(*_MONEY),
    Column("cost_minor", BigInteger),
)
Index("sale_lines_store_day", sale_lines.c.store_id, sale_lines.c.day)

HOURLY = (
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
sales_hourly = Table(
    "sales_hourly",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("hour", Integer, primary_key=True),
    *_money(*HOURLY),
)
Index("sales_hourly_day", sales_hourly.c.day)

ITEM_DAILY = (
    "lines",
    "units",
    "qty",
    "returned_units",
    "gross_minor",
    "discount_minor",
    "net_minor",
    "tax_minor",
    "refund_minor",
    "cost_minor",
    "costed_net_ex_tax_minor",
)
sales_item_daily = Table(
    "sales_item_daily",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("item_id", String(40), primary_key=True),
    Column("category", String(200), primary_key=True),
    Column("sku", String(64), nullable=False),
    *_money(*ITEM_DAILY),
)
Index("sales_item_daily_day", sales_item_daily.c.day)


# --- projectors (``{kind: projector}`` entries in projections.PROJECTORS) -------------------------------------------


def _local(f: Any, ts: str) -> tuple[Any, int]:
    """(local day, local hour) of a UTC hub time in the store's zone (the day as the movement projection folds it)."""
    dt = parse_iso(ts)
    hour = (dt.astimezone(f.tz) if f.tz is not None else dt.astimezone(UTC)).hour
    return f.day(ts), hour


def project_completed(f: Any, e: dict[str, Any]) -> None:
    p = e["payload"]
    try:
        lines = [
            {
                "line_no": int(ln["line_no"]),
                "item_id": str(ln["item_id"])[:40],
                "sku": str(ln.get("sku") or "")[:64],
                "qty": int(ln["qty"]),
                "weighed": bool(ln.get("weighed")),
                **{k: int(ln.get(k) or 0) for k in _MONEY},
            }
            for ln in p["lines"]
        ]
        head = {
            "sale_id": str(p["sale_id"])[:40],
            "kind": "sale",
            "original_sale_id": None,
            "till_id": str(p.get("till_id") or "")[:64],
            "receipt_code": str(p.get("receipt_code") or "")[:64],
            "currency": str(p.get("currency") or "")[:8],
            "business_date": (p.get("business_date") or None),
        }
    except (KeyError, TypeError, ValueError):
        return  # kept in events; nothing to project
    if not lines:
        return
    day, hour = _local(f, e["ts"])
    f.sales.append({**head, "day": day, "hour": hour, "ts": e["ts"], "lines": lines})


def project_returned(f: Any, e: dict[str, Any]) -> None:
    p = e["payload"]
    try:
        lines = [
            {
                "line_no": int(ln["line_no"]),
                "item_id": str(ln["item_id"])[:40],
                "sku": str(ln.get("sku") or "")[:64],
                "qty": int(ln["qty"]),
                "refund_minor": int(ln["refund_minor"]),
            }
            for ln in p["lines"]
        ]
        head = {
            "sale_id": str(p["return_id"])[:40],
            "kind": "return",
            "original_sale_id": str(p["sale_id"])[:40],
            "till_id": str(p.get("till_id") or "")[:64],
            "receipt_code": str(p.get("receipt_code") or "")[:64],
            "currency": "",
            "business_date": (p.get("business_date") or None),
        }
    except (KeyError, TypeError, ValueError):
        return
    if not lines:
        return
    day, hour = _local(f, e["ts"])
    f.sales.append({**head, "day": day, "hour": hour, "ts": e["ts"], "lines": lines})


# --- writing (inside the ingest transaction) ------------------------------------------------------------------------


def _insert(conn: Connection, table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _chunks(xs: list, n: int = 500):
    for i in range(0, len(xs), n):
        yield xs[i : i + n]


def _catalog(conn: Connection, store_id: str, item_ids: set[str]) -> dict[str, tuple[str, int, str]]:
    """item id -> (category, cost_minor, unit) as the central knows the store's catalog now."""
    i = t.store_items.c
    out: dict[str, tuple[str, int, str]] = {}
    for part in _chunks(sorted(item_ids)):
        for r in conn.execute(
            select(i.item_id, i.category, i.cost_minor, i.unit).where(i.store_id == store_id, i.item_id.in_(part))
        ):
            out[r.item_id] = (r.category or "", int(r.cost_minor or 0), r.unit or "each")
    return out


def _original_lines(conn: Connection, store_id: str, keys: set[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    """The stored lines of the sales some returns take goods back from (sales of earlier batches)."""
    sl = sale_lines.c
    out: dict[tuple[str, int], Any] = {}
    sale_ids = sorted({k[0] for k in keys})
    for part in _chunks(sale_ids):
        for r in conn.execute(
            select(
                sl.sale_id,
                sl.line_no,
                sl.qty,
                sl.units,
                sl.weighed,
                sl.net_minor,
                sl.tax_minor,
                sl.cost_minor,
                sl.category,
            ).where(sl.store_id == store_id, sl.sale_id.in_(part))
        ):
            if (r.sale_id, r.line_no) in keys:
                out[(r.sale_id, r.line_no)] = r._mapping
    return out


def _line_cost(cost: int, qty: int, weighed: bool) -> int | None:
    """Cost of a line at the catalog cost (per piece, or per kg for a weighed line whose qty is grams)."""
    if cost <= 0:
        return None
    return (cost * qty + 500) // 1000 if weighed else cost * qty


def apply(conn: Connection, store_id: str, folded: list[dict[str, Any]]) -> None:
    """Write the folded sales: headers first (only the ones really inserted go on), then lines and rollups."""
    if not folded:
        return
    by_id = {s["sale_id"]: s for s in folded}  # one fact per id even if a batch repeats it
    catalog = _catalog(conn, store_id, {ln["item_id"] for s in by_id.values() for ln in s["lines"]})
    originals = _original_lines(
        conn,
        store_id,
        {(s["original_sale_id"], ln["line_no"]) for s in by_id.values() if s["kind"] == "return" for ln in s["lines"]},
    )
    currency = {s["sale_id"]: s["currency"] for s in by_id.values() if s["kind"] == "sale"}
    heads, line_rows = [], []
    # sales before returns: a return folded in the same batch as its sale reads that sale's lines from here
    for s in sorted(by_id.values(), key=lambda s: s["kind"] != "sale"):
        rows = []
        for ln in s["lines"]:
            category, cost, unit = catalog.get(ln["item_id"], ("", 0, "each"))
            if s["kind"] == "sale":
                weighed = ln["weighed"]
                units = 1 if weighed else ln["qty"]
                money = {k: ln[k] for k in _MONEY}
                line_cost = _line_cost(cost, ln["qty"], weighed)
            else:
                o = originals.get((s["original_sale_id"], ln["line_no"]))
                weighed = bool(o["weighed"]) if o is not None else unit == "kg"
                units = 1 if weighed else ln["qty"]
                refund = ln["refund_minor"]
                tax = (int(o["tax_minor"]) * refund // int(o["net_minor"])) if o is not None and o["net_minor"] else 0
                money = {"gross_minor": refund, "discount_minor": 0, "net_minor": refund, "tax_minor": tax}
                line_cost = None
                if o is not None:
                    category = o["category"]  # the category the sale counted it under
            row = {
                "store_id": store_id,
                "sale_id": s["sale_id"],
                "line_no": ln["line_no"],
                "kind": s["kind"],
                "day": s["day"],
                "item_id": ln["item_id"],
                "sku": ln["sku"],
                "category": category[:200],
                "qty": ln["qty"],
                "units": units,
                "weighed": weighed,
                **money,
                "cost_minor": line_cost,
            }
            rows.append(row)
            if s["kind"] == "sale":
                originals.setdefault((s["sale_id"], ln["line_no"]), row)
        heads.append(
            {
                "store_id": store_id,
                "sale_id": s["sale_id"],
                "kind": s["kind"],
                "original_sale_id": s["original_sale_id"],
                "day": s["day"],
                "hour": s["hour"],
                "ts": s["ts"],
                "business_date": (str(s["business_date"])[:10] if s["business_date"] else None),
                "till_id": s["till_id"],
                "receipt_code": s["receipt_code"],
                "currency": currency.get(s["sale_id"]) or currency.get(s["original_sale_id"] or "", ""),
                "lines": len(rows),
                "units": sum(r["units"] for r in rows),
                **{k: sum(r[k] for r in rows) for k in _MONEY},
            }
        )
        line_rows.append(rows)
    missing = {h["original_sale_id"] for h in heads if h["kind"] == "return" and not h["currency"]}
    if missing:  # a return of a sale pushed in an earlier batch
        known = _currencies(conn, store_id, missing)
        for h in heads:
            if h["kind"] == "return" and not h["currency"]:
                h["currency"] = known.get(h["original_sale_id"], "")
    ins = _insert(conn, sales)
    inserted = set(
        conn.execute(
            ins.on_conflict_do_nothing(index_elements=["store_id", "sale_id"]).returning(sales.c.sale_id), heads
        )
        .scalars()
        .all()
    )
    if not inserted:
        return
    keep = [(h, rows) for h, rows in zip(heads, line_rows) if h["sale_id"] in inserted]
    conn.execute(sale_lines.insert(), [r for _, rows in keep for r in rows])
    _rollups(conn, store_id, keep)


def _currencies(conn: Connection, store_id: str, sale_ids: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _chunks(sorted(sale_ids)):
        out.update(
            conn.execute(
                select(sales.c.sale_id, sales.c.currency).where(sales.c.store_id == store_id, sales.c.sale_id.in_(part))
            ).all()
        )
    return out


def _rollups(conn: Connection, store_id: str, keep: list[tuple[dict, list[dict]]]) -> None:
    hourly: dict[tuple, dict[str, int]] = {}
    items: dict[tuple, dict[str, Any]] = {}
    for h, rows in keep:
        a = hourly.setdefault((h["day"], h["hour"]), dict.fromkeys(HOURLY, 0))
        if h["kind"] == "sale":
            a["sales"] += 1
            a["units"] += h["units"]
            for k in _MONEY:
                a[k] += h[k]
        else:
            a["returns"] += 1
            a["returned_units"] += h["units"]
            a["refund_minor"] += h["net_minor"]
        for r in rows:
            b = items.setdefault(
                (h["day"], r["item_id"], r["category"]), {"sku": r["sku"], **dict.fromkeys(ITEM_DAILY, 0)}
            )
            if h["kind"] == "sale":
                b["lines"] += 1
                b["units"] += r["units"]
                b["qty"] += r["qty"]
                for k in _MONEY:
                    b[k] += r[k]
                if r["cost_minor"] is not None:
                    b["cost_minor"] += r["cost_minor"]
                    b["costed_net_ex_tax_minor"] += r["net_minor"] - r["tax_minor"]
            else:
                b["returned_units"] += r["units"]
                b["refund_minor"] += r["net_minor"]
    ins = _insert(conn, sales_hourly)
    c = sales_hourly.c
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["store_id", "day", "hour"],
            set_={k: getattr(c, k) + getattr(ins.excluded, k) for k in HOURLY},
        ),
        [{"store_id": store_id, "day": d, "hour": hr, **v} for (d, hr), v in sorted(hourly.items())],
    )
    ins = _insert(conn, sales_item_daily)
    c = sales_item_daily.c
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["store_id", "day", "item_id", "category"],
            set_={k: getattr(c, k) + getattr(ins.excluded, k) for k in ITEM_DAILY},
        ),
        [
            {"store_id": store_id, "day": d, "item_id": i, "category": cat, **v}
            for (d, i, cat), v in sorted(items.items())
        ],
    )
