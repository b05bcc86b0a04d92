"""The open cart of a till, stored on the hub (a hub restart or a browser reload loses nothing).

Lines come from scans through the one scan resolver (``hub.identify.resolve``): GTINs, variable-measure
weight/price labels, a PLU typed at the till with the latest stable weight of the till's scale, an exact SKU,
a quantity key (``qty`` multiplies a scan). Every change bumps the cart's version, is priced again through
:mod:`hub.checkout.pricing` and records a live ``checkout.cart`` fact for the customer display. A cart is
frozen while a tender on it is requesting, paid or unknown."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

from hub.bus import builtin
from hub.checkout import approvals, pricing, rules, tenders, tills
from hub.identify import barcode
from hub.identify import resolve as resolver
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, NotFound, Unprocessable, ValidationError
from hub.promotions import coupons as promo_coupons
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso, parse_iso
from hub.purchasing import expiry

PLU_RE = re.compile(r"^\d{4,5}$")
LINE_COLS = (
    "l.id, l.pos, l.item_id, l.code, l.qty, l.weighed, l.label_price_minor, l.price_override_minor,"
    " l.override_reason, l.manual_discount_minor, l.discount_reason, i.sku, i.name_en, i.name_zh, i.unit,"
    " i.price_minor, i.category, i.brand"
)


def get_row(conn: sqlite3.Connection, cart_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM checkout_carts WHERE id = ?", (cart_id,)).fetchone()
    if r is None:
        raise NotFound(f"no cart {cart_id}", code="cart_not_found")
    return dict(r)


def live_lines(conn: sqlite3.Connection, cart_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            f"SELECT {LINE_COLS} FROM checkout_cart_lines l JOIN items i ON i.id = l.item_id"
            " WHERE l.cart_id = ? AND l.voided = 0 ORDER BY l.pos",
            (cart_id,),
        )
    ]


def view(
    conn: sqlite3.Connection, cart_id: str, *, at: datetime | str | None = None, priced: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The cart as the till shows it: priced lines, tenders, what is paid, what is due (and in cash).
    ``priced``: the cart's price already taken in this transaction (``pricing.part_of`` an earlier view) while
    its lines have not changed since — a tender looks at the cart several times and prices it once."""
    cart = get_row(conn, cart_id)
    codes = promo_coupons.cart_codes(conn, cart_id)
    if priced is None:
        priced = pricing.price_lines(conn, live_lines(conn, cart_id), at, coupons=codes)
    ts = tenders.for_cart(conn, cart_id)
    paid = tenders.settled(ts)
    due = priced["total_minor"] - paid
    rounding = settings.get(conn, "checkout.cash_rounding")
    out = {
        k: cart[k]
        for k in (
            "id",
            "code",
            "till_id",
            "status",
            "version",
            "created_by",
            "note",
            "sale_id",
            "created_at",
            "updated_at",
        )
    }
    out.update(priced)
    out["coupons"] = [{"code": c, "promotion": pid} for c, pid in codes.items()]
    out.update(
        tenders=[tenders.public(t) for t in ts],
        paid_minor=paid,
        due_minor=due,
        cash_due_minor=rules.round_cash(due, rounding["step_minor"], rounding["mode"]),
        change_minor=sum(t["change_minor"] for t in ts if t["state"] == "paid"),
    )
    return out


def announce(conn: sqlite3.Connection, v: dict[str, Any]) -> None:
    """The live fact the customer display follows (only what the customer sees)."""
    outbox.record(
        conn,
        "checkout.cart",
        {
            "till_id": v["till_id"],
            "cart_id": v["id"],
            "status": v["status"],
            "version": v["version"],
            "lines": [
                {
                    "name": ln["name_en"] or ln["sku"],
                    "name_zh": ln["name_zh"] or ln["name_en"] or ln["sku"],
                    "qty": ln["qty"],
                    "weighed": ln["weighed"],
                    "net_minor": ln["net_minor"],
                    "discount_minor": ln["discount_minor"],
                }
                for ln in v["lines"]
            ][-50:],
            "total_minor": v["total_minor"],
            "paid_minor": v["paid_minor"],
            "due_minor": max(0, v["due_minor"]),
            "change_minor": v["change_minor"],
            "tender": tenders.progress(conn, v),  # the payment under way: prompt, amount, paid per tender, failure
        },
    )


