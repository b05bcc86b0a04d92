"""P&L per store and budgets at the central (issue 18; migration 0008, docs/valuation.md).

**Projection.** The hubs' ``finance.stock_cost`` facts (hub/finance/valuation.py: the cost of each sale, pick,
return, write-off and count at the moving-average cost of the moment) fold into ``finance_cost_daily`` (store ×
local day × category × line ``cogs``/``shrink``): additive, exactly once because ``projections.fold`` only sees
events the ingest really inserted — the same mechanism as the movements' daily projection.

**P&L** per store per day or month, all from rollups (no raw event, no sale line is scanned):

- gross sales, promotion cost (discounts: promotions and by hand) and VAT from ``sales_item_daily``;
- net sales = the tills' net (after discounts, tax-included) less refunds; **net sales ex VAT** takes each item-day's
  VAT out, a refund's in proportion to that item-day's net (as the sales projection does for a return's tax);
- COGS and shrink (a count's gain counted against it) from ``finance_cost_daily``; gross margin = net sales ex VAT −
  COGS;
- points liability: points issued less points burnt or expired at the store in the period (``points_entries``, the
  members' points at the central, on the store's local days) × the value of a point;
- other expenses, entered or imported per store × month × line (rent, wages…), month P&L only;
- operating result = gross margin − shrink − points liability − other expenses.

Consolidated for head office with drill-down group → store → category (:func:`consolidated`, :func:`store_pnl`).

**Budgets** per store × month × line (``sales``: net sales ex VAT, ``margin``: gross margin, ``expenses``: other
expenses), entered or imported as CSV (a row for an unknown store is refused with its line number, and nothing of
that file is imported); :func:`actual_vs_budget` gives the variance, flagged when adverse beyond a tolerance."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BigInteger, Column, Date, Index, String, Table, case, func, select
from sqlalchemy.engine import Connection, Engine

from hub.kernel.errors import NotFound, ValidationError
from hub.protocol.timeutil import iso, now_iso
from sync.central import schema as t
from sync.central.members import points_entries
from sync.central.sales import sales_item_daily

LINES = ("cogs", "shrink")
BUDGET_LINES = ("sales", "margin", "expenses")
ADVERSE_PCT = Decimal("5")  # a variance this far against the budget (percent of it) is highlighted

finance_cost_daily = Table(
    "finance_cost_daily",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("category", String(200), primary_key=True),
    Column("line", String(8), primary_key=True),
    Column("cost_minor", BigInteger, nullable=False, server_default="0"),  # cost out (COGS / shrink), + = expense
    Column("qty", BigInteger, nullable=False, server_default="0"),  # signed units (pieces or grams) moved
    Column("movements", BigInteger, nullable=False, server_default="0"),
)
Index("finance_cost_daily_day", finance_cost_daily.c.day, finance_cost_daily.c.store_id)
# a month of the group's P&L reads the sales rollup from this index alone on PostgreSQL (migration 0008)
Index(
    "sales_item_daily_pnl",
    sales_item_daily.c.day,
    sales_item_daily.c.store_id,
    sales_item_daily.c.category,
    postgresql_include=["gross_minor", "discount_minor", "net_minor", "tax_minor", "refund_minor"],
)

finance_expenses = Table(
    "finance_expenses",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("month", Date, primary_key=True),  # the first day of the month
    Column("line", String(64), primary_key=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("entered_by", String(64), nullable=False),
    Column("entered_at", String(32), nullable=False),
)

finance_budgets = Table(
    "finance_budgets",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("line", String(16), primary_key=True),  # sales | margin | expenses
    Column("amount_minor", BigInteger, nullable=False),
    Column("entered_by", String(64), nullable=False),
    Column("entered_at", String(32), nullable=False),
)


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


# --- projector (``{kind: projector}`` entry in projections.PROJECTORS) ---------------------------------------------


def project_stock_cost(f: Any, e: dict[str, Any]) -> None:
    p = e["payload"]
    try:
        line, value, qty = str(p["line"]), int(p["value_minor"]), int(p["qty_delta"])
        category = str(p.get("category") or "")[:200]
    except (KeyError, TypeError, ValueError):
        return  # kept in events; nothing to project
    if line not in LINES:
        return
    a = f.finance[(f.day(p.get("ts") or e["ts"]), category, line)]
    a[0] -= value  # stock value leaving is a cost
    a[1] += qty
    a[2] += 1


def apply(conn: Connection, store_id: str, folded: dict[tuple[date, str, str], list[int]]) -> None:
    ins = _insert(conn, finance_cost_daily)
    c = finance_cost_daily.c
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["store_id", "day", "category", "line"],
            set_={
                "cost_minor": c.cost_minor + ins.excluded.cost_minor,
                "qty": c.qty + ins.excluded.qty,
                "movements": c.movements + ins.excluded.movements,
            },
        ),
        [
            {
                "store_id": store_id,
                "day": d,
                "category": cat,
                "line": ln,
                "cost_minor": v[0],
                "qty": v[1],
                "movements": v[2],
            }
            for (d, cat, ln), v in sorted(folded.items())
        ],
    )


# --- periods ----------------------------------------------------------------------------------------------------


def month_of(text: str | date) -> date:
    """``YYYY-MM`` (or a day) → the first day of that month."""
    if isinstance(text, date):
        return text.replace(day=1)
    s = str(text).strip()
    try:
        m = date.fromisoformat(s + "-01" if len(s) == 7 else s).replace(day=1)
    except ValueError:
        raise ValidationError(f"{s!r} is not a month (YYYY-MM)", code="invalid_month") from None
    return _in_range(m, s, "invalid_month")


def _in_range(d: date, text: str, code: str) -> date:
    """A P&L period lies between 1970 and 2999 (the date arithmetic around it stays in range)."""
    if not 1970 <= d.year <= 2999:
        raise ValidationError(f"{text!r} is outside the years 1970-2999", code=code)
    return d


def _month_end(m: date) -> date:
    nxt = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def period(month: str | None = None, day: str | None = None) -> tuple[date, date]:
    if (month is None) == (day is None):
        raise ValidationError("name a month (YYYY-MM) or a day (YYYY-MM-DD)", code="invalid_period")
    if day is not None:
        try:
            d = date.fromisoformat(str(day))
        except ValueError:
            raise ValidationError(f"{day!r} is not a day (YYYY-MM-DD)", code="invalid_period") from None
        return _in_range(d, str(day), "invalid_period"), d
    m = month_of(month or "")
    return m, _month_end(m)


def _points_value(points_value_minor: int | None) -> int:
    if points_value_minor is not None:
        return points_value_minor
    from hub import domains

    return int(domains.settings()["members.burn_minor_per_point"].default)


# --- P&L --------------------------------------------------------------------------------------------------------

_FIGURES = (
    "gross_sales_minor",
    "promotion_cost_minor",
    "net_sales_minor",
    "vat_minor",
    "net_sales_ex_vat_minor",
    "cogs_minor",
    "gross_margin_minor",
    "shrink_minor",
    "points_liability_minor",
    "expenses_minor",
    "operating_result_minor",
)


def _blank() -> dict[str, int]:
    return dict.fromkeys(_FIGURES, 0)


def _sales(conn: Connection, start: date, end: date, stores: list[str] | None, by_category: bool):
    s = sales_item_daily.c
    # VAT of a refund in proportion to the item-day's net (integer division: the same fen on every engine)
    refund_vat = case((s.net_minor > 0, (s.refund_minor * s.tax_minor) / s.net_minor), else_=0)
    keys = [s.store_id] + ([s.category] if by_category else [])
    q = (
        select(
            *keys,
            func.sum(s.gross_minor),
            func.sum(s.discount_minor),
            func.sum(s.net_minor - s.refund_minor),
            func.sum(s.tax_minor - refund_vat),
        )
        .where(s.day >= start, s.day <= end)
        .group_by(*keys)
    )
    if stores is not None:
        q = q.where(s.store_id.in_(stores))
    return conn.execute(q).all()


def _costs(conn: Connection, start: date, end: date, stores: list[str] | None, by_category: bool):
    c = finance_cost_daily.c
    keys = [c.store_id] + ([c.category] if by_category else []) + [c.line]
    q = select(*keys, func.sum(c.cost_minor)).where(c.day >= start, c.day <= end).group_by(*keys)
    if stores is not None:
        q = q.where(c.store_id.in_(stores))
    return conn.execute(q).all()


def _points(conn: Connection, start: date, end: date, stores: list[str] | None) -> dict[str, int]:
    """Net points issued at each store over its local days start..end (issued − burnt − expired)."""
    zones = _zones(conn)
    p = points_entries.c
    lo = (start - timedelta(days=1)).isoformat()
    hi = (end + timedelta(days=2)).isoformat()
    q = select(p.store_id, p.at, p.points).where(p.at >= lo, p.at < hi)
    if stores is not None:
        q = q.where(p.store_id.in_(stores))
    out: dict[str, int] = defaultdict(int)
    bounds: dict[str, tuple[str, str]] = {}
    for store_id, at, points in conn.execute(q):
        if store_id not in bounds:
            z = zones.get(store_id, UTC)
            bounds[store_id] = (
                iso(datetime.combine(start, time(), z)),
                iso(datetime.combine(end + timedelta(days=1), time(), z)),
            )
        b0, b1 = bounds[store_id]
        if b0 <= at < b1:
            out[store_id] += int(points)
    return out


def _zones(conn: Connection) -> dict[str, Any]:
    """store id → its ZoneInfo (UTC when the hub reported none this machine knows)."""
    out: dict[str, Any] = {}
    for store_id, name in conn.execute(select(t.stores.c.store_id, t.stores.c.timezone)):
        try:
            out[store_id] = ZoneInfo(name) if name else UTC
        except (ZoneInfoNotFoundError, ValueError):
            out[store_id] = UTC
    return out


def _expenses(conn: Connection, start: date, end: date, stores: list[str] | None) -> dict[str, int]:
    e = finance_expenses.c
    q = select(e.store_id, func.sum(e.amount_minor)).where(e.month >= start.replace(day=1), e.month <= end)
    if stores is not None:
        q = q.where(e.store_id.in_(stores))
    return {r[0]: int(r[1]) for r in conn.execute(q.group_by(e.store_id))}


def _finish(row: dict[str, int]) -> dict[str, int]:
    row["net_sales_ex_vat_minor"] = row["net_sales_minor"] - row["vat_minor"]
    row["gross_margin_minor"] = row["net_sales_ex_vat_minor"] - row["cogs_minor"]
    row["operating_result_minor"] = (
        row["gross_margin_minor"] - row["shrink_minor"] - row["points_liability_minor"] - row["expenses_minor"]
    )
    return row


def _pnl(
    conn: Connection,
    start: date,
    end: date,
    stores: list[str] | None,
    *,
    by_category: bool,
    points_value_minor: int,
    with_expenses: bool,
) -> dict[Any, dict[str, int]]:
    rows: dict[Any, dict[str, int]] = defaultdict(_blank)
    for r in _sales(conn, start, end, stores, by_category):
        key = (r[0], r[1]) if by_category else r[0]
        a = rows[key]
        a["gross_sales_minor"] += int(r[-4] or 0)
        a["promotion_cost_minor"] += int(r[-3] or 0)
        a["net_sales_minor"] += int(r[-2] or 0)
        a["vat_minor"] += int(r[-1] or 0)
    for r in _costs(conn, start, end, stores, by_category):
        key = (r[0], r[1]) if by_category else r[0]
        rows[key]["cogs_minor" if r[-2] == "cogs" else "shrink_minor"] += int(r[-1] or 0)
    if not by_category:
        for store_id, pts in _points(conn, start, end, stores).items():
            rows[store_id]["points_liability_minor"] += pts * points_value_minor
        if with_expenses:
            for store_id, amount in _expenses(conn, start, end, stores).items():
                rows[store_id]["expenses_minor"] += amount
    return {k: _finish(v) for k, v in rows.items()}


def _store_names(conn: Connection) -> dict[str, str]:
    return {r[0]: r[1] or r[0] for r in conn.execute(select(t.stores.c.store_id, t.stores.c.name))}


def consolidated(
    engine: Engine, *, month: str | None = None, day: str | None = None, points_value_minor: int | None = None
) -> dict[str, Any]:
    """The group's P&L for a month or a day: one row per store and the group total (drill into a store with
    :func:`store_pnl`). Other expenses are monthly: a day's P&L leaves them out."""
    start, end = period(month, day)
    pv = _points_value(points_value_minor)
    with engine.connect() as conn:
        names = _store_names(conn)
        per = _pnl(conn, start, end, None, by_category=False, points_value_minor=pv, with_expenses=month is not None)
    stores = [{"store_id": s, "name": names.get(s, s), **v} for s, v in sorted(per.items())]
    total = _blank()
    for r in stores:
        for k in _FIGURES:
            total[k] += r[k]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "grain": "month" if month is not None else "day",
        "points_value_minor": pv,
        "stores": stores,
        "total": total,
    }


