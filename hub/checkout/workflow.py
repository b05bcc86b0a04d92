"""The checkout's sequences — the only module here that strings steps together (leaves never import it).

* ``tender``: a payment on a cart (persisted state machine) → the sale commits when nothing is left due.
* ``complete_sale``: one write transaction — gapless receipt number, ``sale`` movements through the ledger,
  the journal entry, sale rows, tenders tied to the sale, the ``sale.completed`` fact, the receipt print
  request (with the drawer pulse for cash) and the live cart for the customer display.
* ``return_goods``: goods back by the receipt code → refund of what was really paid, to the original tenders,
  stock back (restock) or written off, journal, fact, slip.
* ``z_report``/``x_report``, ``no_sale``, ``reprint``.
Every function runs inside the caller's ``db.write()`` and never commits."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.auth import users
from hub.checkout import approvals, cart, journal, pricing, receipts, reports, rules, tenders, tills
from hub.inventory import ledger, locations
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, NotFound, Unprocessable, ValidationError
from hub.members import workflow as loyalty
from hub.orders.printing import Store
from hub.promotions import coupons as promo_coupons
from hub.promotions import engine
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso


def _name_of(conn: sqlite3.Connection, user_id: str | None) -> str:
    if not user_id:
        return ""
    r = conn.execute("SELECT display_name, username FROM users WHERE id = ?", (user_id,)).fetchone()
    return (users.display_name(conn, user_id, r[0]) or r[1]) if r else user_id


def _sale_location(conn: sqlite3.Connection) -> str:
    code = settings.get(conn, "checkout.sale_location")
    loc = locations.get_by_code(conn, code)
    if loc is None:
        raise Conflict(f"the sale location {code} does not exist: set checkout.sale_location", code="no_sale_location")
    return str(loc["id"])


def _remember(conn: sqlite3.Connection, key: str, action: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT action, result FROM checkout_idempotency WHERE key = ?", (key,)).fetchone()
    if r is None:
        return None
    if r[0] != action:
        raise Conflict("idempotency key already used for something else", code="idempotency_conflict")
    return dict(json.loads(r[1]))


def _keep(conn: sqlite3.Connection, key: str, action: str, result: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO checkout_idempotency(key, action, result, created_at) VALUES (?,?,?,?)",
        (key, action, json.dumps(result, ensure_ascii=False), now_iso()),
    )


# --- tenders and the sale -------------------------------------------------------------------------------------


def tender(
    conn: sqlite3.Connection,
    cart_id: str,
    *,
    method: str,
    idempotency_key: str,
    actor: str,
    amount_minor: int | None = None,
    received_minor: int | None = None,
    approval_code: str | None = None,
    card_last4: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Take a payment on the cart; the sale commits as soon as nothing is left due. A second call with the
    same key (double tap, retry after a lost answer) returns the first outcome and pays nothing twice."""
    otn = tenders.out_trade_no(idempotency_key)
    seen = tenders.by_out_trade_no(conn, otn)
    if seen is not None:
        if seen["cart_id"] != cart_id:
            raise Conflict("idempotency key already used for another cart", code="idempotency_conflict")
        return _outcome(conn, cart_id, seen)
    m = tenders.method(method)
    c = cart.get_row(conn, cart_id)
    if c["status"] != "open":
        raise Conflict(
            f"cart {c['code']} is {c['status']}: only the till's open cart is paid",
            code="cart_not_open",
            details={"status": c["status"]},
        )
    date, shift = tills.require_selling(conn, c["till_id"])
    v = cart.view(conn, cart_id)
    if not v["lines"]:
        raise Unprocessable("the cart is empty", code="cart_empty")
    if any(t["state"] in ("requesting", "unknown") for t in v["tenders"]):
        raise Conflict("another payment on this cart is under way: finish or cancel it first", code="tender_pending")
    due = v["due_minor"]
    priced = pricing.part_of(v)  # the lines do not change from here to the commit
    if due <= 0:
        return _finish(conn, cart_id, actor=actor, device=device, tender=None, priced=priced)
    common = dict(
        out_trade_no=otn,
        method_name=method,
        till_id=c["till_id"],
        business_date=date,
        shift_id=shift["id"],
        actor=actor,
        cart_id=cart_id,
    )
    if m.settles_at_once:
        rounding = settings.get(conn, "checkout.cash_rounding")
        given = received_minor if received_minor is not None else amount_minor
        if given is None:
            given = rules.round_cash(due, rounding["step_minor"], rounding["mode"])
        if given <= 0:
            raise ValidationError("cash received must be more than 0", code="bad_amount")
        amount, change, rnd = rules.cash_terms(due, given, rounding["step_minor"], rounding["mode"])
        t = tenders.create(
            conn, amount_minor=amount, received_minor=given, change_minor=change, rounding_minor=rnd, **common
        )
        t = tenders.transition(conn, t["id"], "paid", actor=actor, detail="cash counted")
    else:
        amount = due if amount_minor is None else amount_minor
        if amount <= 0:
            raise ValidationError("a card payment is more than 0", code="bad_amount")
        if amount > due:
            raise Conflict(
                "a card pays at most what is due (no change from a card)",
                code="tender_exceeds_due",
                details={"due_minor": due},
            )
        t = tenders.create(conn, amount_minor=amount, **common)
        t = tenders.transition(
            conn,
            t["id"],
            "requesting",
            actor=actor,
            detail="amount keyed into the terminal" if m.terminal else "sent to the provider",
        )
        if approval_code:
            t = _approve_card(conn, t["id"], approval_code, card_last4, actor)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.tender",
        target=cart_id,
        details={"method": method, "amount_minor": t["amount_minor"], "state": t["state"], "out_trade_no": otn},
    )
    return _outcome(conn, cart_id, t, device=device, priced=priced)