def touched(conn: sqlite3.Connection, cart_id: str, *, priced: dict[str, Any] | None = None) -> dict[str, Any]:
    """After a change: bump the version, price again (unless the change left the lines as ``priced``), tell the
    display (when the cart is the till's open one)."""
    conn.execute("UPDATE checkout_carts SET version = version + 1, updated_at = ? WHERE id = ?", (now_iso(), cart_id))
    v = view(conn, cart_id, priced=priced)
    if v["status"] in ("open", "completed", "voided"):
        announce(conn, v)
    return v


def editable(conn: sqlite3.Connection, cart_id: str) -> dict[str, Any]:
    """The cart, if its lines may change: open or held, its day not closed, no tender under way."""
    cart = get_row(conn, cart_id)
    if cart["status"] not in ("open", "held"):
        raise Conflict(
            f"cart {cart['code']} is {cart['status']}", code="cart_closed", details={"status": cart["status"]}
        )
    tills.require_open_day(conn, cart["till_id"])
    if any(t["state"] in tenders.ACTIVE for t in tenders.for_cart(conn, cart_id)):
        raise Conflict("the cart is being paid: reverse the tenders to change it", code="cart_tendering")
    return cart


def _next_code(conn: sqlite3.Connection) -> str:
    """The next SHC- code: one above the highest given. Codes are given here only, one write at a time, and carts
    are never deleted, so the last cart stored (the highest rowid, one index step) holds the highest code; the
    whole-table MAX (a scan that grows with every cart the store ever had) is the fallback when that code is not
    one of ours or its successor is taken."""
    last = conn.execute("SELECT code FROM checkout_carts ORDER BY rowid DESC LIMIT 1").fetchone()
    if last is None:
        return "SHC-1"
    m = rules.CART_CODE_RE.fullmatch(last[0])
    if m is not None:
        code = f"SHC-{int(m.group(1)) + 1}"
        if conn.execute("SELECT 1 FROM checkout_carts WHERE code = ?", (code,)).fetchone() is None:
            return code
    n = conn.execute("SELECT COALESCE(MAX(CAST(substr(code, 5) AS INTEGER)), 0) + 1 FROM checkout_carts").fetchone()[0]
    return f"SHC-{n}"


def open_cart(
    conn: sqlite3.Connection, till_id: str, *, actor: str, device: str | None = None, hold: bool = False, note: str = ""
) -> dict[str, Any]:
    """The till's open cart (a new one when it has none). ``hold``: a new held cart — a line-busting handheld
    builds it while the customer queues; the till picks it up by its code."""
    tills.get_till(conn, till_id)
    tills.require_open_day(conn, till_id)
    if not hold:
        r = conn.execute("SELECT id FROM checkout_carts WHERE till_id = ? AND status = 'open'", (till_id,)).fetchone()
        if r is not None:
            return view(conn, r[0])
    cid, now = new_id(), now_iso()
    conn.execute(
        "INSERT INTO checkout_carts(id, code, till_id, status, created_by, device, note, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (cid, _next_code(conn), till_id, "held" if hold else "open", actor, device, note[:100], now, now),
    )
    return touched(conn, cid)


def current(conn: sqlite3.Connection, till_id: str) -> dict[str, Any]:
    """What the till screen starts from: the till, its shift, its open cart and the held ones."""
    till = tills.get_till(conn, till_id)
    date = tills.business_date(conn)
    r = conn.execute("SELECT id FROM checkout_carts WHERE till_id = ? AND status = 'open'", (till_id,)).fetchone()
    held = [
        dict(x)
        for x in conn.execute(
            "SELECT c.id, c.code, c.note, c.created_by, c.updated_at, (SELECT COUNT(*) FROM checkout_cart_lines l"
            " WHERE l.cart_id = c.id AND l.voided = 0) AS lines FROM checkout_carts c WHERE c.till_id = ? AND"
            " c.status = 'held' ORDER BY c.updated_at",
            (till_id,),
        )
    ]
    d = tills.day(conn, till_id, date)
    return {
        "till": till,
        "business_date": date,
        "day_status": d["status"] if d else "open",
        "shift": tills.open_shift_of(conn, till_id),
        "cart": view(conn, r[0]) if r else None,
        "held": held,
    }