def store_pnl(
    engine: Engine,
    store_id: str,
    *,
    month: str | None = None,
    day: str | None = None,
    points_value_minor: int | None = None,
) -> dict[str, Any]:
    """One store's P&L for a month or a day with its categories (sales, COGS, margin, shrink by category; points
    and other expenses are the store's, not a category's)."""
    start, end = period(month, day)
    pv = _points_value(points_value_minor)
    with engine.connect() as conn:
        if conn.execute(select(t.stores.c.store_id).where(t.stores.c.store_id == store_id)).first() is None:
            raise NotFound(f"no store {store_id!r}", code="store_not_found")
        total = _pnl(
            conn, start, end, [store_id], by_category=False, points_value_minor=pv, with_expenses=month is not None
        )
        cats = _pnl(conn, start, end, [store_id], by_category=True, points_value_minor=pv, with_expenses=False)
        expenses = []
        if month is not None:
            e = finance_expenses.c
            expenses = [
                {"line": r[0], "amount_minor": int(r[1])}
                for r in conn.execute(
                    select(e.line, e.amount_minor).where(e.store_id == store_id, e.month == start).order_by(e.line)
                )
            ]
    categories = [{"category": cat, **v} for (_s, cat), v in sorted(cats.items(), key=lambda kv: kv[0][1])]
    return {
        "store_id": store_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "grain": "month" if month is not None else "day",
        "total": total.get(store_id, _finish(_blank())),
        "categories": categories,
        "expenses": expenses,
    }


