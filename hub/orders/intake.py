"""Taking orders in from the channels: validation, duplicate detection, creation (review and allocation
follow in ``hub.orders.workflow``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.inventory import catalog
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, ValidationError
from hub.orders import model
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, now_iso, parse_iso


def _item_for(conn: sqlite3.Connection, line: dict[str, Any]) -> dict[str, Any] | None:
    if line.get("item_id"):
        row = conn.execute("SELECT id FROM items WHERE id = ?", (line["item_id"],)).fetchone()
        return catalog.get_item(conn, row[0]) if row else None
    if line.get("sku"):
        return catalog.get_item_by_sku(conn, str(line["sku"]).strip())
    if line.get("gtin"):
        try:
            return catalog.find_by_gtin(conn, catalog.normalize_gtin(str(line["gtin"])))
        except ValidationError:
            return None
    return None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    return None


def validate(conn: sqlite3.Connection, data: dict[str, Any]) -> dict[str, Any]:
    """Check an incoming order; returns clean values or raises ValidationError with per-field details."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    channel = data.get("channel")
    if channel not in model.CHANNELS:
        errors["channel"] = f"one of {', '.join(model.CHANNELS)}"
    out["channel"] = channel
    ext = data.get("external_id")
    if ext is not None:
        ext = str(ext).strip()
        if not ext or len(ext) > 100:
            errors["external_id"] = "1-100 characters"
    elif channel != "in_store":
        errors["external_id"] = "required for orders from web, app and phone (duplicates are detected by it)"
    out["external_id"] = ext or None
    fulfilment = data.get("fulfilment", "pickup")
    if fulfilment not in model.FULFILMENTS:
        errors["fulfilment"] = f"one of {', '.join(model.FULFILMENTS)}"
    out["fulfilment"] = fulfilment
    cust = data.get("customer") or {}
    if not isinstance(cust, dict):
        errors["customer"] = "an object {name, phone, email}"
        cust = {}
    for k in ("name", "phone", "email"):
        v = cust.get(k) or ""
        if not isinstance(v, str) or len(v) > 200:
            errors[f"customer.{k}"] = "text of at most 200 characters"
            v = ""
        out[f"customer_{k}"] = v.strip()
    addr = data.get("address")
    if addr is not None and not isinstance(addr, dict):
        errors["address"] = "an object {line1, line2, city, postcode}"
        addr = None
    out["address"] = addr
    out["pickup_at"] = None
    if data.get("pickup_at"):
        try:
            out["pickup_at"] = iso(parse_iso(str(data["pickup_at"])))
        except (ValueError, TypeError):
            errors["pickup_at"] = "an ISO-8601 time with offset"
    paid = _int(data.get("paid_minor", 0))
    if paid is None or paid < 0:
        errors["paid_minor"] = "a whole number >= 0 (minor units)"
    out["paid_minor"] = paid or 0
    notes = data.get("notes") or ""
    out["notes"] = notes if isinstance(notes, str) else ""
    lines = data.get("lines")
    clean_lines = []
    if not isinstance(lines, list) or not lines:
        errors["lines"] = "at least one line"
        lines = []
    for n, line in enumerate(lines):
        where = f"lines[{n}]"
        if not isinstance(line, dict):
            errors[where] = "an object"
            continue
        item = _item_for(conn, line)
        if item is None:
            errors[where] = "unknown item (give item_id, sku or gtin)"
            continue
        if not item["active"]:
            errors[where] = f"item {item['sku']} is not sold any more"
            continue
        if item["unit"] == "kg":
            qty = _int(line.get("grams"))
            if line.get("qty") is not None and line.get("grams") is None:
                errors[where] = f"{item['sku']} is sold by weight: order it in grams"
                continue
            if qty is None or not 1 <= qty <= 100_000:
                errors[where] = "grams: a whole number 1-100000"
                continue
        else:
            if line.get("grams") is not None:
                errors[where] = f"{item['sku']} is sold by the piece: give qty"
                continue
            qty = _int(line.get("qty"))
            if qty is None or not 1 <= qty <= 10_000:
                errors[where] = "qty: a whole number 1-10000"
                continue
        price = line.get("unit_price_minor")
        price = item["price_minor"] if price is None else _int(price)
        if price is None or price < 0:
            errors[where] = "unit_price_minor: a whole number >= 0"
            continue
        allow = line.get("allow_substitute", True)
        if isinstance(allow, str):
            allow = allow.strip().lower() not in ("0", "false", "no", "n")
        clean_lines.append({"item": item, "qty": qty, "unit_price_minor": price, "allow_substitute": bool(allow)})
    out["lines"] = clean_lines
    if errors:
        raise ValidationError("invalid order", code="invalid_order", details=errors)
    return out


