"""Purchase orders: draft → submitted for approval (value limits) → approved → sent → partly received →
received → closed; cancelled with a reason from any step before goods arrived.

Every step is audited (``po.<step>``) and recorded as a ``po.step`` fact carrying the whole order, so the
central can keep its copy by upserting. Functions take an open connection inside the caller's ``db.write()``
transaction and never commit. Quantities are base units (pieces, or grams for kg items); unit costs are per
piece or per kg, in minor units."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date
from typing import Any

from hub.kernel import audit, outbox, settings
from hub.kernel.csvsafe import guard_cell
from hub.kernel.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.purchasing import days, rules, suppliers

STATUSES = ("draft", "pending_approval", "approved", "sent", "partly_received", "received", "closed", "cancelled")
OPEN_FOR_RECEIVING = ("approved", "sent", "partly_received")
ORIGINS = ("store", "head_office", "replenishment")
STEPS = ("created", "edited", "submitted", "approved", "sent", "received", "closed", "cancelled")
CREATE_ROLE = "supervisor"


def get(conn: sqlite3.Connection, po_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM purchase_orders WHERE id = ?", (po_id,)).fetchone()
    if row is None:
        raise NotFound(f"no purchase order {po_id}", code="po_not_found")
    po = dict(row)
    sup = conn.execute(
        "SELECT code, name, lead_time_days, payment_terms FROM suppliers WHERE id = ?", (po["supplier_id"],)
    ).fetchone()
    po["supplier"] = dict(sup)
    po["lines"] = [
        dict(r, remaining=max(r["qty"] - r["received"], 0))
        for r in conn.execute(
            "SELECT l.line_no, l.item_id, i.sku, i.name_en, i.name_zh, i.unit, l.qty, l.case_units, l.unit_cost_minor,"
            " l.received, si.case_gtin, si.supplier_sku FROM po_lines l JOIN items i ON i.id = l.item_id"
            " LEFT JOIN supplier_items si ON si.supplier_id = ? AND si.item_id = l.item_id"
            " WHERE l.po_id = ? ORDER BY l.line_no",
            (po["supplier_id"], po_id),
        )
    ]
    po["approvals"] = [
        dict(r)
        for r in conn.execute(
            "SELECT step, approved_by, role, ts FROM po_approvals WHERE po_id = ? ORDER BY step", (po_id,)
        )
    ]
    return po


def find_by_number(conn: sqlite3.Connection, number: str) -> dict[str, Any]:
    row = conn.execute("SELECT id FROM purchase_orders WHERE number = ?", (number.strip().upper(),)).fetchone()
    if row is None:
        raise NotFound(f"no purchase order {number}", code="po_not_found")
    return get(conn, row[0])


def list_orders(
    conn: sqlite3.Connection,
    *,
    status: list[str] | None = None,
    supplier_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    where, args = [], []
    if status:
        where.append(f"p.status IN ({','.join('?' * len(status))})")
        args += status
    if supplier_id:
        where.append("p.supplier_id = ?")
        args.append(supplier_id)
    w = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM purchase_orders p{w}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT p.id, p.number, p.status, p.origin, p.supplier_id, s.code AS supplier_code, s.name AS supplier_name,"
        f" p.expected_date, p.total_minor, p.currency, p.created_at FROM purchase_orders p"
        f" JOIN suppliers s ON s.id = p.supplier_id{w} ORDER BY p.created_at DESC, p.id DESC LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [dict(r) for r in rows], total


def _record(
    conn: sqlite3.Connection,
    po_id: str,
    step: str,
    *,
    actor: str,
    device: str | None,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    po = get(conn, po_id)
    ts = now_iso()
    payload = {"step": step, "po": po, "actor": actor, "reason": reason, "ts": ts, **(extra or {})}
    outbox.record(conn, "po.step", payload, ts=ts)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action=f"po.{step}",
        target=po_id,
        details={
            "number": po["number"],
            "status": po["status"],
            "total_minor": po["total_minor"],
            **({"reason": reason} if reason else {}),
            **(extra or {}),
        },
    )
    return po


def _clean_lines(
    conn: sqlite3.Connection, supplier_id: str, lines: list[dict[str, Any]], *, day: str
) -> list[dict[str, Any]]:
    """Order lines as stored: qty in base units (``cases`` × case pack, or ``qty``), cost from the supplier's
    price list on ``day`` unless given, else the item's catalog cost; each item once, sold by the supplier."""
    if not lines:
        raise ValidationError("an order needs at least one line", code="po_empty")
    out, seen = [], set()
    for n, line in enumerate(lines, start=1):
        item_id = line.get("item_id")
        if item_id in seen:
            raise ValidationError(
                f"line {n}: the item is already on line {[x['item_id'] for x in out].index(item_id) + 1}",
                code="po_duplicate_item",
                details={"line": n},
            )
        seen.add(item_id)
        si = conn.execute(
            "SELECT si.case_units, i.cost_minor, i.active FROM supplier_items si JOIN items i"
            " ON i.id = si.item_id WHERE si.supplier_id = ? AND si.item_id = ?",
            (supplier_id, item_id),
        ).fetchone()
        if si is None:
            raise Unprocessable(
                f"line {n}: this supplier does not sell the item (add it to the supplier first)",
                code="item_not_from_supplier",
                details={"line": n, "item_id": item_id},
            )
        if line.get("cases") is not None:
            qty = line["cases"] * si["case_units"]
        else:
            qty = line.get("qty")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise ValidationError(
                f"line {n}: a quantity (qty > 0, or cases > 0) is needed", code="invalid_qty", details={"line": n}
            )
        cost = line.get("unit_cost_minor")
        if cost is None:
            cost = suppliers.cost_on(conn, supplier_id, item_id, day)
        if cost is None:
            cost = si["cost_minor"]
        out.append({"item_id": item_id, "qty": qty, "case_units": si["case_units"], "unit_cost_minor": cost})
    return out