def daily(engine: Engine, store_id: str, month: str, *, points_value_minor: int | None = None) -> list[dict[str, Any]]:
    """A store's P&L day by day over a month (other expenses are monthly and not spread over days)."""
    m = month_of(month)
    pv = _points_value(points_value_minor)
    out = []
    with engine.connect() as conn:
        d = m
        while d <= _month_end(m):
            row = _pnl(conn, d, d, [store_id], by_category=False, points_value_minor=pv, with_expenses=False)
            out.append({"day": d.isoformat(), **row.get(store_id, _finish(_blank()))})
            d += timedelta(days=1)
    return out


# --- expenses and budgets ---------------------------------------------------------------------------------------


def _money(text: str, where: str) -> int:
    """Yuan as people write them (``12345.67``, ``-10``, ``1,234.50``) → fen, exactly."""
    s = (text or "").strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        d = Decimal("NaN")
    if not d.is_finite() or d != d.quantize(Decimal("0.01")):
        raise ValidationError(f"{where}: {text!r} is not an amount in yuan (e.g. 1234.50)", code="invalid_amount")
    return int(d * 100)


def _known_stores(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(select(t.stores.c.store_id))}


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    ins = _insert(conn, table)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["store_id", "month", "line"],
            set_={k: getattr(ins.excluded, k) for k in ("amount_minor", "entered_by", "entered_at")},
        ),
        rows,
    )


