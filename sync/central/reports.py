"""Head-office figures from the central's projections (used by the HTML views,
their CSV exports and the read API). Every function returns plain rows.

Days are each store's local calendar days (``stores.timezone``, reported by the
hub with every push): ``daily_movements`` is folded on the local day at ingest,
and the date filters of counts and orders convert each store's UTC times to its
own day. Times themselves stay UTC."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from hub.kernel.sqllike import LIKE_ESCAPE, like_contains
from hub.protocol.timeutil import parse_iso, utcnow
from sync.central import schema as t
from sync.central.projections import local_day, zone
from sync.central.transfers import Level, suggest

LATE_S = 5 * 60  # no contact for 5 minutes: late
OFFLINE_S = 30 * 60  # 30 minutes: offline
FULFILLED = ("collected", "shipped")


def _age_s(ts: str | None, now: datetime) -> float | None:
    return None if not ts else max(0.0, (now - parse_iso(ts)).total_seconds())


def stores_overview(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or utcnow()
    with engine.connect() as conn:
        head = conn.execute(select(t.downlink_head.c.version)).scalar() or 0
        dev = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                select(
                    t.devices.c.store_id, func.count(), func.sum(case((t.devices.c.online.is_(False), 1), else_=0))
                ).group_by(t.devices.c.store_id)
            )
        }
        al = dict(
            conn.execute(
                select(t.alerts.c.store_id, func.count())
                .where(t.alerts.c.cleared_ts.is_(None))
                .group_by(t.alerts.c.store_id)
            ).all()
        )
        gaps = dict(
            conn.execute(select(t.store_ranges.c.store_id, func.count()).group_by(t.store_ranges.c.store_id)).all()
        )
        rows = conn.execute(select(t.stores).order_by(t.stores.c.store_id)).mappings().all()
    out = []
    for s in rows:
        lag = _age_s(s["last_push_at"], now)
        status = "never" if lag is None else "offline" if lag > OFFLINE_S else "late" if lag > LATE_S else "ok"
        d_total, d_off = dev.get(s["store_id"], (0, 0))
        out.append(
            {
                "store_id": s["store_id"],
                "name": s["name"],
                "status": status,
                "last_contact": s["last_push_at"],
                "sync_lag_s": None if lag is None else round(lag),
                "newest_event_ts": s["last_event_ts"],
                "data_age_s": None if not s["last_event_ts"] else round(_age_s(s["last_event_ts"], now)),
                "acked_seq": s["hw_seq"],
                "events": s["events_total"],
                "duplicates_ignored": s["duplicates_total"],
                "gaps": gaps.get(s["store_id"], 0),
                "downlink_version": s["downlink_version"],
                "downlink_head": head,
                "devices": d_total,
                "devices_offline": int(d_off or 0),
                "alerts_open": al.get(s["store_id"], 0),
                "events_refused": s["rejected_total"],
                "timezone": s["timezone"],
            }
        )
    return out


def open_alerts(engine: Engine, store: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    q = select(t.alerts).where(t.alerts.c.cleared_ts.is_(None))
    if store:
        q = q.where(t.alerts.c.store_id == store)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q.order_by(t.alerts.c.raised_ts.desc()).limit(limit)).mappings()]


def offline_devices(engine: Engine, store: str | None = None) -> list[dict[str, Any]]:
    q = select(t.devices).where(t.devices.c.online.is_(False))
    if store:
        q = q.where(t.devices.c.store_id == store)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q.order_by(t.devices.c.store_id, t.devices.c.device_id)).mappings()]


def _item_stock_query(sku: str | None, category: str | None, store: str | None):
    s, i = t.stock, t.store_items
    q = (
        select(
            i.c.sku,
            func.max(i.c.name_en).label("name_en"),
            func.max(i.c.name_zh).label("name_zh"),
            func.max(i.c.unit).label("unit"),
            s.c.store_id,
            func.sum(s.c.on_hand).label("on_hand"),
            func.sum(s.c.reserved).label("reserved"),
            func.max(i.c.reorder_point).label("reorder_point"),
        )
        .select_from(s.join(i, and_(i.c.store_id == s.c.store_id, i.c.item_id == s.c.item_id)))
        .group_by(i.c.sku, s.c.store_id)
    )
    if sku:
        like = like_contains(sku)  # a typed % or _ is text, not a wildcard
        q = q.where(
            i.c.sku.like(like, escape=LIKE_ESCAPE)
            | i.c.name_en.like(like, escape=LIKE_ESCAPE)
            | i.c.name_zh.like(like, escape=LIKE_ESCAPE)
        )
    if category:
        q = q.where(i.c.category == category)
    if store:
        q = q.where(s.c.store_id == store)
    return q


def stock_by_item(
    engine: Engine, *, sku: str | None = None, category: str | None = None, store: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """One row per sku × store: on hand (summed over the store's locations), reserved, reorder point."""
    with engine.connect() as conn:
        rows = (
            conn.execute(
                _item_stock_query(sku, category, store).order_by(t.store_items.c.sku, t.stock.c.store_id).limit(limit)
            )
            .mappings()
            .all()
        )
    return [
        {
            **dict(r),
            "on_hand": int(r["on_hand"]),
            "reserved": int(r["reserved"]),
            "available": int(r["on_hand"] - r["reserved"]),
        }
        for r in rows
    ]


def low_stock(
    engine: Engine, *, store: str | None = None, category: str | None = None, limit: int = 500
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows at or below reorder point, suggested transfers between stores)."""
    with engine.connect() as conn:
        rows = conn.execute(_item_stock_query(None, category, None)).mappings().all()
    by_sku: dict[str, list] = defaultdict(list)
    for r in rows:
        by_sku[r["sku"]].append(r)
    low, transfers = [], []
    for sku, rs in sorted(by_sku.items()):
        for r in rs:
            if r["reorder_point"] > 0 and r["on_hand"] <= r["reorder_point"] and (not store or r["store_id"] == store):
                low.append(
                    {
                        "sku": sku,
                        "name_en": r["name_en"],
                        "name_zh": r["name_zh"],
                        "unit": r["unit"],
                        "store_id": r["store_id"],
                        "on_hand": int(r["on_hand"]),
                        "reorder_point": int(r["reorder_point"]),
                    }
                )
        for tr in suggest([Level(r["store_id"], int(r["on_hand"]), int(r["reorder_point"])) for r in rs]):
            if not store or store in (tr["from"], tr["to"]):
                transfers.append({"sku": sku, "name_en": rs[0]["name_en"], "unit": rs[0]["unit"], **tr})
    return low[:limit], transfers[:limit]


def movements_by_day(
    engine: Engine, *, start: date, end: date, store: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Per day × store × kind: lines, signed quantity, and value at the item's price (sales: revenue)."""
    d, i = t.daily_movements, t.store_items
    q = (
        select(
            d.c.day,
            d.c.store_id,
            d.c.kind,
            i.c.unit,
            func.sum(d.c.lines).label("lines"),
            func.sum(d.c.qty).label("qty"),
            func.sum(d.c.qty * func.coalesce(i.c.price_minor, 0)).label("value"),
        )
        .select_from(d.outerjoin(i, and_(i.c.store_id == d.c.store_id, i.c.item_id == d.c.item_id)))
        .where(d.c.day >= start, d.c.day <= end)
        .group_by(d.c.day, d.c.store_id, d.c.kind, i.c.unit)
    )
    if store:
        q = q.where(d.c.store_id == store)
    if kind:
        q = q.where(d.c.kind == kind)
    acc: dict[tuple, dict] = {}
    with engine.connect() as conn:
        for r in conn.execute(q):
            day = r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day))
            k = (day.isoformat(), r.store_id, r.kind)
            a = acc.setdefault(
                k,
                {
                    "day": k[0],
                    "store_id": r.store_id,
                    "kind": r.kind,
                    "lines": 0,
                    "qty_each": 0,
                    "qty_g": 0,
                    "value_minor": 0,
                },
            )
            a["lines"] += int(r.lines)
            if r.unit == "kg":
                a["qty_g"] += int(r.qty)
                a["value_minor"] += round(int(r.value) / 1000)  # price is per kg, qty in grams
            else:
                a["qty_each"] += int(r.qty)
                a["value_minor"] += int(r.value)
    out = sorted(acc.values(), key=lambda a: (a["day"], a["store_id"], a["kind"]))
    for a in out:  # outflows (sales) as positive revenue
        if a["kind"] == "sale":
            a["value_minor"] = -a["value_minor"]
    return out


