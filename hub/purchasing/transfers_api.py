"""Routes of transfers between stores and of the lot recall: each a JSON Schema plus one domain call in one
transaction (hub/purchasing/transfers.py, hub/purchasing/recall.py)."""

from __future__ import annotations

import re

from flask import Blueprint, Response

from hub.http.context import actor, db, device
from hub.http.framework import endpoint
from hub.purchasing import recall as recall_mod
from hub.purchasing import transfers

bp = Blueprint("purchasing_transfers", __name__)
P = "/purchasing/transfers"
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_KEY = {"type": "string", "minLength": 8, "maxLength": 200}
_STORE = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}
_TEXT = {"type": "string", "maxLength": 500}


def _safe(lot: str) -> str:
    """The lot as a file name: letters, digits, '.', '-' and '_' only (a header cannot carry the rest)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", lot)


def _keyed(extra: dict | None = None, required: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key", *required],
        "properties": {"idempotency_key": _KEY, **(extra or {})},
    }


@endpoint(
    bp,
    "GET",
    P,
    summary="Transfers between stores, newest first",
    role="associate",
    query={"status": {"type": "string", "enum": list(transfers.STATUSES)}},
)
def list_transfers(query):
    return {"items": transfers.list_transfers(db().read(), status=query.get("status"))}


@endpoint(bp, "GET", P + "/in-transit", summary="The in-transit book: shipped, not yet received", role="associate")
def in_transit():
    return {"items": transfers.in_transit(db().read())}


@endpoint(
    bp,
    "GET",
    P + "/<transfer_id>",
    summary="One transfer with its lines, scans and discrepancies",
    role="associate",
    statuses=[404],
)
def get_transfer(transfer_id):
    return transfers.get(db().read(), transfer_id)


@endpoint(
    bp,
    "POST",
    P,
    summary="Propose a transfer from this store to another",
    role="supervisor",
    statuses=[400, 404],
    body=_keyed(
        {
            "to_store": _STORE,
            "note": _TEXT,
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 500,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["qty"],
                    "properties": {
                        "item_id": _ID,
                        "sku": {"type": "string", "minLength": 1, "maxLength": 64},
                        "qty": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
                    },
                },
            },
        },
        ("to_store", "lines"),
    ),
)
def propose(body):
    with db().write() as conn:
        return transfers.propose(
            conn,
            to_store=body["to_store"],
            lines=body["lines"],
            note=body.get("note", ""),
            actor=actor(),
            idempotency_key=body["idempotency_key"],
            device=device(),
        )


def _step(fn, transfer_id, body, **kw):
    with db().write() as conn:
        return fn(conn, transfer_id, actor=actor(), idempotency_key=body["idempotency_key"], device=device(), **kw)


@endpoint(
    bp,
    "POST",
    P + "/<transfer_id>/accept",
    summary="The sending store accepts the transfer",
    role="supervisor",
    statuses=[404, 409],
    body=_keyed(),
)
def accept(transfer_id, body):
    return _step(transfers.accept, transfer_id, body)


@endpoint(
    bp,
    "POST",
    P + "/<transfer_id>/pick",
    summary="Record what was picked per line (none given: every line as proposed)",
    role="associate",
    statuses=[404, 409, 422],
    body=_keyed(
        {
            "lines": {
                "type": "array",
                "maxItems": 500,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["line_no", "qty"],
                    "properties": {
                        "line_no": {"type": "integer", "minimum": 1, "maximum": 100_000},
                        "qty": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                    },
                },
            }
        }
    ),
)
def pick(transfer_id, body):
    lines = body.get("lines")
    picked = {ln["line_no"]: ln["qty"] for ln in lines} if lines is not None else None
    return _step(transfers.pick, transfer_id, body, picked=picked)


@endpoint(
    bp,
    "POST",
    P + "/<transfer_id>/ship",
    summary="Ship what was picked: the stock leaves into transit",
    role="associate",
    statuses=[404, 409, 422],
    body=_keyed(),
)
def ship(transfer_id, body):
    return _step(transfers.ship, transfer_id, body)


@endpoint(
    bp,
    "POST",
    P + "/<transfer_id>/scans",
    summary="A receiving scan at the receiving store",
    role="associate",
    statuses=[400, 404, 409, 422],
    body=_keyed(
        {
            "code": {"type": "string", "minLength": 1, "maxLength": 200},
            "qty": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
        },
        ("code",),
    ),
)
def scan(transfer_id, body):
    with db().write() as conn:
        return transfers.scan(
            conn,
            transfer_id,
            body["code"],
            qty=body.get("qty"),
            actor=actor(),
            idempotency_key=body["idempotency_key"],
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    P + "/<transfer_id>/confirm",
    summary="Confirm the receipt: stock in, discrepancies with reasons",
    role="associate",
    statuses=[404, 409, 422],
    body=_keyed({"reasons": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 200}}}),
)
def confirm(transfer_id, body):
    return _step(transfers.confirm, transfer_id, body, reasons=body.get("reasons"))


@endpoint(
    bp,
    "POST",
    P + "/<transfer_id>/close",
    summary="Close a received transfer",
    role="supervisor",
    statuses=[404, 409],
    body=_keyed({"note": _TEXT}),
)
def close(transfer_id, body):
    return _step(transfers.close, transfer_id, body, note=body.get("note", ""))


@endpoint(
    bp,
    "POST",
    P + "/<transfer_id>/cancel",
    summary="Cancel a transfer before it ships",
    role="supervisor",
    statuses=[400, 404, 409],
    body=_keyed({"reason": {"type": "string", "minLength": 1, "maxLength": 200}}, ("reason",)),
)
def cancel(transfer_id, body):
    return _step(transfers.cancel, transfer_id, body, reason=body["reason"])


_LOT_QUERY = {
    "lot": {"type": "string", "minLength": 1, "maxLength": 20, "required": True},
    "item_id": _ID,
}


@endpoint(
    bp,
    "GET",
    "/purchasing/recall/full",
    summary="Recall of a lot: where it is, receipts, members, orders",
    role="supervisor",
    statuses=[404],
    query=_LOT_QUERY,
)
def recall_full(query):
    return recall_mod.recall(db().read(), query["lot"], item_id=query.get("item_id"))


@endpoint(
    bp,
    "GET",
    "/purchasing/recall.csv",
    summary="Recall of a lot as CSV",
    role="supervisor",
    statuses=[404],
    query=_LOT_QUERY,
)
def recall_csv(query):
    r = recall_mod.recall(db().read(), query["lot"], item_id=query.get("item_id"))
    return Response(
        recall_mod.to_csv(recall_mod.rows(r)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="recall-{_safe(query["lot"])}.csv"'},
    )
