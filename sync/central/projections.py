"""Fold newly stored hub events into the central's projections.

Pure part: ``fold(events, tz)`` turns a list of *new* events (never seen before — the
caller guarantees that) into row deltas. Additive projections (stock, daily
movements) are commutative, so reordering between batches cannot change them;
last-writer projections (items, locations, devices) only move forward by seq.

Each fact kind the central folds has one entry in :data:`PROJECTORS` (``{kind: projector}``); the hub's domains
declare every kind with ``projected=True`` or ``False`` (``hub.domains.facts()``) and a test keeps the table and
the declarations in step. A kind without a projector is stored raw in the events table and nothing more."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlalchemy.engine import Connection

from hub.protocol.timeutil import parse_iso
from sync.central import coupons, finance, members, personal, sales, staff
from sync.central import schema as t

DEVICE_OFFLINE = {"offline", "disconnected", "lost", "down"}
ALERT_CLEAR_WORDS = ("clear", "resolve", "ack", "close")


@dataclass
class Folded:
    stock: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    daily: dict[tuple[date, str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0]))
    items: dict[str, dict] = field(default_factory=dict)
    locations: dict[str, dict] = field(default_factory=dict)
    orders: dict[tuple[str, str], str] = field(default_factory=dict)
    devices: dict[str, dict] = field(default_factory=dict)
    alerts: dict[str, dict] = field(default_factory=dict)
    counts: dict[str, dict] = field(default_factory=dict)
    members: dict[str, list] = field(default_factory=lambda: defaultdict(list))  # sync/central/members.py
    sales: list[dict] = field(default_factory=list)  # sync/central/sales.py
    finance: dict[tuple[date, str, str], list[int]] = field(  # sync/central/finance.py
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    staff: list[dict] = field(default_factory=list)  # sync/central/staff.py
    coupons: list[dict] = field(default_factory=list)  # sync/central/coupons.py
    tz: ZoneInfo | None = field(default=None, repr=False, compare=False)
    _days: dict = field(default_factory=dict, repr=False, compare=False)

    def day(self, ts: str) -> date:
        """The store's calendar day of a hub time (cached per fold)."""
        return local_day(ts, self.tz, self._days)


def local_day(ts: str, tz: ZoneInfo | None, _cache: dict | None = None) -> date:
    """The store's calendar day of a UTC hub time (``tz`` None: the UTC day).

    Offsets change on whole minutes, so a per-fold cache keyed by the minute is exact."""
    if tz is None:
        return date.fromisoformat(ts[:10]) if ts.endswith("Z") else parse_iso(ts).date()
    key = ts[:16]
    if _cache is not None and key in _cache:
        return _cache[key]
    d = parse_iso(ts).astimezone(tz).date()
    if _cache is not None:
        _cache[key] = d
    return d


