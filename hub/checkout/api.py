"""Checkout routes: each is a JSON Schema plus one domain call in one transaction (hub/checkout/*)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hub.checkout import cart, journal, replay, search, tenders, tills, workflow
from hub.checkout.payments import client as pay_client
from hub.checkout.payments import codes as pay_codes
from hub.checkout.payments import flow as pay_flow
from hub.checkout.payments import points as pay_points
from hub.checkout.payments import prompts as pay_prompts
from hub.checkout.payments import terminal as pay_terminal
from hub.http.context import actor, db, device, hub
from hub.http.framework import endpoint
from hub.members import workflow as loyalty
from hub.promotions import coupon_link
from hub.promotions import coupons as promo_coupons
from hub.purchasing import expiry

bp = Blueprint("checkout", __name__)

_TILL = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_KEY = {"type": "string", "minLength": 8, "maxLength": 190}
_MINOR = {"type": "integer", "minimum": 0, "maximum": 100_000_000}
_REASON = {"type": "string", "minLength": 1, "maxLength": 200}
_BADGE = {"type": "string", "minLength": 1, "maxLength": 128}
_DEVICE = {"type": "string", "pattern": r"^[a-z0-9-]{1,64}$"}
_COUNT = {
    "type": "object",
    "maxProperties": 30,
    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100_000},
}
_OBJ: dict[str, Any] = {"type": "object"}
TILL_PATH = {"till_id": _TILL}
CART_PATH = {"cart_id": _ID}
LINE_PATH = {"cart_id": _ID, "line_id": _ID}


def _body(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required or [], "properties": props}


# --- tills, shifts, cash ----------------------------------------------------------------------------------------


@endpoint(
    bp,
    "GET",
    "/checkout/tills/<till_id>",
    summary="A till: its shift, open cart and held carts",
    role="associate",
    path=TILL_PATH,
    response=_OBJ,
    statuses=[404],
)
def get_till(till_id):
    return cart.current(db().read(), till_id)


@endpoint(
    bp,
    "POST",
    "/checkout/tills/<till_id>/shifts",
    summary="Open a shift with the counted float",
    role="associate",
    path=TILL_PATH,
    statuses=[201, 409],
    body={
        **_body({"float_counted": _COUNT, "float_minor": _MINOR, "printer_device": _DEVICE, "scale_device": _DEVICE}),
        "anyOf": [{"required": ["float_counted"]}, {"required": ["float_minor"]}],
    },
)  # the float, one way
def open_shift(till_id, body):
    with db().write() as conn:
        return tills.open_shift(
            conn,
            till_id,
            float_counted=body.get("float_counted"),
            float_minor=body.get("float_minor"),
            actor=actor(),
            device=device(),
            printer_device=body.get("printer_device"),
            scale_device=body.get("scale_device"),
        ), 201


@endpoint(
    bp,
    "POST",
    "/checkout/tills/<till_id>/shifts/close",
    summary="Close the open shift with a blind count by denomination (expected and over/short come back)",
    role="associate",
    path=TILL_PATH,
    statuses=[409],
    body=_body({"counted": _COUNT}, ["counted"]),
)
def close_shift(till_id, body):
    with db().write() as conn:
        return tills.close_shift(conn, till_id, counted=body["counted"], actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/checkout/tills/<till_id>/cash",
    summary="Paid-in, paid-out or safe drop (supervisor)",
    role="supervisor",
    path=TILL_PATH,
    statuses=[201, 409],
    body=_body(
        {
            "kind": {"enum": ["paid_in", "paid_out", "safe_drop"]},
            "amount_minor": {**_MINOR, "minimum": 1},
            "reason": _REASON,
            "idempotency_key": _KEY,
        },
        ["kind", "amount_minor", "reason", "idempotency_key"],
    ),
)
def cash_move(till_id, body):
    with db().write() as conn:
        return tills.cash_move(
            conn,
            till_id,
            kind=body["kind"],
            amount_minor=body["amount_minor"],
            reason=body["reason"],
            actor=actor(),
            idempotency_key=body["idempotency_key"],
            device=device(),
        ), 201


@endpoint(
    bp,
    "POST",
    "/checkout/tills/<till_id>/no-sale",
    summary="Open the cash drawer without a sale (a supervisor's badge, a reason; audited)",
    role="associate",
    path=TILL_PATH,
    statuses=[403, 409, 422],
    body=_body({"reason": _REASON, "approval_badge": _BADGE, "idempotency_key": _KEY}, ["reason", "idempotency_key"]),
)
def no_sale(till_id, body):
    with db().write() as conn:
        return workflow.no_sale(
            conn,
            till_id,
            reason=body["reason"],
            actor=actor(),
            secret_key=hub().secret_key,
            approval_badge=body.get("approval_badge"),
            idempotency_key=body["idempotency_key"],
            device=device(),
        )


@endpoint(
    bp,
    "GET",
    "/checkout/tills/<till_id>/x-report",
    summary="X report: the till's day so far",
    role="supervisor",
    path=TILL_PATH,
    response=_OBJ,
    statuses=[404],
)
def x_report(till_id):
    return workflow.x_report(db().read(), till_id)


@endpoint(
    bp,
    "POST",
    "/checkout/tills/<till_id>/z-report",
    summary="Z report: seal the till's business day (numbered, one per day; the till sells no more that day)",
    role="supervisor",
    path=TILL_PATH,
    statuses=[201, 409],
)
def z_report(till_id):
    with db().write() as conn:
        return workflow.z_report(conn, till_id, actor=actor(), device=device()), 201


@endpoint(
    bp,
    "GET",
    "/checkout/tills/<till_id>/display",
    summary="What the customer display shows now",
    role="associate",
    path=TILL_PATH,
    response=_OBJ,
    statuses=[404],
)
def display(till_id):
    conn = db().read()
    v = cart.current(conn, till_id)["cart"]
    if v is None:
        return {"till_id": till_id, "lines": [], "total_minor": 0, "tender": None}
    return {**v, "tender": tenders.progress(conn, v)}


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/prompt",
    summary="Ask the customer (on the customer display) to show a payment code or present a card for an amount; "
    "kind none takes the prompt back",
    role="associate",
    path=CART_PATH,
    statuses=[404, 409],
    body=_body({"kind": {"enum": ["payment_code", "card", "none"]}, "amount_minor": _MINOR}, ["kind"]),
)
def prompt(cart_id, body):
    with db().write() as conn:
        return pay_prompts.prompt(
            conn, cart_id, kind=body["kind"], amount_minor=body.get("amount_minor"), actor=actor()
        )


# --- carts ------------------------------------------------------------------------------------------------------


@endpoint(
    bp,
    "POST",
    "/checkout/tills/<till_id>/carts",
    summary="The till's open cart (new if none); hold=true starts a held cart (line busting)",
    role="associate",
    path=TILL_PATH,
    statuses=[201, 409],
    body=_body({"hold": {"type": "boolean"}, "note": {"type": "string", "maxLength": 100}}),
)
def open_cart(till_id, body):
    with db().write() as conn:
        return cart.open_cart(
            conn, till_id, actor=actor(), device=device(), hold=body.get("hold", False), note=body.get("note", "")
        ), 201


@endpoint(
    bp,
    "POST",
    "/checkout/tills/<till_id>/resume",
    summary="Bring a held cart back (by id or SHC- code)",
    role="associate",
    path=TILL_PATH,
    statuses=[404, 409],
    body={
        **_body({"cart_id": _ID, "code": {"type": "string", "maxLength": 20}}),
        "anyOf": [{"required": ["cart_id"]}, {"required": ["code"], "properties": {"code": {"minLength": 1}}}],
    },
)
def resume(till_id, body):
    with db().write() as conn:
        return cart.resume(conn, till_id, cart_id=body.get("cart_id"), code=body.get("code"), actor=actor())


@endpoint(
    bp,
    "GET",
    "/checkout/carts/<cart_id>",
    summary="A cart, priced",
    role="associate",
    path=CART_PATH,
    response=_OBJ,
    statuses=[404],
)
def get_cart(cart_id):
    return cart.view(db().read(), cart_id)


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/scan",
    summary="Add what a scanned or typed code names (GTIN, weight/price label, PLU + scale, SKU); qty = the "
    "quantity key; idempotency_key: a scan the till queued while the hub was away is applied once when replayed",
    role="associate",
    path=CART_PATH,
    statuses=[404, 409, 422],
    body=_body(
        {
            "code": {"type": "string", "minLength": 1, "maxLength": 200},
            "qty": {"type": "integer", "minimum": 1, "maximum": 999},
            "idempotency_key": _KEY,
        },
        ["code"],
    ),
)
def scan(cart_id, body):
    with db().write() as conn:
        try:
            return replay.scan(
                conn,
                cart_id,
                body["code"],
                qty=body.get("qty", 1),
                actor=actor(),
                device=device(),
                idempotency_key=body.get("idempotency_key"),
            )
        except expiry.ExpiredForSale as exc:  # refused before the cart changed: the refusal is kept (committed)
            expiry.record_refusal(conn, exc, code=body["code"], actor=actor(), device=device(), cart_id=cart_id)
            refused = exc
    raise refused


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/lines",
    summary="Add an item picked from the search",
    role="associate",
    path=CART_PATH,
    statuses=[404, 409, 422],
    body=_body(
        {
            "item_id": _ID,
            "qty": {"type": "integer", "minimum": 1, "maximum": 999},
            "grams": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        },
        ["item_id"],
    ),
)
def add_line(cart_id, body):
    with db().write() as conn:
        try:
            return cart.add_item(
                conn, cart_id, item_id=body["item_id"], qty=body.get("qty", 1), grams=body.get("grams"), actor=actor()
            )
        except expiry.ExpiredForSale as exc:  # refused before the cart changed: the refusal is kept (committed)
            expiry.record_refusal(conn, exc, code=body["item_id"], actor=actor(), device=device(), cart_id=cart_id)
            refused = exc
    raise refused


@endpoint(
    bp,
    "PATCH",
    "/checkout/carts/<cart_id>/lines/<line_id>",
    summary="Change a line's quantity",
    role="associate",
    path=LINE_PATH,
    statuses=[404, 409, 422],
    body=_body({"qty": {"type": "integer", "minimum": 1, "maximum": 999}}, ["qty"]),
)
def set_qty(cart_id, line_id, body):
    with db().write() as conn:
        return cart.set_qty(conn, cart_id, line_id, body["qty"], actor=actor())


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/lines/<line_id>/void",
    summary="Void a line",
    role="associate",
    path=LINE_PATH,
    statuses=[404, 409],
)
def void_line(cart_id, line_id):
    with db().write() as conn:
        return cart.void_line(conn, cart_id, line_id, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/lines/<line_id>/price",
    summary="Override a line's price (reason; a supervisor's badge above the limit)",
    role="associate",
    path=LINE_PATH,
    statuses=[403, 404, 409],
    body=_body({"price_minor": _MINOR, "reason": _REASON, "approval_badge": _BADGE}, ["price_minor", "reason"]),
)
def override_price(cart_id, line_id, body):
    with db().write() as conn:
        return cart.override_price(
            conn,
            cart_id,
            line_id,
            price_minor=body["price_minor"],
            reason=body["reason"],
            actor=actor(),
            secret_key=hub().secret_key,
            approval_badge=body.get("approval_badge"),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/lines/<line_id>/discount",
    summary="Discount a line by hand (amount or percent, reason; a supervisor's badge above the limit)",
    role="associate",
    path=LINE_PATH,
    statuses=[403, 404, 409],
    body=_body(
        {
            "amount_minor": {**_MINOR, "minimum": 1},
            "percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
            "reason": _REASON,
            "approval_badge": _BADGE,
        },
        ["reason"],
    ),
)
def discount_line(cart_id, line_id, body):
    with db().write() as conn:
        return cart.discount_line(
            conn,
            cart_id,
            line_id,
            amount_minor=body.get("amount_minor"),
            percent=body.get("percent"),
            reason=body["reason"],
            actor=actor(),
            secret_key=hub().secret_key,
            approval_badge=body.get("approval_badge"),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/hold",
    summary="Suspend the sale (the till may hold several)",
    role="associate",
    path=CART_PATH,
    statuses=[409],
    body=_body({"note": {"type": "string", "maxLength": 100}}),
)
def hold(cart_id, body):
    with db().write() as conn:
        return cart.hold(conn, cart_id, note=body.get("note", ""), actor=actor())


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/void",
    summary="Void the whole sale before tender (reason)",
    role="associate",
    path=CART_PATH,
    statuses=[409],
    body=_body({"reason": _REASON}, ["reason"]),
)
def void_cart(cart_id, body):
    with db().write() as conn:
        out = cart.void_cart(conn, cart_id, reason=body["reason"], actor=actor(), device=device())
        held = promo_coupons.reserved_unredeemed(conn, cart_id)
    for code in held:  # after the commit: give head office its reservations back (best effort, short timeout)
        coupon_link.release(hub().config.data_dir, code, cart_id)
    return out


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/coupons",
    summary="Add a single-use coupon code scanned or typed at the till (a mistyped code — wrong check character — "
    "is refused first); the cart is priced again with it",
    role="associate",
    path=CART_PATH,
    statuses=[404, 409, 422],
    body=_body({"code": {"type": "string", "minLength": 1, "maxLength": 40}}, ["code"]),
)
def add_coupon(cart_id, body):
    promo_coupons.well_formed(body["code"])  # before anything else
    with db().write() as conn:
        cart.editable(conn, cart_id)
        member = loyalty.member_of_cart(conn, cart_id)
        promo_coupons.add_to_cart(conn, cart_id, body["code"], member_id=member, actor=actor())
        return cart.touched(conn, cart_id)


@endpoint(
    bp,
    "DELETE",
    "/checkout/carts/<cart_id>/coupons/<code>",
    summary="Take a coupon code out of the cart (it stays unused)",
    role="associate",
    path={"cart_id": _ID, "code": {"type": "string", "minLength": 1, "maxLength": 40}},
    statuses=[404, 409],
)
def remove_coupon(cart_id, code):
    with db().write() as conn:
        cart.editable(conn, cart_id)
        held = promo_coupons.remove_from_cart(conn, cart_id, code)
        out = cart.touched(conn, cart_id)
    for c in held:  # after the commit: give head office its reservation back (best effort, short timeout)
        coupon_link.release(hub().config.data_dir, c, cart_id)
    return out


def _reserve_coupons(cart_id: str) -> None:
    """Before a tender: reserve the cart's coupons at the central (HTTP outside any transaction, short timeout,
    keyed by the cart); each answer is kept for the sale's commit, where the domain decides (no answer: offline)."""
    conn = db().read()
    todo = promo_coupons.to_reserve(conn, cart_id, cart.view(conn, cart_id)["applied"])
    if not todo:
        return
    member = loyalty.member_of_cart(conn, cart_id)
    answers = [
        (
            t["code"],
            coupon_link.reserve(hub().config.data_dir, t["code"], cart_id, t["discount_minor"], member_id=member),
        )
        for t in todo
    ]
    with db().write() as w:
        for code, answer in answers:
            promo_coupons.note_reservation(w, cart_id, code, answer)


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/tenders",
    summary="Pay (cash: received → change; card: the standalone terminal's approval code and last 4). "
    "Idempotent by idempotency_key; the sale commits when nothing is left due",
    role="associate",
    path=CART_PATH,
    statuses=[409, 422],
    body=_body(
        {
            "method": {"enum": ["cash", "card"]},
            "amount_minor": _MINOR,
            "received_minor": _MINOR,
            "approval_code": {"type": "string", "maxLength": 12},
            "card_last4": {"type": "string", "maxLength": 4},
            "idempotency_key": _KEY,
        },
        ["method", "idempotency_key"],
    ),
)
def tender(cart_id, body):
    _reserve_coupons(cart_id)
    with db().write() as conn:
        return workflow.tender(
            conn,
            cart_id,
            method=body["method"],
            idempotency_key=body["idempotency_key"],
            actor=actor(),
            amount_minor=body.get("amount_minor"),
            received_minor=body.get("received_minor"),
            approval_code=body.get("approval_code"),
            card_last4=body.get("card_last4"),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/checkout/tenders/<tender_id>/confirm",
    summary="The card terminal approved: its approval code and the card's last 4",
    role="associate",
    path={"tender_id": _ID},
    statuses=[404, 409],
    body=_body(
        {
            "approval_code": {"type": "string", "minLength": 1, "maxLength": 12},
            "card_last4": {"type": "string", "minLength": 4, "maxLength": 4},
        },
        ["approval_code", "card_last4"],
    ),
)
def confirm_tender(tender_id, body):
    with db().write() as conn:
        return workflow.confirm_tender(
            conn,
            tender_id,
            approval_code=body["approval_code"],
            card_last4=body["card_last4"],
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/checkout/tenders/<tender_id>/cancel",
    summary="Take a tender back before the sale commits (cancel a pending one, reverse a paid one)",
    role="associate",
    path={"tender_id": _ID},
    statuses=[404, 409],
    body=_body({"reason": {"type": "string", "maxLength": 200}}),
)
def cancel_tender(tender_id, body):
    method = tenders.get(db().read(), tender_id)["method"]
    if method in pay_codes.PROVIDERS:  # the provider reverses it first
        return pay_flow.cancel(db(), _payments(), tender_id, actor=actor(), device=device())
    if method == pay_terminal.METHOD:  # the terminal voids it first
        return pay_terminal.cancel(db(), _payments(), tender_id, actor=actor(), device=device())
    if method == pay_points.METHOD:  # the points go back to the member in the same transaction
        with db().write() as conn:
            return pay_points.cancel(conn, tender_id, actor=actor(), reason=body.get("reason", ""), device=device())
    with db().write() as conn:
        return workflow.cancel_tender(conn, tender_id, actor=actor(), reason=body.get("reason", ""), device=device())


