"""Near-expiry markdowns: a suggestion per lot close to its expiry, which a manager turns into a promotion.

:func:`suggest` (run with the expiry check: nightly and on demand) looks at every lot of a lot-controlled item
on hand that is still good and expires within its category's warning days (the ``purchasing.near_expiry_days``
setting) and suggests ``percent`` off the item until the end of its expiry day, once per item × lot; each new
suggestion is a live ``markdown.suggested`` fact (the handhelds show it). :func:`approve` (manager) turns one
into a store-level ``percent_off`` promotion in the promotions' own authored format (validated by
:func:`hub.promotions.validation.parse_promotion`), scoped to the item's SKU, valid from now to the end of the
expiry day in the store's time zone; the ``markdown.approved`` fact carries it to the central, which publishes
promotions to stores. A promotion prices the SKU, not the lot: at the till every unit of the item gets it while
it runs, which is why a manager approves it. :func:`dismiss` says no."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, Forbidden, NotFound, ValidationError
from hub.promotions.validation import parse_promotion
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, now_iso, utcnow
from hub.purchasing import days, rules

APPROVE_ROLE = "manager"
DEFAULT_PERCENT = 30


def get(conn: sqlite3.Connection, suggestion_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT m.*, i.sku, i.name_en, i.name_zh, i.category FROM markdown_suggestions m JOIN items i"
        " ON i.id = m.item_id WHERE m.id = ?",
        (suggestion_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no markdown suggestion {suggestion_id}", code="markdown_not_found")
    d = dict(row)
    d["promotion"] = json.loads(d["promotion"]) if d["promotion"] else None
    return d


def list_suggestions(conn: sqlite3.Connection, *, status: str | None = "suggested") -> list[dict[str, Any]]:
    args: list[Any] = [status] if status else []
    return [
        get(conn, r[0])
        for r in conn.execute(
            "SELECT id FROM markdown_suggestions" + (" WHERE status = ?" if status else "") + " ORDER BY expiry, id",
            args,
        )
    ]


def suggest(
    conn: sqlite3.Connection,
    *,
    today: date,
    setting: dict[str, Any],
    percent: int = DEFAULT_PERCENT,
    actor: str = "system:expiry",
) -> list[dict[str, Any]]:
    """Suggest a markdown for each lot on hand, still good, within its category's warning days and not yet
    suggested. Returns the new suggestions (idempotent: a second run the same day suggests nothing)."""
    rows = conn.execute(
        "SELECT sl.item_id, i.sku, i.category, sl.lot, MIN(sl.expiry) AS expiry, SUM(sl.qty) AS qty"
        " FROM stock_lots sl JOIN items i ON i.id = sl.item_id"
        " JOIN purchasing_items p ON p.item_id = sl.item_id AND p.lot_controlled = 1"
        " WHERE sl.expiry IS NOT NULL AND sl.expiry >= ? AND sl.lot != ''"
        " AND NOT EXISTS (SELECT 1 FROM markdown_suggestions m WHERE m.item_id = sl.item_id AND m.lot = sl.lot)"
        " GROUP BY sl.item_id, sl.lot HAVING SUM(sl.qty) > 0 ORDER BY MIN(sl.expiry), i.sku",
        (today.isoformat(),),
    ).fetchall()
    made = []
    for r in rows:
        days_left = (date.fromisoformat(r["expiry"]) - today).days
        if days_left > rules.near_expiry_days(r["category"], setting):
            continue
        sid, ts = new_id(), now_iso()
        conn.execute(
            "INSERT INTO markdown_suggestions(id, item_id, lot, expiry, qty, percent, status, created_at)"
            " VALUES (?,?,?,?,?,?,'suggested',?)",
            (sid, r["item_id"], r["lot"], r["expiry"], r["qty"], percent, ts),
        )
        fact = {
            "id": sid,
            "item_id": r["item_id"],
            "sku": r["sku"],
            "lot": r["lot"],
            "expiry": r["expiry"],
            "days_left": days_left,
            "qty": r["qty"],
            "percent": percent,
            "ts": ts,
        }
        outbox.record(conn, "markdown.suggested", fact, ts=ts)
        made.append(fact)
    return made


def _promotion_id(sku: str, lot: str, expiry: str) -> str:
    raw = f"md:{sku}:{lot}:{expiry.replace('-', '')}"
    return re.sub(r"[^A-Za-z0-9._:-]", "-", raw)[:64]


def promotion_for(s: dict[str, Any], percent: int, *, zone: Any, now: datetime | None = None) -> dict[str, Any]:
    """The store-level promotion a markdown becomes: ``percent`` off the SKU from now to the end of the lot's
    expiry day (store-local), as authored for the promotions engine (validated here)."""
    start = (now or utcnow()).astimezone(UTC).replace(microsecond=0)
    end_local = datetime.combine(date.fromisoformat(s["expiry"]) + timedelta(days=1), time(0, 0), tzinfo=zone)
    name_en = s["name_en"] or s["name_zh"] or s["sku"]
    name_zh = s["name_zh"] or s["name_en"] or s["sku"]
    body = {
        "id": _promotion_id(s["sku"], s["lot"], s["expiry"]),
        "name": {
            "en": f"Near expiry: {name_en} {percent}% off (lot {s['lot']}, until {s['expiry']})",
            "zh-CN": f"临期特价：{name_zh} 减 {percent}%（批号 {s['lot']}，至 {s['expiry']}）",
        },
        "type": "percent_off",
        "phase": "item",
        "scope": {"skus": [s["sku"]]},
        "params": {"percent": percent},
        "valid": {"from": iso(start), "to": iso(end_local.astimezone(UTC))},
    }
    parse_promotion(body)
    return body


def _decidable(conn: sqlite3.Connection, suggestion_id: str, role: str, what: str) -> dict[str, Any]:
    if not rules.has_role(role, APPROVE_ROLE):
        raise Forbidden(
            f"{what} a markdown needs the {APPROVE_ROLE} role",
            code="wrong_role",
            details={"needed": APPROVE_ROLE, "have": role},
        )
    s = get(conn, suggestion_id)
    if s["status"] != "suggested":
        raise Conflict(
            f"this markdown was already {s['status']}", code="markdown_decided", details={"status": s["status"]}
        )
    return s


def approve(
    conn: sqlite3.Connection,
    suggestion_id: str,
    *,
    actor: str,
    role: str,
    percent: int | None = None,
    device: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A manager approves a suggestion (optionally at another ``percent``): it becomes a promotion, sent to the
    central as the ``markdown.approved`` fact. A lot that expired meanwhile cannot be marked down."""
    s = _decidable(conn, suggestion_id, role, "approving")
    pct = s["percent"] if percent is None else percent
    if isinstance(pct, bool) or not isinstance(pct, int) or not 1 <= pct <= 90:
        raise ValidationError("percent is a whole number 1-90", code="invalid_percent", details={"percent": pct})
    zone = days.zone(conn)
    when = now or utcnow()
    if date.fromisoformat(s["expiry"]) < when.astimezone(zone).date():
        raise Conflict(
            f"lot {s['lot']} expired on {s['expiry']}: it is not sold, so it is not marked down",
            code="markdown_lot_expired",
            details={"expiry": s["expiry"]},
        )
    promo = promotion_for(s, pct, zone=zone, now=when)
    ts = now_iso()
    conn.execute(
        "UPDATE markdown_suggestions SET status = 'approved', percent = ?, promotion = ?, decided_by = ?,"
        " decided_at = ? WHERE id = ?",
        (pct, json.dumps(promo, ensure_ascii=False), actor, ts, suggestion_id),
    )
    fact = {
        "id": suggestion_id,
        "item_id": s["item_id"],
        "sku": s["sku"],
        "lot": s["lot"],
        "expiry": s["expiry"],
        "percent": pct,
        "approved_by": actor,
        "promotion": promo,
        "ts": ts,
    }
    outbox.record(conn, "markdown.approved", fact, ts=ts)
    audit.log(conn, actor=actor, device=device, action="markdown.approve", target=suggestion_id, details=fact)
    return get(conn, suggestion_id)


def dismiss(
    conn: sqlite3.Connection, suggestion_id: str, *, actor: str, role: str, device: str | None = None
) -> dict[str, Any]:
    """A manager turns a suggestion down (it is not suggested again for that lot)."""
    _decidable(conn, suggestion_id, role, "dismissing")
    ts = now_iso()
    conn.execute(
        "UPDATE markdown_suggestions SET status = 'dismissed', decided_by = ?, decided_at = ? WHERE id = ?",
        (actor, ts, suggestion_id),
    )
    audit.log(conn, actor=actor, device=device, action="markdown.dismiss", target=suggestion_id)
    return get(conn, suggestion_id)