def _add_line(
    conn: sqlite3.Connection,
    cart_id: str,
    item: dict[str, Any],
    qty: int,
    *,
    weighed: bool,
    code: str | None,
    label_price: int | None,
) -> str:
    if not item.get("active", 1):
        raise Unprocessable(f"{item['sku']} is not sold any more", code="item_inactive", details={"sku": item["sku"]})
    if not weighed:
        same = conn.execute(
            "SELECT id FROM checkout_cart_lines WHERE cart_id = ? AND voided = 0 AND item_id = ? AND weighed = 0"
            " AND price_override_minor IS NULL AND manual_discount_minor = 0 ORDER BY pos DESC LIMIT 1",
            (cart_id, item["id"]),
        ).fetchone()
        if same is not None:
            conn.execute("UPDATE checkout_cart_lines SET qty = qty + ? WHERE id = ?", (qty, same[0]))
            return str(same[0])
    pos = conn.execute(
        "SELECT COALESCE(MAX(pos), 0) + 1 FROM checkout_cart_lines WHERE cart_id = ?", (cart_id,)
    ).fetchone()[0]
    lid = new_id()
    conn.execute(
        "INSERT INTO checkout_cart_lines(id, cart_id, pos, item_id, code, qty, weighed, label_price_minor,"
        " created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (lid, cart_id, pos, item["id"], code, qty, 1 if weighed else 0, label_price, now_iso()),
    )
    return lid


def scale_grams(conn: sqlite3.Connection, till_id: str) -> int:
    """The latest stable weight of the till's scale, if it is fresh and not empty."""
    scale = tills.get_till(conn, till_id)["scale_device"]
    if not scale:
        raise Unprocessable("this till has no scale: set checkout.scale_device or the till's scale", code="no_scale")
    w = builtin.latest_weight(conn, scale)
    max_age = settings.get(conn, "checkout.scale_max_age_s")
    if w is None or (datetime.now(UTC) - parse_iso(w["received_at"])).total_seconds() > max_age:
        raise Unprocessable(
            "the scale has no stable weight: put the goods on the scale and wait for it to settle",
            code="scale_not_stable",
            details={"scale": scale},
        )
    if w["grams"] <= 0:
        raise Unprocessable(
            "the scale reads nothing: put the goods on it", code="scale_empty", details={"scale": scale}
        )
    return int(w["grams"])


def _by_plu(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM items WHERE plu IN (?, ?) AND active = 1 LIMIT 2", (code, code.lstrip("0") or "0")
        )
    ]
    if len(ids) > 1:
        raise Conflict(f"PLU {code} belongs to more than one active item; fix the catalog", code="ambiguous_plu")
    return dict(conn.execute("SELECT * FROM items WHERE id = ?", (ids[0],)).fetchone()) if ids else None