def put_expense(engine: Engine, store_id: str, month: str, line: str, amount_minor: int, *, actor: str) -> dict:
    line = (line or "").strip()
    if not line or len(line) > 64:
        raise ValidationError("an expense line is 1-64 characters (rent, wages…)", code="invalid_expense_line")
    row = {
        "store_id": store_id,
        "month": month_of(month),
        "line": line,
        "amount_minor": int(amount_minor),
        "entered_by": actor,
        "entered_at": now_iso(),
    }
    with engine.begin() as conn:
        if store_id not in _known_stores(conn):
            raise NotFound(f"no store {store_id!r}", code="store_not_found")
        _upsert(conn, finance_expenses, [row])
    return {**row, "month": month_of(month).isoformat()[:7]}


def put_budget(engine: Engine, store_id: str, month: str, line: str, amount_minor: int, *, actor: str) -> dict:
    if line not in BUDGET_LINES:
        raise ValidationError(f"a budget line is one of {', '.join(BUDGET_LINES)}", code="invalid_budget_line")
    row = {
        "store_id": store_id,
        "month": month_of(month),
        "line": line,
        "amount_minor": int(amount_minor),
        "entered_by": actor,
        "entered_at": now_iso(),
    }
    with engine.begin() as conn:
        if store_id not in _known_stores(conn):
            raise NotFound(f"no store {store_id!r}", code="store_not_found")
        _upsert(conn, finance_budgets, [row])
    return {**row, "month": month_of(month).isoformat()[:7]}