def _payments() -> dict[str, Any]:
    return pay_client.load_config(hub().config.data_dir)


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/payment-code",
    summary="Pay by the customer's WeChat Pay / Alipay payment code (付款码), recognised by its prefix and "
    "length; waiting=true while the customer confirms (poll the tender). Idempotent by idempotency_key",
    role="associate",
    path=CART_PATH,
    statuses=[400, 404, 409, 422, 503],
    body=_body(
        {
            "auth_code": {"type": "string", "minLength": 1, "maxLength": 64},
            "amount_minor": _MINOR,
            "idempotency_key": _KEY,
        },
        ["auth_code", "idempotency_key"],
    ),
)
def payment_code(cart_id, body):
    _reserve_coupons(cart_id)
    return pay_flow.pay(
        db(),
        _payments(),
        cart_id,
        auth_code=body["auth_code"],
        idempotency_key=body["idempotency_key"],
        amount_minor=body.get("amount_minor"),
        actor=actor(),
        device=device(),
    )


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/card-terminal",
    summary="Pay by card on the till's integrated terminal (ECR link): the amount is sent, the customer taps or "
    "inserts the card; waiting=true when the result is unknown (poll the tender). Idempotent by idempotency_key",
    role="associate",
    path=CART_PATH,
    statuses=[404, 409, 422, 503],
    body=_body({"amount_minor": _MINOR, "idempotency_key": _KEY}, ["idempotency_key"]),
)
def card_terminal(cart_id, body):
    _reserve_coupons(cart_id)
    return pay_terminal.pay(
        db(),
        _payments(),
        cart_id,
        idempotency_key=body["idempotency_key"],
        amount_minor=body.get("amount_minor"),
        actor=actor(),
        device=device(),
    )


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/points",
    summary="The cart's member pays (part of) the sale with points at the store's points value; limited to the "
    "spendable balance. Idempotent by idempotency_key",
    role="associate",
    path=CART_PATH,
    statuses=[400, 404, 409, 422],
    body=_body(
        {"points": {"type": "integer", "minimum": 1, "maximum": 100_000_000}, "idempotency_key": _KEY},
        ["points", "idempotency_key"],
    ),
)
def points_tender(cart_id, body):
    _reserve_coupons(cart_id)
    with db().write() as conn:
        return pay_points.pay(
            conn,
            cart_id,
            points=body["points"],
            idempotency_key=body["idempotency_key"],
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/checkout/tenders/<tender_id>/poll",
    summary="Ask the provider (payment code) or the card terminal (its last transaction) about a tender still "
    "under way (the till polls while the customer confirms)",
    role="associate",
    path={"tender_id": _ID},
    statuses=[400, 404, 409, 503],
)
def poll_tender(tender_id):
    if tenders.get(db().read(), tender_id)["method"] == pay_terminal.METHOD:  # ask for the last transaction
        return pay_terminal.recover(db(), _payments(), tender_id, actor=actor(), device=device())
    return pay_flow.poll(db(), _payments(), tender_id, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/checkout/carts/<cart_id>/complete",
    summary="Commit the sale (refused while tenders are short of the total; idempotent)",
    role="associate",
    path=CART_PATH,
    statuses=[409, 422],
)
def complete(cart_id):
    _reserve_coupons(cart_id)
    with db().write() as conn:
        return workflow.complete_sale(conn, cart_id, actor=actor(), device=device())