def existing(conn: sqlite3.Connection, channel: str, external_id: str | None) -> sqlite3.Row | None:
    if external_id is None:
        return None
    return conn.execute(
        "SELECT id, ref, status FROM orders WHERE channel = ? AND external_id = ?", (channel, external_id)
    ).fetchone()


def insert_order(
    conn: sqlite3.Connection,
    clean: dict[str, Any],
    *,
    actor: str,
    ref: str | None = None,
    parent_order_id: str | None = None,
    split_kind: str | None = None,
    review_status: str = "none",
) -> str:
    order_id = new_id()
    ts = now_iso()
    conn.execute(
        "INSERT INTO orders(id, ref, channel, external_id, status, status_since, fulfilment, customer_name, customer_phone,"
        " customer_email, address, pickup_at, notes, currency, paid_minor, review_status, parent_order_id, split_kind,"
        " created_by, created_at, updated_at) VALUES (?,?,?,?,'new',?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            order_id,
            ref or model.next_ref(conn),
            clean["channel"],
            clean["external_id"],
            ts,
            clean["fulfilment"],
            clean["customer_name"],
            clean["customer_phone"],
            clean["customer_email"],
            json.dumps(clean["address"], ensure_ascii=False) if clean["address"] else None,
            clean["pickup_at"],
            clean["notes"],
            settings.get(conn, "currency"),
            clean["paid_minor"],
            review_status,
            parent_order_id,
            split_kind,
            actor,
            ts,
            ts,
        ),
    )
    conn.execute(
        "INSERT INTO order_status_history(order_id, from_status, to_status, actor, ts) VALUES (?,?,?,?,?)",
        (order_id, None, "new", actor, ts),
    )
    for n, line in enumerate(clean["lines"], start=1):
        add_line(
            conn,
            order_id,
            line["item"]["id"],
            line["qty"],
            line["unit_price_minor"],
            allow_substitute=line["allow_substitute"],
            line_no=n,
        )
    model.refresh_money(conn, order_id)
    return order_id


def add_line(
    conn: sqlite3.Connection,
    order_id: str,
    item_id: str,
    qty: int,
    unit_price_minor: int,
    *,
    allow_substitute: bool = True,
    substitute_for: str | None = None,
    line_no: int | None = None,
) -> str:
    if line_no is None:
        line_no = conn.execute(
            "SELECT COALESCE(MAX(line_no), 0) + 1 FROM order_lines WHERE order_id = ?", (order_id,)
        ).fetchone()[0]
    line_id = new_id()
    conn.execute(
        "INSERT INTO order_lines(id, order_id, line_no, item_id, qty, unit_price_minor, allow_substitute,"
        " substitute_for_line_id) VALUES (?,?,?,?,?,?,?,?)",
        (line_id, order_id, line_no, item_id, qty, unit_price_minor, int(allow_substitute), substitute_for),
    )
    return line_id


def receive(conn: sqlite3.Connection, data: dict[str, Any], *, actor: str, device: str | None = None) -> str:
    """Take one order in (status ``new``; ``hub.orders.workflow.create_order`` then reviews and allocates it).
    Duplicates by (channel, external id) raise Conflict ``duplicate_order`` naming the order already received;
    nothing is created twice. Returns the new order's id."""
    clean = validate(conn, data)
    dup = existing(conn, clean["channel"], clean["external_id"])
    if dup is not None:
        raise Conflict(
            f"order {clean['external_id']} from {clean['channel']} was already received as {dup['ref']}",
            code="duplicate_order",
            details={"order_id": dup["id"], "ref": dup["ref"], "status": dup["status"]},
        )
    order_id = insert_order(conn, clean, actor=actor)
    order = model.get_order(conn, order_id)
    outbox.record(conn, "order.created", _fact(order))
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="order.create",
        target=order_id,
        details={
            "ref": order["ref"],
            "channel": order["channel"],
            "external_id": order["external_id"],
            "lines": len(order["lines"]),
            "total_minor": order["total_minor"],
        },
    )
    return order_id


def _fact(order: dict[str, Any]) -> dict[str, Any]:
    return {
        k: order[k]
        for k in (
            "id",
            "ref",
            "channel",
            "external_id",
            "status",
            "fulfilment",
            "currency",
            "total_minor",
            "paid_minor",
            "parent_order_id",
            "split_kind",
            "created_at",
        )
    } | {
        "lines": [
            {
                "id": ln["id"],
                "line_no": ln["line_no"],
                "item_id": ln["item_id"],
                "qty": ln["qty"],
                "unit_price_minor": ln["unit_price_minor"],
            }
            for ln in order["lines"]
        ]
    }