def _read_csv(data: bytes | str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("the file is not UTF-8 text", code="csv_not_utf8") from None
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    if not rows:
        raise ValidationError("the file is empty", code="csv_empty")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationError(
            f"line 1: the header lacks {', '.join(missing)}",
            code="csv_bad_header",
            details={"line": 1, "missing": missing, "expected": list(required)},
        )
    out = []
    for n, r in enumerate(rows[1:], start=2):
        if not any(x.strip() for x in r):
            continue
        if len(r) != len(header):
            raise ValidationError(
                f"line {n}: {len(r)} fields, the header has {len(header)}",
                code="csv_bad_row",
                details={"line": n},
            )
        out.append((n, {h: v.strip() for h, v in zip(header, r)}))
    return out


def _import(
    engine: Engine, data: bytes | str, table: Table, columns: tuple[str, ...], lines: tuple[str, ...] | None, actor: str
) -> dict[str, Any]:
    """Import a CSV of store × month × amounts, all or nothing: every row is checked before anything is written,
    and the first bad row is refused with its line number."""
    parsed = _read_csv(
        data, ("store", "month", *columns) if lines is not None else ("store", "month", "line", "amount")
    )
    now = now_iso()
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, date, str], int] = {}
    with engine.begin() as conn:
        known = _known_stores(conn)
        for n, r in parsed:
            store = r["store"]
            if store not in known:
                raise ValidationError(
                    f"line {n}: unknown store {store!r} (nothing was imported)",
                    code="unknown_store",
                    details={"line": n, "store": store},
                )
            try:
                m = month_of(r["month"])
            except ValidationError:
                raise ValidationError(
                    f"line {n}: {r['month']!r} is not a month (YYYY-MM)", code="invalid_month", details={"line": n}
                ) from None
            pairs = (
                [(c, r[c]) for c in columns if r.get(c, "") != ""] if lines is not None else [(r["line"], r["amount"])]
            )
            for line, amount in pairs:
                if not line or len(line) > 64:
                    raise ValidationError(
                        f"line {n}: an expense line is 1-64 characters",
                        code="invalid_expense_line",
                        details={"line": n},
                    )
                try:
                    value = _money(amount, f"line {n}")
                except ValidationError as e:
                    e.details = {"line": n, "value": amount}
                    raise
                key = (store, m, line)
                if key in seen:
                    raise ValidationError(
                        f"line {n}: {store} {m.isoformat()[:7]} {line} is already on line {seen[key]}",
                        code="csv_duplicate_row",
                        details={"line": n, "first": seen[key]},
                    )
                seen[key] = n
                out.append(
                    {
                        "store_id": store,
                        "month": m,
                        "line": line,
                        "amount_minor": value,
                        "entered_by": actor,
                        "entered_at": now,
                    }
                )
        _upsert(conn, table, out)
    return {"rows": len(parsed), "figures": len(out)}