def is_zone(name: str | None) -> bool:
    """An IANA zone name this machine knows (``UTC`` included)."""
    if not name or not isinstance(name, str):
        return False
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def zone(name: str | None) -> ZoneInfo | None:
    """ZoneInfo for an IANA name; None for UTC or a name this machine does not know."""
    if not name or name in ("UTC", "Etc/UTC"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _first(p: dict, *names: str) -> Any:
    for n in names:
        v = p.get(n)
        if v not in (None, ""):
            return v
    return None


# --- projectors: one per fact kind (or family), each folds one event into the deltas ---------------------------
#
# ``projector(f, e)`` with ``e`` the stored event (``kind``, ``payload``, ``seq``, ``ts``). A payload a projector
# cannot read is skipped: the event stays in the raw events table, nothing is projected from it. Additive
# figures (stock, daily movements) only add; last-writer ones keep what the highest seq says.

Projector = Callable[[Folded, dict[str, Any]], None]


# inventory
def _movement(f: Folded, e: dict[str, Any]) -> None:
    p = e["payload"]
    try:
        qd, rd = int(p["qty_delta"]), int(p.get("reserved_delta") or 0)
        item, loc, mkind = str(p["item_id"]), str(p["location_id"]), str(p["kind"])
    except (KeyError, TypeError, ValueError):
        return  # kept in events; nothing to project
    s = f.stock[(item, loc)]
    s[0] += qd
    s[1] += rd
    d = f.daily[(f.day(e["ts"]), item, mkind)]  # ts: the validated event time
    d[0] += 1
    d[1] += qd
    d[2] += abs(qd)
    d[3] += 1 if qd == 0 else 0


def _item_upsert(f: Folded, e: dict[str, Any]) -> None:
    p = e["payload"]
    if p.get("id") and p.get("sku"):
        f.items[p["id"]] = {**p, "_seq": e["seq"]}


def _location_upsert(f: Folded, e: dict[str, Any]) -> None:
    p = e["payload"]
    if p.get("id"):
        f.locations[p["id"]] = p


# orders: the first time each order reached each status
_ORDER_STATUS: dict[str, Callable[[dict], Any]] = {
    "order.created": lambda p: p.get("status") or "new",
    "order.status": lambda p: p.get("to"),
    "order.cancelled": lambda p: "cancelled",
}


def _order(f: Folded, e: dict[str, Any]) -> None:
    kind, p, ts = e["kind"], e["payload"], e["ts"]
    oid = _first(p, "order_id", "id")
    status = _ORDER_STATUS[kind](p)
    if oid and status:
        k = (str(oid), str(status)[:32])
        when = _first(p, "created_at", "ts") if kind == "order.created" else (p.get("ts") or ts)
        when = when or ts
        if k not in f.orders or when < f.orders[k]:
            f.orders[k] = when


# stocktake
def _count_approved(f: Folded, e: dict[str, Any]) -> None:
    p = e["payload"]
    if not (p.get("session_id") and isinstance(p.get("totals"), dict)):
        return
    tot = p["totals"]
    f.counts[str(p["session_id"])] = {
        "approved_ts": p.get("ts") or e["ts"],
        "lines": int(tot.get("lines") or 0),
        "lines_exact": int(tot.get("lines_exact") or 0),
        "shrink_cost_minor": int(tot.get("shrink_cost_minor") or 0),
        "gain_cost_minor": int(tot.get("gain_cost_minor") or 0),
        "expected_cost_minor": int(tot.get("expected_cost_minor") or 0),
    }


# device bus: every device fact shows the device was seen; status (and an ``online`` flag) sets online/offline
def _device(f: Folded, e: dict[str, Any]) -> None:
    kind, p = e["kind"], e["payload"]
    did = _first(p, "device_id", "device")
    if not did:
        return
    online = p.get("online") if isinstance(p.get("online"), bool) else None
    if kind == "device.status" and p.get("status"):
        online = str(p["status"]).lower() not in DEVICE_OFFLINE
    prev = f.devices.get(str(did), {})
    f.devices[str(did)] = {
        "device_kind": str(_first(p, "device_kind", "kind", "type") or prev.get("device_kind") or "")[:64],
        "online": prev.get("online") if online is None else online,
        "last_seen_ts": _first(p, "ts", "at") or e["ts"],
        "last_event": kind[:64],
        "seq": e["seq"],
    }


def _alert(f: Folded, e: dict[str, Any]) -> None:
    kind, p, ts = e["kind"], e["payload"], e["ts"]
    aid = _first(p, "alert_id", "id")
    if not aid:
        return
    a = f.alerts.setdefault(str(aid), {})
    cleared = any(w in kind for w in ALERT_CLEAR_WORDS) or bool(p.get("cleared") or p.get("resolved"))
    if cleared:
        a["cleared_ts"] = _first(p, "cleared_at", "resolved_at", "ts") or ts
    else:
        a.update(
            severity=str(_first(p, "severity", "level") or "warning")[:16],
            message=str(_first(p, "message", "text", "summary", "code") or kind),
            raised_ts=_first(p, "raised_at", "ts") or ts,
        )


# Every fact kind the central folds (``hub.domains.facts()`` declares each with ``projected=True``; a test keeps
# the two in step). Any other kind is only stored in the raw events table.
PROJECTORS: dict[str, Projector] = {
    "movement": _movement,
    "item.upsert": _item_upsert,
    "location.upsert": _location_upsert,
    **{kind: _order for kind in _ORDER_STATUS},
    "count.approved": _count_approved,
    **{
        kind: _device
        for kind in (
            "device.scan",
            "device.weight",
            "device.status",
            "device.info",
            "device.health",
            "device.command_result",
        )
    },
    "alert.raised": _alert,
    "alert.cleared": _alert,
    "points.entry": members.project_entry,
    "member.enrolled": members.project_enrolled,
    "member.consent": members.project_consent,  # the consent register (sync/central/personal.py)
    "user.upsert": members.project_staff,  # staff display names, encrypted at rest (sync/central/personal.py)
    "member.tier_changed": members.project_tier,
    "sale.completed": sales.project_completed,
    "sale.returned": sales.project_returned,
    "finance.stock_cost": finance.project_stock_cost,
    "staff.payroll.approved": staff.project_approved,
    "coupon.redeemed": coupons.project_redeemed,
}


def fold(events: list[dict], tz: str | None = None) -> Folded:
    """``tz``: the store's IANA timezone; daily figures fall on the store's local day (times stay UTC)."""
    f = Folded(tz=zone(tz))
    for e in sorted(events, key=lambda e: e["seq"]):
        project = PROJECTORS.get(e["kind"])
        if project is not None:
            project(f, e)
    return f


def _insert(conn: Connection, table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def apply(conn: Connection, store_id: str, f: Folded) -> None:
    """Write the folded deltas inside the caller's ingest transaction."""
    if f.stock:
        ins = _insert(conn, t.stock)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["store_id", "item_id", "location_id"],
                set_={
                    "on_hand": t.stock.c.on_hand + ins.excluded.on_hand,
                    "reserved": t.stock.c.reserved + ins.excluded.reserved,
                },
            ),
            [
                {"store_id": store_id, "item_id": item, "location_id": loc, "on_hand": v[0], "reserved": v[1]}
                for (item, loc), v in sorted(f.stock.items())
            ],
        )
    if f.daily:
        ins = _insert(conn, t.daily_movements)
        c = t.daily_movements.c
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["store_id", "day", "item_id", "kind"],
                set_={
                    "lines": c.lines + ins.excluded.lines,
                    "qty": c.qty + ins.excluded.qty,
                    "abs_qty": c.abs_qty + ins.excluded.abs_qty,
                    "zero_lines": c.zero_lines + ins.excluded.zero_lines,
                },
            ),
            [
                {
                    "store_id": store_id,
                    "day": d,
                    "item_id": i,
                    "kind": k,
                    "lines": v[0],
                    "qty": v[1],
                    "abs_qty": v[2],
                    "zero_lines": v[3],
                }
                for (d, i, k), v in sorted(f.daily.items())
            ],
        )
    if f.items:
        ins = _insert(conn, t.store_items)
        cols = (
            "sku",
            "name_en",
            "name_zh",
            "category",
            "unit",
            "price_minor",
            "cost_minor",
            "reorder_point",
            "safety_stock",
            "active",
            "seq",
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["store_id", "item_id"],
                set_={k: getattr(ins.excluded, k) for k in cols},
                where=t.store_items.c.seq < ins.excluded.seq,
            ),
            [
                {
                    "store_id": store_id,
                    "item_id": iid,
                    "sku": str(p["sku"])[:64],
                    "name_en": p.get("name_en") or "",
                    "name_zh": p.get("name_zh") or "",
                    "category": p.get("category") or "",
                    "unit": p.get("unit") or "each",
                    "price_minor": int(p.get("price_minor") or 0),
                    "cost_minor": int(p.get("cost_minor") or 0),
                    "reorder_point": int(p.get("reorder_point") or 0),
                    "safety_stock": int(p.get("safety_stock") or 0),
                    "active": bool(p.get("active", True)),
                    "seq": p["_seq"],
                }
                for iid, p in sorted(f.items.items())
            ],
        )
    if f.locations:
        ins = _insert(conn, t.store_locations)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["store_id", "location_id"],
                set_={"code": ins.excluded.code, "name": ins.excluded.name, "kind": ins.excluded.kind},
            ),
            [
                {
                    "store_id": store_id,
                    "location_id": lid,
                    "code": str(p.get("code") or "")[:64],
                    "name": p.get("name") or "",
                    "kind": str(p.get("kind") or "")[:16],
                }
                for lid, p in sorted(f.locations.items())
            ],
        )
    if f.orders:
        ins = _insert(conn, t.order_status)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["store_id", "order_id", "status"],
                set_={"first_ts": ins.excluded.first_ts},
                where=ins.excluded.first_ts < t.order_status.c.first_ts,
            ),
            [
                {"store_id": store_id, "order_id": o[:64], "status": s, "first_ts": ts}
                for (o, s), ts in sorted(f.orders.items())
            ],
        )
    if f.devices:
        ins = _insert(conn, t.devices)
        c = t.devices.c
        for d, v in sorted(f.devices.items()):
            # status messages set online/offline; other device events only show it was seen
            row = {
                "store_id": store_id,
                "device_id": d[:128],
                **v,
                "online": True if v["online"] is None else v["online"],
            }
            upd = {
                "last_seen_ts": ins.excluded.last_seen_ts,
                "last_event": ins.excluded.last_event,
                "seq": ins.excluded.seq,
                "device_kind": func.coalesce(func.nullif(ins.excluded.device_kind, ""), c.device_kind),
            }
            if v["online"] is not None:
                upd["online"] = ins.excluded.online
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["store_id", "device_id"], set_=upd, where=c.seq < ins.excluded.seq
                ),
                row,
            )
    if f.counts:
        ins = _insert(conn, t.count_sessions)
        conn.execute(
            ins.on_conflict_do_nothing(index_elements=["store_id", "session_id"]),
            [{"store_id": store_id, "session_id": sid[:64], **v} for sid, v in sorted(f.counts.items())],
        )
    if f.members:
        members.apply(conn, store_id, f.members)
        personal.apply(conn, store_id, f.members)  # personal data, encrypted at rest (issues 15, 20)
    if f.sales:  # after the items: a sale's category and cost come from store_items
        sales.apply(conn, store_id, f.sales)
    if f.finance:
        finance.apply(conn, store_id, f.finance)
    if f.staff:
        staff.apply(conn, store_id, f.staff)
    if f.coupons:
        coupons.apply(conn, store_id, f.coupons)
    for aid, a in sorted(f.alerts.items()):
        ins = _insert(conn, t.alerts)
        row = {
            "store_id": store_id,
            "alert_id": aid[:128],
            "severity": a.get("severity", "warning"),
            "message": a.get("message", ""),
            "raised_ts": a.get("raised_ts") or a.get("cleared_ts"),
            "cleared_ts": a.get("cleared_ts"),
        }
        upd = {k: getattr(ins.excluded, k) for k in ("severity", "message", "raised_ts") if k in a}
        if "cleared_ts" in a:
            upd["cleared_ts"] = ins.excluded.cleared_ts
        conn.execute(
            ins.on_conflict_do_update(index_elements=["store_id", "alert_id"], set_=upd)
            if upd
            else ins.on_conflict_do_nothing(),
            row,
        )