def count_accuracy(engine: Engine, *, start: date, end: date, store: str | None = None) -> list[dict[str, Any]]:
    """Per store: approved count sessions, line accuracy, shrink and gain at cost; write-offs from the ledger."""
    c = t.count_sessions
    lo, hi = _utc_prefilter(start, end)
    q = select(
        c.c.store_id,
        c.c.approved_ts,
        c.c.lines,
        c.c.lines_exact,
        c.c.shrink_cost_minor,
        c.c.gain_cost_minor,
        c.c.expected_cost_minor,
    ).where(c.c.approved_ts >= lo, c.c.approved_ts < hi)
    d, i = t.daily_movements, t.store_items
    w = (
        select(
            d.c.store_id,
            func.sum(d.c.qty * func.coalesce(i.c.cost_minor, 0)).label("cost"),
            func.max(i.c.unit).label("unit"),
        )
        .select_from(d.outerjoin(i, and_(i.c.store_id == d.c.store_id, i.c.item_id == d.c.item_id)))
        .where(d.c.kind == "writeoff", d.c.day >= start, d.c.day <= end)
        .group_by(d.c.store_id, i.c.unit)
    )
    if store:
        q, w = q.where(c.c.store_id == store), w.where(d.c.store_id == store)
    writeoffs: dict[str, int] = defaultdict(int)
    with engine.connect() as conn:
        zones = store_zones(conn)
        agg: dict[str, list[int]] = {}
        for r in conn.execute(q).mappings():
            if not start <= local_day(r["approved_ts"], zones.get(r["store_id"])) <= end:
                continue
            a = agg.setdefault(r["store_id"], [0, 0, 0, 0, 0, 0])
            for n, k in enumerate(
                ("lines", "lines_exact", "shrink_cost_minor", "gain_cost_minor", "expected_cost_minor")
            ):
                a[n] += int(r[k] or 0)
            a[5] += 1
        for r in conn.execute(w).mappings():
            writeoffs[r["store_id"]] += round(int(r["cost"] or 0) / (1000 if r["unit"] == "kg" else 1))
    out = {}
    for sid, (lines, exact, shrink, gain, expected, sessions) in agg.items():
        out[sid] = {
            "store_id": sid,
            "sessions": sessions,
            "lines": lines,
            "lines_exact": exact,
            "line_accuracy_pct": round(100.0 * exact / lines, 1) if lines else None,
            "shrink_cost_minor": -shrink,
            "gain_cost_minor": gain,
            "expected_cost_minor": expected,
        }
    for sid, cost in writeoffs.items():
        out.setdefault(
            sid,
            {
                "store_id": sid,
                "sessions": 0,
                "lines": 0,
                "lines_exact": 0,
                "line_accuracy_pct": None,
                "shrink_cost_minor": 0,
                "gain_cost_minor": 0,
                "expected_cost_minor": 0,
            },
        )
        out[sid]["writeoff_cost_minor"] = -cost
    for v in out.values():
        v.setdefault("writeoff_cost_minor", 0)
    return sorted(out.values(), key=lambda v: v["store_id"])