def _approve_card(
    conn: sqlite3.Connection, tender_id: str, approval_code: str | None, card_last4: str | None, actor: str
) -> dict[str, Any]:
    code = (approval_code or "").strip()
    last4 = (card_last4 or "").strip()
    if not code or len(code) > 12 or not code.isalnum():
        raise ValidationError("the terminal's approval code is 1-12 letters or digits", code="bad_approval_code")
    if len(last4) != 4 or not last4.isdigit():
        raise ValidationError("the card's last 4 digits", code="bad_card_last4")
    return tenders.transition(
        conn, tender_id, "paid", actor=actor, approval_code=code, card_last4=last4, detail="approved at the terminal"
    )


def _outcome(
    conn: sqlite3.Connection,
    cart_id: str,
    t: dict[str, Any],
    *,
    device: str | None = None,
    priced: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """After a tender: commit the sale if it is now settled; answer with cart, tender and sale. A tender
    never changes the lines, so the cart is priced once here (or ``priced`` by the caller) and reused."""
    c = cart.get_row(conn, cart_id)
    if c["status"] == "open" and t["state"] == "paid":
        v = cart.view(conn, cart_id, priced=priced)
        priced = pricing.part_of(v)
        if v["due_minor"] <= 0:
            return _finish(conn, cart_id, actor=t["actor"], device=device, tender=t, priced=priced)
        cart.touched(conn, cart_id, priced=priced)
    return {
        "cart": cart.view(conn, cart_id, priced=priced),
        "tender": tenders.public(tenders.get(conn, t["id"])),
        "sale": sale_summary(conn, c["sale_id"]) if c["sale_id"] else None,
    }


def _finish(
    conn: sqlite3.Connection,
    cart_id: str,
    *,
    actor: str,
    device: str | None,
    tender: dict[str, Any] | None,
    priced: dict[str, Any] | None = None,
) -> dict[str, Any]:
    sale = complete_sale(conn, cart_id, actor=actor, device=device, priced=priced)
    return {
        "cart": cart.view(conn, cart_id, priced=priced),
        "tender": tenders.public(tenders.get(conn, tender["id"])) if tender else None,
        "sale": sale,
    }


def confirm_tender(
    conn: sqlite3.Connection,
    tender_id: str,
    *,
    approval_code: str,
    card_last4: str,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """The terminal approved: record its approval code and the card's last 4 digits (idempotent)."""
    t = tenders.get(conn, tender_id)
    if t["state"] != "paid":
        t = _approve_card(conn, tender_id, approval_code, card_last4, actor)
    return _outcome(conn, t["cart_id"], t, device=device)


def cancel_tender(
    conn: sqlite3.Connection, tender_id: str, *, actor: str, reason: str = "", device: str | None = None
) -> dict[str, Any]:
    """Take back a tender before the sale commits: a pending one is cancelled, a paid one reversed (the
    cashier hands the cash back or voids the card payment on the terminal)."""
    t = tenders.get(conn, tender_id)
    c = cart.get_row(conn, t["cart_id"])
    if c["status"] != "open" or t["sale_id"]:
        raise Conflict("the sale is committed: take goods back with a return", code="sale_committed")
    to = {"created": "cancelled", "requesting": "cancelled", "paid": "reversed", "unknown": "reversed"}.get(t["state"])
    if to is None:
        return _outcome(conn, c["id"], t)
    t = tenders.transition(conn, tender_id, to, actor=actor, detail=reason[:200] or None)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.tender_" + to,
        target=c["id"],
        details={"tender_id": tender_id, "method": t["method"], "amount_minor": t["amount_minor"]},
    )
    cart.touched(conn, c["id"])
    return _outcome(conn, c["id"], t)


def complete_sale(
    conn: sqlite3.Connection,
    cart_id: str,
    *,
    actor: str,
    device: str | None = None,
    priced: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Commit the cart as a sale (see the module docstring). Completing a completed cart returns its sale.
    ``priced``: the price the tender already took of these lines in this transaction; the journal, the sale
    rows, the fact and the receipt all record that one price."""
    c = cart.get_row(conn, cart_id)
    if c["status"] == "completed":
        return sale_summary(conn, c["sale_id"])
    if c["status"] != "open":
        raise Conflict(f"cart {c['code']} is {c['status']}", code="cart_not_open")
    date, shift = tills.require_selling(conn, c["till_id"])
    v = cart.view(conn, cart_id, priced=priced)
    priced = pricing.part_of(v)
    if not v["lines"]:
        raise Unprocessable("the cart is empty", code="cart_empty")
    paid = [t for t in v["tenders"] if t["state"] == "paid"]
    if any(t["state"] in ("requesting", "unknown") for t in v["tenders"]):
        raise Conflict("a payment on this cart is under way", code="tender_pending")
    if v["due_minor"] > 0:
        raise Conflict(
            f"tenders are short of the total by {v['due_minor']}",
            code="tender_short",
            details={"due_minor": v["due_minor"], "total_minor": v["total_minor"]},
        )
    if v["due_minor"] < 0:
        raise Conflict(
            "tenders exceed the total: reverse one", code="tender_over", details={"due_minor": v["due_minor"]}
        )
    rounding = sum(t["rounding_minor"] for t in paid)
    sale_id, now = new_id(), now_iso()
    # single-use coupons: redeemed in this transaction (the central's reservation taken at tender, else the offline
    # rules); a refused one rolls the sale back (hub/promotions/coupons.py)
    promo_coupons.redeem_cart(
        conn, cart_id, sale_id=sale_id, store_id=str(settings.get(conn, "store_id") or ""), applied=v["applied"]
    )
    receipt_no = tills.next_receipt_no(conn, c["till_id"], date)
    code = rules.receipt_code(c["till_id"], date, receipt_no)
    loc = _sale_location(conn)
    for i, ln in enumerate(v["lines"], start=1):
        ledger.post(
            conn,
            ledger.MovementRequest(
                kind="sale",
                item_id=ln["item_id"],
                location_id=loc,
                qty=ln["qty"],
                reason="sale",
                actor=actor,
                device=device,
                ref=code,
                idempotency_key=f"sale:{sale_id}:{i}",
            ),
        )
    rows = {t["id"]: t for t in tenders.for_cart(conn, cart_id)}  # one query, not one per tender
    tender_rows = [rows[t["id"]] for t in paid]
    lines = [
        {
            "line_no": i,
            "item_id": ln["item_id"],
            "sku": ln["sku"],
            "name_en": ln["name_en"],
            "name_zh": ln["name_zh"],
            "qty": ln["qty"],
            "weighed": ln["weighed"],
            "unit_price_minor": ln["unit_price_minor"],
            "list_price_minor": ln["list_price_minor"],
            "label_price_minor": ln["label_price_minor"],
            "price_override_minor": ln["price_override_minor"],
            "override_reason": ln["override_reason"],
            "gross_minor": ln["gross_minor"],
            "discounts": ln["discounts"],
            "manual_discount_minor": ln["manual_discount_minor"],
            "discount_reason": ln["discount_reason"],
            "discount_minor": ln["discount_minor"],
            "net_minor": ln["net_minor"],
            "tax_rate": ln["tax_rate"],
            "tax_minor": ln["tax_minor"],
        }
        for i, ln in enumerate(v["lines"], start=1)
    ]
    tender_body = [
        {
            "id": t["id"],
            "out_trade_no": t["out_trade_no"],
            "method": t["method"],
            "amount_minor": t["amount_minor"],
            "change_minor": t["change_minor"],
            "rounding_minor": t["rounding_minor"],
            "approval_code": t["approval_code"],
            "card_last4": t["card_last4"],
            **{k: t[k] for k in ("card_scheme", "terminal_batch", "provider_ref", "points") if t.get(k) is not None},
        }
        for t in tender_rows
    ]
    body = {
        "sale_id": sale_id,
        "cart_id": cart_id,
        "receipt_code": code,
        "cashier": actor,
        "cashier_name": _name_of(conn, actor),
        "shift_id": shift["id"],
        "currency": settings.get(conn, "currency"),
        "subtotal_minor": v["subtotal_minor"],
        "discount_minor": v["discount_minor"],
        "total_minor": v["total_minor"],
        "rounding_minor": rounding,
        "tendered_minor": v["total_minor"] + rounding,
        "tax": v["tax"],
        "lines": lines,
        "tenders": tender_body,
        "promotions_version": v["promotions_version"],
        "promotions_applied": [
            {"promotion": a["promotion"], "discount_minor": a["discount_minor"]} for a in v["applied"]
        ],
    }
    entry = journal.append(
        conn, "sale", till_id=c["till_id"], business_date=date, receipt_no=receipt_no, ts=now, body=body
    )
    conn.execute(
        "INSERT INTO checkout_sales(id, kind, journal_seq, cart_id, till_id, business_date, receipt_no,"
        " receipt_code, cashier, subtotal_minor, discount_minor, total_minor, rounding_minor, tendered_minor, ts)"
        " VALUES (?,'sale',?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            sale_id,
            entry["seq"],
            cart_id,
            c["till_id"],
            date,
            receipt_no,
            code,
            actor,
            v["subtotal_minor"],
            v["discount_minor"],
            v["total_minor"],
            rounding,
            v["total_minor"] + rounding,
            now,
        ),
    )
    conn.executemany(
        "INSERT INTO checkout_sale_lines(sale_id, line_no, item_id, sku, qty, weighed, gross_minor,"
        " discount_minor, net_minor, tax_minor, tax_rate) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                sale_id,
                ln["line_no"],
                ln["item_id"],
                ln["sku"],
                ln["qty"],
                1 if ln["weighed"] else 0,
                ln["gross_minor"],
                ln["discount_minor"],
                ln["net_minor"],
                ln["tax_minor"],
                ln["tax_rate"],
            )
            for ln in lines
        ],
    )
    conn.execute("UPDATE checkout_tenders SET sale_id = ? WHERE cart_id = ? AND state = 'paid'", (sale_id, cart_id))
    conn.execute("UPDATE checkout_carts SET status = 'completed', sale_id = ? WHERE id = ?", (sale_id, cart_id))
    outbox.record(
        conn,
        "sale.completed",
        {
            "sale_id": sale_id,
            "till_id": c["till_id"],
            "business_date": date,
            "receipt_no": receipt_no,
            "receipt_code": code,
            "ts": now,
            "cashier": actor,
            "subtotal_minor": v["subtotal_minor"],
            "discount_minor": v["discount_minor"],
            "total_minor": v["total_minor"],
            "rounding_minor": rounding,
            "tendered_minor": v["total_minor"] + rounding,
            "currency": body["currency"],
            "tax": v["tax"],
            "lines": [
                {
                    k: ln[k]
                    for k in (
                        "line_no",
                        "item_id",
                        "sku",
                        "qty",
                        "weighed",
                        "gross_minor",
                        "discount_minor",
                        "net_minor",
                        "tax_minor",
                    )
                }
                for ln in lines
            ],
            "tenders": [{k: t[k] for k in ("id", "method", "amount_minor", "change_minor")} for t in tender_body],
            "promotions_version": v["promotions_version"],
            "journal_seq": entry["seq"],
        },
        ts=now,
    )
    till = tills.get_till(conn, c["till_id"])
    doc = receipts.sale_document(
        {**body, "till_id": c["till_id"], "receipt_no": receipt_no, "ts": now},
        Store.from_settings(conn),
        body["currency"],
    )
    receipts.queue(
        conn,
        printer=till["printer_device"],
        till_id=c["till_id"],
        document="receipt",
        body=doc,
        actor=actor,
        device=device,
        sale_id=sale_id,
    )
    loyalty.on_sale_completed(  # points for the cart's member, if any (not on what points paid)
        conn,
        cart_id,
        sale_id,
        lines,
        actor=actor,
        points_paid_minor=sum(t["amount_minor"] for t in tender_rows if t["method"] == "points"),
    )
    cart.touched(conn, cart_id, priced=priced)
    return sale_summary(conn, sale_id)


def sale_summary(conn: sqlite3.Connection, sale_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM checkout_sales WHERE id = ?", (sale_id,)).fetchone()
    if r is None:
        raise NotFound(f"no sale {sale_id}", code="sale_not_found")
    out = dict(r)
    out["change_minor"] = conn.execute(
        "SELECT COALESCE(SUM(change_minor), 0) FROM checkout_tenders WHERE sale_id = ?"
        " AND direction = 'in' AND state = 'paid'",
        (sale_id,),
    ).fetchone()[0]
    out["print_jobs"] = receipts.jobs_for(conn, sale_id)
    return out


def find_sale(conn: sqlite3.Connection, receipt_code: str) -> dict[str, Any]:
    """A sale by its receipt code, with each line's net and what can still come back."""
    text = (receipt_code or "").strip()
    if not rules.RECEIPT_RE.fullmatch(text):
        raise ValidationError(f"{text!r} is not a receipt code (SHR-…)", code="not_a_receipt")
    r = conn.execute("SELECT * FROM checkout_sales WHERE receipt_code = ?", (text,)).fetchone()
    if r is None or r["kind"] != "sale":
        raise NotFound(f"no sale with receipt {text}", code="sale_not_found", details={"code": text})
    sale = dict(r)
    body = journal.entry(conn, sale["journal_seq"])["body"]
    left = {
        x["line_no"]: dict(x)
        for x in conn.execute("SELECT * FROM checkout_sale_lines WHERE sale_id = ?", (sale["id"],))
    }
    sale["lines"] = [
        {
            **ln,
            "returned_qty": left[ln["line_no"]]["returned_qty"],
            "refunded_minor": left[ln["line_no"]]["refunded_minor"],
            "returnable_qty": ln["qty"] - left[ln["line_no"]]["returned_qty"],
        }
        for ln in body["lines"]
    ]
    sale["tenders"] = body["tenders"]
    sale["cashier_name"] = body["cashier_name"]
    return sale


def reprint(conn: sqlite3.Connection, sale_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """Print a committed sale's receipt again, marked as a copy (no drawer kick)."""
    r = conn.execute("SELECT * FROM checkout_sales WHERE id = ?", (sale_id,)).fetchone()
    if r is None:
        raise NotFound(f"no sale {sale_id}", code="sale_not_found")
    body = journal.entry(conn, r["journal_seq"])["body"]
    till = tills.get_till(conn, r["till_id"])
    if not till["printer_device"]:
        raise Unprocessable("this till has no printer", code="no_printer")
    store = Store.from_settings(conn)
    if r["kind"] == "sale":
        doc = receipts.sale_document(
            {**body, "till_id": r["till_id"], "receipt_no": r["receipt_no"], "ts": r["ts"]},
            store,
            body["currency"],
            copy=True,
        )
    else:
        doc = receipts.return_document(
            {**body, "till_id": r["till_id"], "receipt_no": r["receipt_no"], "ts": r["ts"]}, store, body["currency"]
        )
        doc["header"].insert(0, receipts.word(store, "copy"))
        doc["open_drawer"] = False
    job = receipts.queue(
        conn,
        printer=till["printer_device"],
        till_id=r["till_id"],
        document="receipt_copy",
        body=doc,
        actor=actor,
        device=device,
        sale_id=sale_id,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.reprint",
        target=sale_id,
        details={"receipt_code": r["receipt_code"]},
    )
    return {"sale": sale_summary(conn, sale_id), "job": job}


# --- returns ----------------------------------------------------------------------------------------------------


def return_goods(
    conn: sqlite3.Connection,
    *,
    till_id: str,
    receipt_code: str,
    lines: list[dict[str, Any]],
    idempotency_key: str,
    actor: str,
    secret_key: bytes,
    approval_badge: str | None = None,
    card_approval_code: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Take goods of a sale back (whole or partial lines) and refund what was really paid for them."""
    seen = _remember(conn, idempotency_key, "return")
    if seen is not None:
        return seen
    sale = find_sale(conn, receipt_code)
    date, shift = tills.require_selling(conn, till_id)
    if not lines:
        raise ValidationError("name the lines that come back", code="no_lines")
    by_no = {ln["line_no"]: ln for ln in sale["lines"]}
    taken: list[dict[str, Any]] = []
    seen_nos: set[int] = set()
    for want in lines:
        no = want["line_no"]
        if no not in by_no or no in seen_nos:
            raise ValidationError(f"line {no} is not a line of this sale (or named twice)", code="bad_return_line")
        seen_nos.add(no)
        ln = by_no[no]
        if ln["weighed"]:
            qty = ln["qty"]  # a weighed line comes back whole
            units, done, back = 1, 1 if ln["returned_qty"] else 0, 1
        else:
            qty = int(want.get("qty") or ln["returnable_qty"])
            units, done, back = ln["qty"], ln["returned_qty"], qty
        if qty <= 0 or (ln["weighed"] and ln["returned_qty"]) or (not ln["weighed"] and qty > ln["returnable_qty"]):
            raise Conflict(
                f"line {no} has {ln['returnable_qty']} left to return",
                code="return_exceeds_sale",
                details={"line_no": no, "returnable_qty": ln["returnable_qty"]},
            )
        disposition = want.get("disposition", "restock")
        if disposition not in ("restock", "writeoff"):
            raise ValidationError("disposition is restock or writeoff", code="bad_disposition")
        reason = (want.get("reason") or "").strip()[:200]
        if disposition == "writeoff" and not reason:
            raise ValidationError("a write-off needs a reason", code="reason_required")
        refund = engine.refund_minor({"qty": units, "net_minor": ln["net_minor"]}, back, done)
        taken.append(
            {
                "line_no": no,
                "item_id": ln["item_id"],
                "sku": ln["sku"],
                "name_en": ln["name_en"],
                "name_zh": ln["name_zh"],
                "qty": qty,
                "weighed": ln["weighed"],
                "refund_minor": refund,
                "tax_rate": ln["tax_rate"],
                "tax_minor": rules.tax_included(refund, ln["tax_rate"]),
                "disposition": disposition,
                "reason": reason,
                "returned_after": done + back,
            }
        )
    goods = sum(x["refund_minor"] for x in taken)
    refunded_before = conn.execute(
        "SELECT COALESCE(SUM(tendered_minor), 0) FROM checkout_sales WHERE original_sale_id = ?", (sale["id"],)
    ).fetchone()[0]
    back = {x["line_no"]: x["qty"] for x in taken}
    last = all(ln["returned_qty"] + back.get(ln["line_no"], 0) >= ln["qty"] for ln in sale["lines"])
    paid_tenders = [
        dict(r)
        for r in conn.execute(
            "SELECT t.id, t.method, t.amount_minor - COALESCE((SELECT SUM(o.amount_minor) FROM checkout_tenders o"
            " WHERE o.refunds_tender_id = t.id AND o.state = 'paid'), 0) AS available_minor FROM checkout_tenders t"
            " WHERE t.sale_id = ? AND t.direction = 'in' AND t.state = 'paid'",
            (sale["id"],),
        )
    ]
    step = settings.get(conn, "checkout.cash_rounding")
    if last:
        total = sale["tendered_minor"] - refunded_before  # the last return gives back exactly what is left
        parts = rules.split_refund(total, paid_tenders)
    else:
        parts = rules.split_refund(goods, paid_tenders)
        for p in parts:
            if p["method"] == "cash":
                p["amount_minor"] = rules.round_cash(p["amount_minor"], step["step_minor"], step["mode"])
        total = sum(p["amount_minor"] for p in parts)
    rounding = total - goods
    approver = None
    if rules.needs_approval(total, settings.get(conn, "checkout.return_approval_limit_minor")):
        approver = approvals.approve(conn, approval_badge, secret_key=secret_key, what="return", device=device)["id"]
    if any(p["method"] == "card" for p in parts):
        code = (card_approval_code or "").strip()
        if not code or not code.isalnum() or len(code) > 12:
            raise ValidationError(
                "refund the card on the terminal and key in its approval code",
                code="card_refund_approval_required",
                details={"card_minor": sum(p["amount_minor"] for p in parts if p["method"] == "card")},
            )
    return_id, now = new_id(), now_iso()
    receipt_no = tills.next_receipt_no(conn, till_id, date)
    code = rules.receipt_code(till_id, date, receipt_no)
    loc = _sale_location(conn)
    for x in taken:
        ledger.post(
            conn,
            ledger.MovementRequest(
                kind="return",
                item_id=x["item_id"],
                location_id=loc,
                qty=x["qty"],
                reason="customer return",
                actor=actor,
                device=device,
                ref=code,
                idempotency_key=f"return:{return_id}:{x['line_no']}",
            ),
        )
        if x["disposition"] == "writeoff":
            ledger.post(
                conn,
                ledger.MovementRequest(
                    kind="writeoff",
                    item_id=x["item_id"],
                    location_id=loc,
                    qty=x["qty"],
                    reason=f"returned damaged: {x['reason']}",
                    actor=actor,
                    device=device,
                    ref=code,
                    idempotency_key=f"return:{return_id}:{x['line_no']}:writeoff",
                ),
            )
        conn.execute(
            "UPDATE checkout_sale_lines SET returned_qty = returned_qty + ?, refunded_minor = refunded_minor + ?"
            " WHERE sale_id = ? AND line_no = ?",
            (x["qty"], x["refund_minor"], sale["id"], x["line_no"]),
        )
    tender_body = []
    for i, p in enumerate(parts):
        t = tenders.create(
            conn,
            out_trade_no=tenders.out_trade_no(f"{idempotency_key}:refund:{i}"),
            method_name=p["method"],
            amount_minor=p["amount_minor"],
            till_id=till_id,
            business_date=date,
            shift_id=shift["id"],
            actor=actor,
            direction="out",
            refunds_tender_id=p["tender_id"],
            sale_id=return_id,
        )
        # refunded through the provider (or on the card terminal) after this commits
        by_code = p["method"] in ("wechatpay", "alipay", "card_terminal")
        t = tenders.transition(
            conn,
            t["id"],
            "requesting" if by_code else "paid",
            actor=actor,
            approval_code=card_approval_code if p["method"] == "card" else None,
            detail="refund sent to the provider" if by_code else "refund",
        )
        if p["method"] == "points":  # back to the member as points, in this transaction
            t = tenders.points_back(conn, t, actor=actor)
        tender_body.append(
            {
                "id": t["id"],
                "method": p["method"],
                "amount_minor": p["amount_minor"],
                "change_minor": 0,
                "refunds_tender_id": p["tender_id"],
                **({"points": t["points"]} if t.get("points") else {}),
            }
        )
    body = {
        "return_id": return_id,
        "sale_id": sale["id"],
        "original_receipt_code": sale["receipt_code"],
        "receipt_code": code,
        "cashier": actor,
        "cashier_name": _name_of(conn, actor),
        "approved_by": approver,
        "approved_by_name": _name_of(conn, approver),
        "currency": settings.get(conn, "currency"),
        "refund_minor": goods,
        "rounding_minor": rounding,
        "lines": taken,
        "tenders": tender_body,
    }
    entry = journal.append(
        conn, "return", till_id=till_id, business_date=date, receipt_no=receipt_no, ts=now, body=body
    )
    conn.execute(
        "INSERT INTO checkout_sales(id, kind, journal_seq, original_sale_id, till_id, business_date, receipt_no,"
        " receipt_code, cashier, subtotal_minor, discount_minor, total_minor, rounding_minor, tendered_minor, ts)"
        " VALUES (?,'return',?,?,?,?,?,?,?,?,0,?,?,?,?)",
        (
            return_id,
            entry["seq"],
            sale["id"],
            till_id,
            date,
            receipt_no,
            code,
            actor,
            goods,
            goods,
            rounding,
            total,
            now,
        ),
    )
    conn.executemany(
        "INSERT INTO checkout_sale_lines(sale_id, line_no, item_id, sku, qty, weighed, gross_minor,"
        " discount_minor, net_minor, tax_minor, tax_rate) VALUES (?,?,?,?,?,?,?,0,?,?,?)",
        [
            (
                return_id,
                x["line_no"],
                x["item_id"],
                x["sku"],
                x["qty"],
                1 if x["weighed"] else 0,
                x["refund_minor"],
                x["refund_minor"],
                x["tax_minor"],
                x["tax_rate"],
            )
            for x in taken
        ],
    )
    outbox.record(
        conn,
        "sale.returned",
        {
            "return_id": return_id,
            "sale_id": sale["id"],
            "till_id": till_id,
            "business_date": date,
            "receipt_no": receipt_no,
            "receipt_code": code,
            "ts": now,
            "cashier": actor,
            "approved_by": approver,
            "refund_minor": goods,
            "rounding_minor": rounding,
            "lines": [
                {k: x[k] for k in ("line_no", "item_id", "sku", "qty", "refund_minor", "disposition")} for x in taken
            ],
            "tenders": [{k: t[k] for k in ("id", "method", "amount_minor", "change_minor")} for t in tender_body],
            "journal_seq": entry["seq"],
        },
        ts=now,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.return",
        target=sale["id"],
        details={"return_id": return_id, "refund_minor": total, "approved_by": approver},
    )
    till = tills.get_till(conn, till_id)
    doc = receipts.return_document(
        {**body, "till_id": till_id, "receipt_no": receipt_no, "ts": now}, Store.from_settings(conn), body["currency"]
    )
    job = receipts.queue(
        conn,
        printer=till["printer_device"],
        till_id=till_id,
        document="return",
        body=doc,
        actor=actor,
        device=device,
        sale_id=return_id,
    )
    result = {
        "return_id": return_id,
        "receipt_code": code,
        "receipt_no": receipt_no,
        "refund_minor": total,
        "goods_minor": goods,
        "rounding_minor": rounding,
        "tenders": tender_body,
        "approved_by": approver,
        "lines": [{k: x[k] for k in ("line_no", "sku", "qty", "refund_minor", "disposition")} for x in taken],
        "print_job": job,
    }
    loyalty.on_goods_returned(conn, sale["id"], return_id, goods, actor=actor)  # take back what the sale earned
    _keep(conn, idempotency_key, "return", result)
    return result


# --- reports, drawer ----------------------------------------------------------------------------------------------


def x_report(conn: sqlite3.Connection, till_id: str, date: str | None = None) -> dict[str, Any]:
    """The day so far at a till (nothing is sealed; may be run any time)."""
    tills.get_till(conn, till_id)
    date = date or tills.business_date(conn)
    t = reports.totals(conn, till_id, date)
    d = tills.day(conn, till_id, date)
    return {
        "till_id": till_id,
        "business_date": date,
        "status": d["status"] if d else "open",
        "z_number": d["z_number"] if d else None,
        "ts": now_iso(),
        "totals": t,
        "first_receipt_no": t["first_receipt_no"],
        "last_receipt_no": t["last_receipt_no"],
    }


def z_report(conn: sqlite3.Connection, till_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """Seal the till's business day: numbered, one per till per day, journalled, sent as a fact, printed.
    Afterwards the till sells nothing more on that day."""
    tills.get_till(conn, till_id)
    date = tills.require_open_day(conn, till_id)
    if tills.open_shift_of(conn, till_id) is not None:
        raise Conflict("close the shift (blind count) before the Z report", code="shift_open")
    busy = conn.execute(
        "SELECT COUNT(*) FROM checkout_tenders t JOIN checkout_carts c ON c.id = t.cart_id"
        " WHERE c.till_id = ? AND c.status IN ('open','held') AND t.state IN ('requesting','paid','unknown')",
        (till_id,),
    ).fetchone()[0]
    if busy:
        raise Conflict("a sale on this till is being paid", code="sale_in_progress")
    conn.execute(
        "INSERT INTO checkout_days(till_id, business_date) VALUES (?, ?) ON CONFLICT DO NOTHING", (till_id, date)
    )
    z_number = conn.execute(
        "SELECT COALESCE(MAX(z_number), 0) + 1 FROM checkout_days WHERE till_id = ?", (till_id,)
    ).fetchone()[0]
    totals = reports.totals(conn, till_id, date)
    now = now_iso()
    conn.execute(
        "UPDATE checkout_days SET status = 'closed', z_number = ?, closed_at = ?, closed_by = ?"
        " WHERE till_id = ? AND business_date = ?",
        (z_number, now, actor, till_id, date),
    )
    entry = journal.append(
        conn,
        "z_report",
        till_id=till_id,
        business_date=date,
        ts=now,
        body={"z_number": z_number, "closed_by": actor, "totals": totals},
    )
    report = {
        "till_id": till_id,
        "business_date": date,
        "z_number": z_number,
        "closed_by": actor,
        "ts": now,
        "totals": totals,
        "first_receipt_no": totals["first_receipt_no"],
        "last_receipt_no": totals["last_receipt_no"] or 0,
        "journal_seq": entry["seq"],
        "journal_hash": entry["hash"],
    }
    outbox.record(conn, "checkout.z_report", report, ts=now)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.z_report",
        target=till_id,
        details={"business_date": date, "z_number": z_number},
    )
    till = tills.get_till(conn, till_id)
    report["print_job"] = receipts.queue(
        conn,
        printer=till["printer_device"],
        till_id=till_id,
        document="z_report",
        actor=actor,
        device=device,
        body=receipts.report_document("z", report, Store.from_settings(conn), settings.get(conn, "currency")),
    )
    return report


def no_sale(
    conn: sqlite3.Connection,
    till_id: str,
    *,
    reason: str,
    actor: str,
    secret_key: bytes,
    approval_badge: str | None,
    idempotency_key: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Open the cash drawer without a sale: a supervisor's badge, a reason, audited, journalled, a fact."""
    seen = _remember(conn, idempotency_key, "no_sale")
    if seen is not None:
        return seen
    why = (reason or "").strip()[:200]
    if not why:
        raise ValidationError("a reason is required", code="reason_required")
    date, shift = tills.require_selling(conn, till_id)
    approver = approvals.approve(conn, approval_badge, secret_key=secret_key, what="no_sale", device=device)["id"]
    till = tills.get_till(conn, till_id)
    if not till["printer_device"]:
        raise Unprocessable("this till has no printer to kick the drawer", code="no_printer")
    nid, now = new_id(), now_iso()
    journal.append(
        conn,
        "no_sale",
        till_id=till_id,
        business_date=date,
        ts=now,
        body={"id": nid, "shift_id": shift["id"], "actor": actor, "approved_by": approver, "reason": why},
    )
    outbox.record(
        conn,
        "checkout.cash_moved",
        {
            "id": nid,
            "till_id": till_id,
            "shift_id": shift["id"],
            "business_date": date,
            "kind": "no_sale",
            "amount_minor": 0,
            "reason": why,
            "actor": actor,
            "approved_by": approver,
            "ts": now,
        },
        ts=now,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.no_sale",
        target=till_id,
        details={"reason": why, "approved_by": approver},
    )
    job = receipts.queue(
        conn,
        printer=till["printer_device"],
        till_id=till_id,
        document="no_sale",
        actor=actor,
        device=device,
        body=receipts.no_sale_document(
            till_id, why, _name_of(conn, actor), now, Store.from_settings(conn), settings.get(conn, "currency")
        ),
    )
    result = {"id": nid, "approved_by": approver, "print_job": job}
    _keep(conn, idempotency_key, "no_sale", result)
    return result