def scan(
    conn: sqlite3.Connection, cart_id: str, code: str, *, qty: int = 1, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Add what ``code`` names to the cart (``qty`` from the quantity key multiplies a piece scan)."""
    cart = editable(conn, cart_id)
    text = (code or "").strip()
    if rules.RECEIPT_RE.fullmatch(text):
        raise Unprocessable(
            "that is a receipt: start a return to take goods back", code="receipt_scanned", details={"code": text}
        )
    opts = resolver.options_for(settings.get_all(conn))
    label_price = label_expiry = None
    try:
        res = resolver.resolve(conn, text, settings=opts, with_stock=False, accept_sku=True)
    except barcode.BarcodeError:
        item = _by_plu(conn, text) if PLU_RE.fullmatch(text) else None
        if item is None:
            raise NotFound(
                f"{text!r} is not an item of this store", code="unknown_code", details={"code": text}
            ) from None
        grams = None
    else:
        if not res.names_item or res.item is None:
            raise Unprocessable(
                f"that is a {res.kind} code, not an item",
                code="not_an_item",
                details={"kind": res.kind, "code": text, "scanned": text},
            )
        item, grams, label_price = res.item, res.qty, res.price_minor
        label_expiry = res.parsed.expiry if res.parsed else None
    if refused := expiry.sale_refusal(conn, item, label_expiry=label_expiry):
        raise refused
    if item["unit"] == "kg":
        if grams is None:
            grams = scale_grams(conn, cart["till_id"])
            label_price = None
        _add_line(conn, cart_id, item, grams, weighed=True, code=text, label_price=label_price)
    else:
        pieces = (grams or 1) * qty
        _add_line(conn, cart_id, item, pieces, weighed=False, code=text, label_price=None)
    return touched(conn, cart_id)


def add_item(
    conn: sqlite3.Connection, cart_id: str, *, item_id: str, qty: int = 1, grams: int | None = None, actor: str
) -> dict[str, Any]:
    """Add an item picked from the search: pieces, or a kg item weighed now on the till's scale (or grams
    keyed in when the store weighs elsewhere)."""
    cart = editable(conn, cart_id)
    r = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
    if r is None:
        raise NotFound(f"no item {item_id}", code="item_not_found")
    item = dict(r)
    if refused := expiry.sale_refusal(conn, item):
        raise refused
    if item["unit"] == "kg":
        _add_line(
            conn, cart_id, item, grams or scale_grams(conn, cart["till_id"]), weighed=True, code=None, label_price=None
        )
    else:
        _add_line(conn, cart_id, item, qty, weighed=False, code=None, label_price=None)
    return touched(conn, cart_id)


def _line(conn: sqlite3.Connection, cart_id: str, line_id: str) -> dict[str, Any]:
    r = conn.execute(
        f"SELECT {LINE_COLS} FROM checkout_cart_lines l JOIN items i ON i.id = l.item_id"
        " WHERE l.id = ? AND l.cart_id = ? AND l.voided = 0",
        (line_id, cart_id),
    ).fetchone()
    if r is None:
        raise NotFound("no such line in this cart", code="line_not_found")
    return dict(r)


def set_qty(conn: sqlite3.Connection, cart_id: str, line_id: str, qty: int, *, actor: str) -> dict[str, Any]:
    editable(conn, cart_id)
    ln = _line(conn, cart_id, line_id)
    if ln["weighed"]:
        raise Unprocessable("a weighed line is weighed again, not counted", code="weighed_line")
    conn.execute("UPDATE checkout_cart_lines SET qty = ? WHERE id = ?", (qty, line_id))
    return touched(conn, cart_id)


def void_line(
    conn: sqlite3.Connection, cart_id: str, line_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    editable(conn, cart_id)
    ln = _line(conn, cart_id, line_id)
    conn.execute("UPDATE checkout_cart_lines SET voided = 1 WHERE id = ?", (line_id,))
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.line_void",
        target=cart_id,
        details={"sku": ln["sku"], "qty": ln["qty"]},
    )
    return touched(conn, cart_id)


def _reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise ValidationError("a reason is required", code="reason_required")
    return reason.strip()[:200]


def override_price(
    conn: sqlite3.Connection,
    cart_id: str,
    line_id: str,
    *,
    price_minor: int,
    reason: str,
    actor: str,
    secret_key: bytes,
    approval_badge: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Set a line's unit price (per kg for a weighed line) by hand; a cut worth more than the store's limit
    needs a supervisor's badge."""
    editable(conn, cart_id)
    why = _reason(reason)
    before = view(conn, cart_id)
    old = (
        next(x for x in before["lines"] if x["id"] == line_id)
        if any(x["id"] == line_id for x in before["lines"])
        else None
    )
    if old is None:
        raise NotFound("no such line in this cart", code="line_not_found")
    ln = _line(conn, cart_id, line_id)
    new_gross = price_minor * ln["qty"] if not ln["weighed"] else (price_minor * ln["qty"] * 2 + 1000) // 2000
    cut = old["gross_minor"] - new_gross
    approver = None
    if rules.needs_approval(cut, settings.get(conn, "checkout.approval_limit_minor")):
        approver = approvals.approve(conn, approval_badge, secret_key=secret_key, what="price_override", device=device)[
            "id"
        ]
    conn.execute(
        "UPDATE checkout_cart_lines SET price_override_minor = ?, override_reason = ?,"
        " approved_by = COALESCE(?, approved_by) WHERE id = ?",
        (price_minor, why, approver, line_id),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.price_override",
        target=cart_id,
        details={
            "sku": ln["sku"],
            "price_minor": price_minor,
            "was_gross_minor": old["gross_minor"],
            "reason": why,
            "approved_by": approver,
        },
    )
    return touched(conn, cart_id)


