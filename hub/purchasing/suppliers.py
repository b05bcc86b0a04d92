"""Suppliers, what each sells us (case packs) and at what cost (price lists with validity).

Every function takes an open connection; changes run inside the caller's ``db.write()`` transaction, record a
fact and an audit entry, and never commit."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from typing import Any

from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.purchasing import rules

SUPPLIER_FIELDS = (
    "code",
    "name",
    "contact_name",
    "phone",
    "email",
    "lead_time_days",
    "lead_time_sd_days",
    "min_order_minor",
    "payment_terms",
    "active",
)
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_supplier(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Cleaned supplier fields, or ValidationError with per-field details (shared by the routes and the CSV)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def want(name: str) -> bool:
        return name in data or not partial

    if want("code"):
        code = str(data.get("code") or "").strip()
        if not _CODE.match(code):
            errors["code"] = "1-32 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
        out["code"] = code
    if want("name"):
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            errors["name"] = "required, at most 200 characters"
        out["name"] = name
    for f, n in (("contact_name", 200), ("phone", 40), ("payment_terms", 100), ("email", 200)):
        if want(f):
            v = data.get(f) or ""
            if not isinstance(v, str) or len(v) > n:
                errors[f] = f"text of at most {n} characters"
            out[f] = v.strip() if isinstance(v, str) else v
    if out.get("email") and not _EMAIL.match(out["email"]):
        errors["email"] = "not an e-mail address"
    if want("lead_time_days"):
        v = data.get("lead_time_days")
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 365:
            errors["lead_time_days"] = "whole days 0-365 (the supplier's promise)"
        out["lead_time_days"] = v
    if want("lead_time_sd_days"):
        v = data.get("lead_time_sd_days", 0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 365:
            errors["lead_time_sd_days"] = "days 0-365"
        out["lead_time_sd_days"] = v
    if want("min_order_minor"):
        v = data.get("min_order_minor", 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            errors["min_order_minor"] = "a whole number >= 0 (minor units)"
        out["min_order_minor"] = v
    if want("active"):
        v = data.get("active", True)
        if not isinstance(v, bool):
            errors["active"] = "true or false"
        out["active"] = v
    if errors:
        raise ValidationError("invalid supplier", details=errors)
    return out


def _supplier(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["active"] = bool(d["active"])
    return d


def get(conn: sqlite3.Connection, supplier_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM suppliers WHERE id = ?", (supplier_id,)).fetchone()
    if row is None:
        raise NotFound(f"no supplier {supplier_id}", code="supplier_not_found")
    return _supplier(row)


def get_by_code(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM suppliers WHERE code = ?", (code,)).fetchone()
    return _supplier(row) if row else None


def list_suppliers(conn: sqlite3.Connection, *, active_only: bool = False) -> list[dict[str, Any]]:
    where = " WHERE active = 1" if active_only else ""
    return [_supplier(r) for r in conn.execute(f"SELECT * FROM suppliers{where} ORDER BY code")]


def upsert(
    conn: sqlite3.Connection, data: dict[str, Any], *, actor: str, device: str | None = None, audit_it: bool = True
) -> dict[str, Any]:
    """Create a supplier, or update the one with this code (fields left out keep their values)."""
    code = str(data.get("code") or "").strip()
    before = get_by_code(conn, code) if code else None
    clean = validate_supplier(data, partial=before is not None)
    ts = now_iso()
    if before is None:
        sid = new_id()
        cols = list(SUPPLIER_FIELDS)
        conn.execute(
            f"INSERT INTO suppliers(id, {', '.join(cols)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * (len(cols) + 3))})",
            [sid] + [clean[c] for c in cols] + [ts, ts],
        )
    else:
        sid = before["id"]
        changes = {k: v for k, v in clean.items() if before.get(k) != v}
        if not changes:
            return before
        conn.execute(
            f"UPDATE suppliers SET {', '.join(f'{k} = ?' for k in changes)}, updated_at = ? WHERE id = ?",
            [*changes.values(), ts, sid],
        )
    sup = get(conn, sid)
    outbox.record(conn, "supplier.upsert", sup, ts=ts)
    if audit_it:
        audit.log(
            conn,
            actor=actor,
            device=device,
            action="supplier.create" if before is None else "supplier.update",
            target=sid,
            details={"code": sup["code"]},
        )
    return sup


# ---------------------------------------------------------------- what a supplier sells us
def validate_supplier_item(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    sku = data.get("supplier_sku") or ""
    if not isinstance(sku, str) or len(sku) > 64:
        errors["supplier_sku"] = "text of at most 64 characters"
    out["supplier_sku"] = sku.strip() if isinstance(sku, str) else sku
    cg = data.get("case_gtin")
    if cg in (None, ""):
        out["case_gtin"] = None
    else:
        try:
            out["case_gtin"] = rules.case_gtin(cg)
        except ValidationError as exc:
            errors["case_gtin"] = exc.message
    units = data.get("case_units", 1)
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= 100_000:
        errors["case_units"] = "units in one case: a whole number 1-100000"
    out["case_units"] = units
    if out.get("case_gtin") and units == 1:
        errors["case_units"] = "a case GTIN needs the number of units in the case (more than 1)"
    pref = data.get("preferred", False)
    if not isinstance(pref, bool):
        errors["preferred"] = "true or false"
    out["preferred"] = pref
    cost = data.get("cost_minor")
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int) or cost < 0):
        errors["cost_minor"] = "a whole number >= 0 (minor units per piece, or per kg)"
    out["cost_minor"] = cost
    for f in ("valid_from", "valid_to"):
        v = data.get(f)
        if v in (None, ""):
            out[f] = None
            continue
        try:
            out[f] = date.fromisoformat(str(v)).isoformat()
        except ValueError:
            errors[f] = "a date YYYY-MM-DD"
    if out.get("valid_from") and out.get("valid_to") and out["valid_to"] < out["valid_from"]:
        errors["valid_to"] = "before valid_from"
    if (out.get("valid_from") or out.get("valid_to")) and cost is None:
        errors["cost_minor"] = "a validity needs a cost"
    if errors:
        raise ValidationError("invalid supplier item", details=errors)
    return out


def set_item(
    conn: sqlite3.Connection,
    supplier_id: str,
    item_id: str,
    data: dict[str, Any],
    *,
    actor: str,
    device: str | None = None,
    today: str,
    audit_it: bool = True,
) -> dict[str, Any]:
    """Say that the supplier sells the item: its article code, case pack, preferred flag and (optionally) a cost
    valid from a day (default today) until a day or until replaced."""
    get(conn, supplier_id)
    if conn.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
        raise NotFound(f"no item {item_id}", code="item_not_found")
    clean = validate_supplier_item(data)
    if clean["case_gtin"]:
        owner = conn.execute(
            "SELECT supplier_id, item_id FROM supplier_items WHERE case_gtin = ?", (clean["case_gtin"],)
        ).fetchone()
        if owner and (owner[0], owner[1]) != (supplier_id, item_id):
            raise Conflict(
                f"case GTIN {clean['case_gtin']} already names another supplier item",
                code="case_gtin_taken",
                details={"supplier_id": owner[0], "item_id": owner[1]},
            )
        if conn.execute("SELECT 1 FROM item_gtins WHERE gtin = ?", (clean["case_gtin"],)).fetchone():
            raise Conflict(
                f"case GTIN {clean['case_gtin']} is an item's own GTIN in the catalog", code="case_gtin_taken"
            )
    ts = now_iso()
    if clean["preferred"]:
        conn.execute(
            "UPDATE supplier_items SET preferred = 0 WHERE item_id = ? AND supplier_id != ?", (item_id, supplier_id)
        )
    conn.execute(
        "INSERT INTO supplier_items(supplier_id, item_id, supplier_sku, case_gtin, case_units, preferred, updated_at)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT(supplier_id, item_id) DO UPDATE SET supplier_sku = excluded.supplier_sku,"
        " case_gtin = excluded.case_gtin, case_units = excluded.case_units, preferred = excluded.preferred,"
        " updated_at = excluded.updated_at",
        (
            supplier_id,
            item_id,
            clean["supplier_sku"],
            clean["case_gtin"],
            clean["case_units"],
            int(clean["preferred"]),
            ts,
        ),
    )
    if clean["cost_minor"] is not None:
        frm = clean["valid_from"] or today
        conn.execute(
            "INSERT INTO supplier_prices(supplier_id, item_id, valid_from, valid_to, cost_minor) "
            "VALUES (?,?,?,?,?) ON CONFLICT(supplier_id, item_id, valid_from) DO UPDATE SET "
            "valid_to = excluded.valid_to, cost_minor = excluded.cost_minor",
            (supplier_id, item_id, frm, clean["valid_to"], clean["cost_minor"]),
        )
    out = supplier_item(conn, supplier_id, item_id, today=today)
    outbox.record(conn, "supplier.item", out, ts=ts)
    if audit_it:
        audit.log(
            conn,
            actor=actor,
            device=device,
            action="supplier.item",
            target=supplier_id,
            details={
                "item_id": item_id,
                "case_gtin": clean["case_gtin"],
                "case_units": clean["case_units"],
                "cost_minor": clean["cost_minor"],
            },
        )
    return out


def supplier_item(conn: sqlite3.Connection, supplier_id: str, item_id: str, *, today: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM supplier_items WHERE supplier_id = ? AND item_id = ?", (supplier_id, item_id)
    ).fetchone()
    if row is None:
        raise NotFound(
            "the supplier does not sell this item",
            code="supplier_item_not_found",
            details={"supplier_id": supplier_id, "item_id": item_id},
        )
    d = dict(row)
    d["preferred"] = bool(d["preferred"])
    d["cost_minor"] = cost_on(conn, supplier_id, item_id, today)
    d["prices"] = [
        dict(r)
        for r in conn.execute(
            "SELECT valid_from, valid_to, cost_minor FROM supplier_prices WHERE supplier_id = ? AND item_id = ? "
            "ORDER BY valid_from",
            (supplier_id, item_id),
        )
    ]
    return d


def items_of(conn: sqlite3.Connection, supplier_id: str, *, today: str) -> list[dict[str, Any]]:
    get(conn, supplier_id)
    return [
        supplier_item(conn, supplier_id, r[0], today=today)
        for r in conn.execute(
            "SELECT si.item_id FROM supplier_items si JOIN items i ON i.id = si.item_id WHERE si.supplier_id = ? "
            "ORDER BY i.sku",
            (supplier_id,),
        )
    ]


def cost_on(conn: sqlite3.Connection, supplier_id: str, item_id: str, day: str) -> int | None:
    """The supplier's unit cost valid on ``day``: the latest list entry started by then and not yet ended."""
    row = conn.execute(
        "SELECT cost_minor FROM supplier_prices WHERE supplier_id = ? AND item_id = ? AND valid_from <= ? "
        "AND (valid_to IS NULL OR valid_to >= ?) ORDER BY valid_from DESC LIMIT 1",
        (supplier_id, item_id, day, day),
    ).fetchone()
    return row[0] if row else None


def by_case_gtin(conn: sqlite3.Connection, gtin14: str) -> dict[str, Any] | None:
    """The supplier item a case GTIN names (one indexed lookup), or None."""
    row = conn.execute("SELECT * FROM supplier_items WHERE case_gtin = ?", (gtin14,)).fetchone()
    return dict(row) if row else None