# --- items, sales, returns ----------------------------------------------------------------------------------------


@endpoint(
    bp,
    "GET",
    "/checkout/items",
    summary="Find items by name, SKU or pinyin initials (xhs → 西红柿)",
    role="associate",
    response=_OBJ,
    query={
        "q": {"type": "string", "minLength": 1, "maxLength": 100},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
    },
)
def items(query):
    return {"items": search.results(db().read(), query.get("q", ""), limit=query["limit"])}


@endpoint(
    bp,
    "GET",
    "/checkout/sales/<code>",
    summary="A sale by its receipt code, with what can still come back",
    role="associate",
    path={"code": {"type": "string", "maxLength": 64}},
    response=_OBJ,
    statuses=[400, 404],
)
def find_sale(code):
    return workflow.find_sale(db().read(), code)


@endpoint(
    bp,
    "POST",
    "/checkout/sales/<sale_id>/reprint",
    summary="Reprint a receipt, marked as a copy",
    role="associate",
    path={"sale_id": _ID},
    statuses=[404, 422],
)
def reprint(sale_id):
    with db().write() as conn:
        return workflow.reprint(conn, sale_id, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/checkout/returns",
    summary="Goods back by receipt code: refund what was paid to the original tenders; restock or write off",
    role="associate",
    statuses=[201, 403, 404, 409],
    body=_body(
        {
            "till_id": _TILL,
            "receipt_code": {"type": "string", "minLength": 1, "maxLength": 64},
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 300,
                "items": _body(
                    {
                        "line_no": {"type": "integer", "minimum": 1, "maximum": 1000},
                        "qty": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                        "disposition": {"enum": ["restock", "writeoff"]},
                        "reason": {"type": "string", "maxLength": 200},
                    },
                    ["line_no"],
                ),
            },
            "approval_badge": _BADGE,
            "card_approval_code": {"type": "string", "maxLength": 12},
            "idempotency_key": _KEY,
        },
        ["till_id", "receipt_code", "lines", "idempotency_key"],
    ),
)
def return_goods(body):
    with db().write() as conn:
        out = workflow.return_goods(
            conn,
            till_id=body["till_id"],
            receipt_code=body["receipt_code"],
            lines=body["lines"],
            idempotency_key=body["idempotency_key"],
            actor=actor(),
            secret_key=hub().secret_key,
            approval_badge=body.get("approval_badge"),
            card_approval_code=body.get("card_approval_code"),
            device=device(),
        )
    if any(t["method"] in pay_codes.PROVIDERS for t in out["tenders"]):  # after the commit: refund by the provider
        out["provider_refunds"] = pay_flow.settle_refunds(db(), _payments(), out["return_id"], actor=actor())
    if any(t["method"] == pay_terminal.METHOD for t in out["tenders"]):  # after the commit: refund on the terminal
        out["terminal_refunds"] = pay_terminal.settle_refunds(db(), _payments(), out["return_id"], actor=actor())
    return out, 201


@endpoint(
    bp, "GET", "/checkout/journal/verify", summary="Verify the sale journal's hash chain", role="manager", response=_OBJ
)
def verify_journal():
    return journal.verify(db().read())