def discount_line(
    conn: sqlite3.Connection,
    cart_id: str,
    line_id: str,
    *,
    amount_minor: int | None = None,
    percent: float | None = None,
    reason: str,
    actor: str,
    secret_key: bytes,
    approval_badge: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """A discount by hand on a line, after its promotions (an amount, or a percent of what is left)."""
    editable(conn, cart_id)
    why = _reason(reason)
    before = view(conn, cart_id)
    old = next((x for x in before["lines"] if x["id"] == line_id), None)
    if old is None:
        raise NotFound("no such line in this cart", code="line_not_found")
    after_promos = old["gross_minor"] - old["promotion_discount_minor"]
    if (amount_minor is None) == (percent is None):
        raise ValidationError("give amount_minor or percent", code="bad_discount")
    amount = (
        amount_minor
        if amount_minor is not None
        else int((after_promos * int(round(float(percent or 0) * 100)) * 2 + 10000) // 20000)
    )
    if amount <= 0 or amount > after_promos:
        raise ValidationError(
            "a discount is more than 0 and at most what the line costs",
            code="bad_discount",
            details={"max_minor": after_promos},
        )
    approver = None
    if rules.needs_approval(amount, settings.get(conn, "checkout.approval_limit_minor")):
        approver = approvals.approve(
            conn, approval_badge, secret_key=secret_key, what="manual_discount", device=device
        )["id"]
    conn.execute(
        "UPDATE checkout_cart_lines SET manual_discount_minor = ?, discount_reason = ?,"
        " approved_by = COALESCE(?, approved_by) WHERE id = ?",
        (amount, why, approver, line_id),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.manual_discount",
        target=cart_id,
        details={"sku": old["sku"], "amount_minor": amount, "reason": why, "approved_by": approver},
    )
    return touched(conn, cart_id)


def hold(conn: sqlite3.Connection, cart_id: str, *, note: str = "", actor: str) -> dict[str, Any]:
    cart = editable(conn, cart_id)
    if cart["status"] == "open":
        conn.execute(
            "UPDATE checkout_carts SET status = 'held', note = CASE WHEN ? = '' THEN note ELSE ? END WHERE id = ?",
            (note, note[:100], cart_id),
        )
        announce(
            conn,
            {
                **view(conn, cart_id),
                "status": "open",
                "id": None,
                "lines": [],
                "total_minor": 0,
                "paid_minor": 0,
                "due_minor": 0,
                "change_minor": 0,
            },
        )
    return view(conn, cart_id)


def resume(
    conn: sqlite3.Connection, till_id: str, *, cart_id: str | None = None, code: str | None = None, actor: str
) -> dict[str, Any]:
    """Bring a held cart (by id or its SHC- code) back as the till's open cart; the open one, if it has
    lines, is held in its place (an empty one is dropped)."""
    if code:
        r = conn.execute("SELECT id FROM checkout_carts WHERE code = ?", (code.strip().upper(),)).fetchone()
        if r is None:
            raise NotFound(f"no held cart {code}", code="cart_not_found")
        cart_id = r[0]
    if not cart_id:
        raise ValidationError("name the cart by id or code", code="cart_required")
    cart = editable(conn, cart_id)
    if cart["status"] != "held":
        raise Conflict(f"cart {cart['code']} is not held", code="cart_not_held")
    tills.require_selling(conn, till_id)
    cur = conn.execute("SELECT id FROM checkout_carts WHERE till_id = ? AND status = 'open'", (till_id,)).fetchone()
    if cur is not None:
        editable(conn, cur[0])
        has_lines = conn.execute(
            "SELECT COUNT(*) FROM checkout_cart_lines WHERE cart_id = ? AND voided = 0", (cur[0],)
        ).fetchone()[0]
        conn.execute(
            "UPDATE checkout_carts SET status = ? , void_reason = ? WHERE id = ?",
            ("held" if has_lines else "voided", None if has_lines else "empty cart replaced", cur[0]),
        )
    conn.execute("UPDATE checkout_carts SET status = 'open', till_id = ? WHERE id = ?", (till_id, cart_id))
    return touched(conn, cart_id)


def void_cart(
    conn: sqlite3.Connection, cart_id: str, *, reason: str, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Void a whole sale before tender (audited; nothing reaches the journal or the ledger)."""
    cart = editable(conn, cart_id)
    why = _reason(reason)
    conn.execute("UPDATE checkout_carts SET status = 'voided', void_reason = ? WHERE id = ?", (why, cart_id))
    lines = live_lines(conn, cart_id)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.cart_void",
        target=cart_id,
        details={"code": cart["code"], "reason": why, "lines": len(lines)},
    )
    return touched(conn, cart_id)