def import_budgets(engine: Engine, data: bytes | str, *, actor: str) -> dict[str, Any]:
    """CSV ``store,month,sales,margin,expenses`` (amounts in yuan; an empty cell leaves that line alone)."""
    return _import(engine, data, finance_budgets, BUDGET_LINES, BUDGET_LINES, actor)


def import_expenses(engine: Engine, data: bytes | str, *, actor: str) -> dict[str, Any]:
    """CSV ``store,month,line,amount`` (amount in yuan), one row per store × month × expense line."""
    return _import(engine, data, finance_expenses, (), None, actor)


def _variance(line: str, actual: int, budget: int | None) -> dict[str, Any]:
    if budget is None:
        return {
            "line": line,
            "actual_minor": actual,
            "budget_minor": None,
            "variance_minor": None,
            "variance_pct": None,
            "adverse": False,
        }
    var = actual - budget
    pct = (Decimal(var) * 100 / abs(budget)).quantize(Decimal("0.1")) if budget else None
    against = -var if line != "expenses" else var  # less sales or margin, more expenses: against the budget
    adverse = against > 0 and (pct is None or abs(pct) >= ADVERSE_PCT)
    return {
        "line": line,
        "actual_minor": actual,
        "budget_minor": budget,
        "variance_minor": var,
        "variance_pct": float(pct) if pct is not None else None,
        "adverse": adverse,
    }


def actual_vs_budget(engine: Engine, month: str, *, points_value_minor: int | None = None) -> dict[str, Any]:
    """Each store's month: net sales ex VAT, gross margin and other expenses against their budgets."""
    m = month_of(month)
    pnl = consolidated(engine, month=m.isoformat()[:7], points_value_minor=points_value_minor)
    b = finance_budgets.c
    with engine.connect() as conn:
        budgets = {
            (r[0], r[1]): int(r[2])
            for r in conn.execute(select(b.store_id, b.line, b.amount_minor).where(b.month == m))
        }
        names = _store_names(conn)
    actual_of = {"sales": "net_sales_ex_vat_minor", "margin": "gross_margin_minor", "expenses": "expenses_minor"}
    by_store = {r["store_id"]: r for r in pnl["stores"]}
    stores = sorted(set(by_store) | {s for s, _ in budgets})
    rows = []
    for s in stores:
        actual = by_store.get(s) or _finish(_blank())
        rows.append(
            {
                "store_id": s,
                "name": names.get(s, s),
                "lines": [_variance(ln, actual[actual_of[ln]], budgets.get((s, ln))) for ln in BUDGET_LINES],
            }
        )
    total_lines = []
    for ln in BUDGET_LINES:
        bs = [budgets[(s, ln)] for s in stores if (s, ln) in budgets]
        total_lines.append(_variance(ln, pnl["total"][actual_of[ln]], sum(bs) if bs else None))
    return {"month": m.isoformat()[:7], "tolerance_pct": float(ADVERSE_PCT), "stores": rows, "total": total_lines}


__all__ = [
    "actual_vs_budget",
    "consolidated",
    "daily",
    "import_budgets",
    "import_expenses",
    "put_budget",
    "put_expense",
    "store_pnl",
]