def _pct(vals: list[float], q: float) -> float | None:
    if not vals:
        return None
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(q * len(vals)))]


def order_fulfilment(engine: Engine, *, start: date, end: date, store: str | None = None) -> list[dict[str, Any]]:
    """Per store, for orders created in [start, end]: minutes from created to ready, and to collected/shipped."""
    o = t.order_status
    q = select(o.c.store_id, o.c.order_id, o.c.status, o.c.first_ts)
    if store:
        q = q.where(o.c.store_id == store)
    orders: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    with engine.connect() as conn:
        zones = store_zones(conn)
        for r in conn.execute(q):
            orders[(r.store_id, r.order_id)][r.status] = r.first_ts
    per: dict[str, dict[str, list]] = defaultdict(lambda: {"ready": [], "done": [], "orders": [], "cancelled": []})
    lo, hi = _utc_prefilter(start, end)
    for (sid, _oid), st in orders.items():
        created = st.get("new") or st.get("backordered")
        if not created or not lo <= created < hi or not start <= local_day(created, zones.get(sid)) <= end:
            continue
        p = per[sid]
        p["orders"].append(1)
        t0 = parse_iso(created)
        if "ready" in st:
            p["ready"].append((parse_iso(st["ready"]) - t0).total_seconds() / 60)
        done = [st[s] for s in FULFILLED if s in st]
        if done:
            p["done"].append((parse_iso(min(done)) - t0).total_seconds() / 60)
        if "cancelled" in st:
            p["cancelled"].append(1)
    out = []
    for sid, p in sorted(per.items()):
        out.append(
            {
                "store_id": sid,
                "orders": len(p["orders"]),
                "fulfilled": len(p["done"]),
                "cancelled": len(p["cancelled"]),
                "ready_median_min": round(median(p["ready"]), 1) if p["ready"] else None,
                "fulfil_median_min": round(median(p["done"]), 1) if p["done"] else None,
                "fulfil_p90_min": round(_pct(p["done"], 0.9), 1) if p["done"] else None,
            }
        )
    return out


def categories(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                select(t.store_items.c.category)
                .where(t.store_items.c.category != "")
                .distinct()
                .order_by(t.store_items.c.category)
            )
        ]


def store_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(t.stores.c.store_id).order_by(t.stores.c.store_id))]


def store_zones(conn) -> dict[str, Any]:
    """store id -> ZoneInfo (None = UTC) from the timezone each hub reports."""
    return {r[0]: zone(r[1]) for r in conn.execute(select(t.stores.c.store_id, t.stores.c.timezone))}


def _utc_prefilter(start: date, end: date) -> tuple[str, str]:
    """UTC text bounds wide enough for every zone's [start, end] local days (UTC-12 … UTC+14)."""
    return (start - timedelta(days=1)).isoformat(), (end + timedelta(days=2)).isoformat()


def today(engine: Engine | None = None, store: str | None = None, now: datetime | None = None) -> date:
    """Today as the store sees it (the latest local date among all stores when none is named;
    UTC when no store is known)."""
    now = now or datetime.now(UTC)
    if engine is None:
        return now.date()
    with engine.connect() as conn:
        zones = store_zones(conn)
    if store:
        zones = {store: zones.get(store)}
    days = [now.astimezone(z).date() if z else now.date() for z in zones.values()]
    return max(days) if days else now.date()