def _write_lines(conn: sqlite3.Connection, po_id: str, lines: list[dict[str, Any]]) -> int:
    conn.execute("DELETE FROM po_lines WHERE po_id = ?", (po_id,))
    total = 0
    for n, line in enumerate(lines, start=1):
        conn.execute(
            "INSERT INTO po_lines(po_id, line_no, item_id, qty, case_units, unit_cost_minor) VALUES (?,?,?,?,?,?)",
            (po_id, n, line["item_id"], line["qty"], line["case_units"], line["unit_cost_minor"]),
        )
        unit = conn.execute("SELECT unit FROM items WHERE id = ?", (line["item_id"],)).fetchone()[0]
        total += rules.line_value(unit, line["qty"], line["unit_cost_minor"])
    conn.execute("UPDATE purchase_orders SET total_minor = ?, updated_at = ? WHERE id = ?", (total, now_iso(), po_id))
    return total


def _check_role(role: str, needed: str, what: str) -> None:
    if not rules.has_role(role, needed):
        raise Forbidden(f"{what} needs the {needed} role", code="wrong_role", details={"needed": needed, "have": role})


def create(
    conn: sqlite3.Connection,
    *,
    supplier_id: str,
    lines: list[dict[str, Any]],
    actor: str,
    role: str,
    idempotency_key: str,
    origin: str = "store",
    expected_date: str | None = None,
    note: str = "",
    device: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """A draft order (idempotent by key: the same key returns the order it made). Returns (order, created)."""
    _check_role(role, CREATE_ROLE, "creating a purchase order")
    dup = conn.execute("SELECT id FROM purchase_orders WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
    if dup is not None:
        return get(conn, dup[0]), False
    sup = suppliers.get(conn, supplier_id)
    if not sup["active"]:
        raise Unprocessable(f"supplier {sup['code']} is not active", code="supplier_inactive")
    if origin not in ORIGINS:
        raise ValidationError(f"origin is one of {', '.join(ORIGINS)}", code="invalid_origin")
    day = days.today(conn).isoformat()
    clean = _clean_lines(conn, supplier_id, lines, day=day)
    if expected_date is None:
        expected_date = date.fromordinal(days.today(conn).toordinal() + sup["lead_time_days"]).isoformat()
    po_id, ts = new_id(), now_iso()
    last = conn.execute("SELECT MAX(CAST(substr(number, 4) AS INTEGER)) FROM purchase_orders").fetchone()[0] or 0
    conn.execute(
        "INSERT INTO purchase_orders(id, number, supplier_id, status, origin, expected_date, currency, note,"
        " idempotency_key, created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            po_id,
            f"PO-{last + 1:06d}",
            supplier_id,
            "draft",
            origin,
            expected_date,
            settings.get(conn, "currency"),
            note,
            idempotency_key,
            actor,
            ts,
            ts,
        ),
    )
    _write_lines(conn, po_id, clean)
    return _record(conn, po_id, "created", actor=actor, device=device), True


def _in_status(po: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    if po["status"] not in allowed:
        raise Conflict(
            f"{po['number']} is {po['status']}; {what} needs it {' or '.join(allowed)}",
            code="po_wrong_status",
            details={"status": po["status"], "allowed": list(allowed)},
        )


def set_lines(
    conn: sqlite3.Connection,
    po_id: str,
    lines: list[dict[str, Any]],
    *,
    actor: str,
    role: str,
    device: str | None = None,
) -> dict[str, Any]:
    _check_role(role, CREATE_ROLE, "editing a purchase order")
    po = get(conn, po_id)
    _in_status(po, ("draft",), "changing its lines")
    _write_lines(conn, po_id, _clean_lines(conn, po["supplier_id"], lines, day=days.today(conn).isoformat()))
    return _record(conn, po_id, "edited", actor=actor, device=device)


def submit(conn: sqlite3.Connection, po_id: str, *, actor: str, role: str, device: str | None = None) -> dict[str, Any]:
    """Ask for approval: the order's value decides how many approvals it needs and from whom (rules.approval_plan,
    with the store's declared limits)."""
    _check_role(role, CREATE_ROLE, "submitting a purchase order")
    po = get(conn, po_id)
    _in_status(po, ("draft",), "submitting")
    plan = rules.approval_plan(
        po["total_minor"],
        supervisor_limit_minor=settings.get(conn, "purchasing.supervisor_limit_minor"),
        two_step_above_minor=settings.get(conn, "purchasing.two_step_above_minor"),
    )
    conn.execute(
        "UPDATE purchase_orders SET status = 'pending_approval', approvals_needed = ?, approval_role = ?,"
        " updated_at = ? WHERE id = ?",
        (plan.steps, plan.first_role, now_iso(), po_id),
    )
    return _record(
        conn,
        po_id,
        "submitted",
        actor=actor,
        device=device,
        extra={"approvals_needed": plan.steps, "first_role": plan.first_role, "second_role": plan.second_role},
    )


def approve(
    conn: sqlite3.Connection, po_id: str, *, actor: str, role: str, device: str | None = None
) -> dict[str, Any]:
    """One approval step. A second approval of a one-step order, a second approval by the same person, or an
    approval below the role the step needs is refused with a clear code; nothing changes."""
    po = get(conn, po_id)
    if po["status"] in ("approved", "sent", "partly_received", "received", "closed"):
        approvers = [a["approved_by"] for a in po["approvals"]]
        raise Conflict(
            f"{po['number']} is already approved",
            code="po_already_approved",
            details={"status": po["status"], "approved_by": approvers},
        )
    _in_status(po, ("pending_approval",), "approving")
    step = len(po["approvals"]) + 1
    plan = rules.approval_plan(
        po["total_minor"],
        supervisor_limit_minor=settings.get(conn, "purchasing.supervisor_limit_minor"),
        two_step_above_minor=settings.get(conn, "purchasing.two_step_above_minor"),
    )
    needed = plan.first_role if step == 1 else (plan.second_role or plan.first_role)
    if any(a["approved_by"] == actor for a in po["approvals"]):
        raise Conflict(
            f"you already approved {po['number']}; the next approval needs another person",
            code="po_already_approved_by_you",
            details={"step": step, "needed": needed},
        )
    if not rules.has_role(role, needed):
        raise Forbidden(
            f"approving {po['number']} ({po['total_minor']} minor units) needs the {needed} role",
            code="approval_limit",
            details={"needed": needed, "have": role, "step": step, "total_minor": po["total_minor"]},
        )
    ts = now_iso()
    conn.execute(
        "INSERT INTO po_approvals(po_id, step, approved_by, role, ts) VALUES (?,?,?,?,?)",
        (po_id, step, actor, role, ts),
    )
    done = step >= po["approvals_needed"]
    if done:
        conn.execute("UPDATE purchase_orders SET status = 'approved', updated_at = ? WHERE id = ?", (ts, po_id))
    return _record(
        conn,
        po_id,
        "approved",
        actor=actor,
        device=device,
        extra={"approval_step": step, "approvals_needed": po["approvals_needed"]},
    )


def send(conn: sqlite3.Connection, po_id: str, *, actor: str, role: str, device: str | None = None) -> dict[str, Any]:
    """Mark the order sent to the supplier (the CSV is what goes; see :func:`to_csv`)."""
    _check_role(role, "supervisor", "sending a purchase order")
    po = get(conn, po_id)
    _in_status(po, ("approved",), "sending")
    ts = now_iso()
    conn.execute(
        "UPDATE purchase_orders SET status = 'sent', sent_at = ?, updated_at = ? WHERE id = ?", (ts, ts, po_id)
    )
    return _record(conn, po_id, "sent", actor=actor, device=device)


def cancel(
    conn: sqlite3.Connection, po_id: str, *, reason: str, actor: str, role: str, device: str | None = None
) -> dict[str, Any]:
    """Cancel with a reason, before anything was received (a partly received order is closed instead)."""
    po = get(conn, po_id)
    if not (rules.has_role(role, "supervisor") or (po["created_by"] == actor and po["status"] == "draft")):
        raise Forbidden(
            "cancelling a purchase order needs a supervisor (or its creator, while a draft)",
            code="wrong_role",
            details={"needed": "supervisor", "have": role},
        )
    _in_status(po, ("draft", "pending_approval", "approved", "sent"), "cancelling")
    if conn.execute("SELECT 1 FROM po_receipts WHERE po_id = ? AND status = 'open'", (po_id,)).fetchone():
        raise Conflict("a receiving of this order is open; confirm or cancel it first", code="po_receiving_open")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("a reason is required", code="reason_required")
    conn.execute(
        "UPDATE purchase_orders SET status = 'cancelled', cancel_reason = ?, updated_at = ? WHERE id = ?",
        (reason, now_iso(), po_id),
    )
    return _record(conn, po_id, "cancelled", actor=actor, device=device, reason=reason)


def close(
    conn: sqlite3.Connection, po_id: str, *, reason: str, actor: str, role: str, device: str | None = None
) -> dict[str, Any]:
    """Close a received or partly received order: nothing more is expected (a shortfall stays on record)."""
    _check_role(role, "supervisor", "closing a purchase order")
    po = get(conn, po_id)
    _in_status(po, ("partly_received", "received"), "closing")
    if conn.execute("SELECT 1 FROM po_receipts WHERE po_id = ? AND status = 'open'", (po_id,)).fetchone():
        raise Conflict("a receiving of this order is open; confirm or cancel it first", code="po_receiving_open")
    conn.execute("UPDATE purchase_orders SET status = 'closed', updated_at = ? WHERE id = ?", (now_iso(), po_id))
    return _record(conn, po_id, "closed", actor=actor, device=device, reason=(reason or "").strip() or None)


def after_receipt(
    conn: sqlite3.Connection, po_id: str, *, receipt_id: str, actor: str, device: str | None
) -> dict[str, Any]:
    """Move the order to received (every line complete) or partly received, after a receipt's quantities were
    added to its lines."""
    open_lines = conn.execute("SELECT COUNT(*) FROM po_lines WHERE po_id = ? AND received < qty", (po_id,)).fetchone()[
        0
    ]
    status = "partly_received" if open_lines else "received"
    conn.execute("UPDATE purchase_orders SET status = ?, updated_at = ? WHERE id = ?", (status, now_iso(), po_id))
    return _record(conn, po_id, "received", actor=actor, device=device, extra={"receipt_id": receipt_id})


# ---------------------------------------------------------------- the document sent to the supplier
_HEADINGS = {
    "en": {
        "title": "Purchase order",
        "supplier": "Supplier",
        "expected": "Expected",
        "terms": "Payment terms",
        "line": "Line",
        "sku": "Our SKU",
        "supplier_sku": "Supplier SKU",
        "name": "Item",
        "cases": "Cases",
        "case_units": "Units per case",
        "qty": "Quantity",
        "unit": "Unit",
        "cost": "Unit cost",
        "value": "Line value",
        "total": "Total",
        "currency": "Currency",
    },
    "zh-CN": {
        "title": "采购订单",
        "supplier": "供应商",
        "expected": "预计到货",
        "terms": "付款条件",
        "line": "行",
        "sku": "本店货号",
        "supplier_sku": "供应商货号",
        "name": "商品",
        "cases": "箱数",
        "case_units": "每箱数量",
        "qty": "数量",
        "unit": "单位",
        "cost": "单价",
        "value": "金额",
        "total": "合计",
        "currency": "币种",
    },
}


def _money(minor: int, exponent: int) -> str:
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10**exponent)
    return f"{sign}{q}.{r:0{exponent}d}" if exponent else f"{sign}{q}"


def to_csv(conn: sqlite3.Connection, po_id: str, *, lang: str = "en") -> str:
    """The order as the CSV sent to the supplier, headed in English or Chinese; text cells formula-guarded."""
    if lang not in _HEADINGS:
        raise ValidationError("lang is en or zh-CN", code="invalid_language")
    h = _HEADINGS[lang]
    po = get(conn, po_id)
    exp = settings.get(conn, "currency_exponent")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([h["title"], po["number"]])
    w.writerow([h["supplier"], guard_cell(po["supplier"]["code"]), guard_cell(po["supplier"]["name"])])
    w.writerow([h["expected"], po["expected_date"] or ""])
    w.writerow([h["terms"], guard_cell(po["supplier"]["payment_terms"])])
    w.writerow([h["currency"], po["currency"]])
    w.writerow([])
    w.writerow(
        [h[k] for k in ("line", "sku", "supplier_sku", "name", "cases", "case_units", "qty", "unit", "cost", "value")]
    )
    for ln in po["lines"]:
        name = (ln["name_zh"] or ln["name_en"]) if lang == "zh-CN" else (ln["name_en"] or ln["name_zh"])
        cases = ln["qty"] // ln["case_units"] if ln["qty"] % ln["case_units"] == 0 else ""
        w.writerow(
            [
                ln["line_no"],
                guard_cell(ln["sku"]),
                guard_cell(ln["supplier_sku"] or ""),
                guard_cell(name),
                cases,
                ln["case_units"],
                ln["qty"],
                "g" if ln["unit"] == "kg" else ln["unit"],
                _money(ln["unit_cost_minor"], exp),
                _money(rules.line_value(ln["unit"], ln["qty"], ln["unit_cost_minor"]), exp),
            ]
        )
    w.writerow([h["total"], "", "", "", "", "", "", "", "", _money(po["total_minor"], exp)])
    return out.getvalue()
