"""The read API's transfer and recall routes (``/api/v1/transfers``, ``/api/v1/recall``): transfers between stores
across the chain (sync/central/transfers.py) and the recall of a lot across stores (sync/central/recall.py)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, g

from sync.central import recall, transfers
from sync.central.access import READ_API

bp = Blueprint("central_transfers_api", __name__, url_prefix=READ_API.prefix)
_OBJ = {"type": "object"}
_STORE = {"type": "string", "minLength": 1, "maxLength": 64}
_LOT_QUERY = {
    "lot": {"type": "string", "minLength": 1, "maxLength": 20, "required": True},
    "item": {"type": "string", "maxLength": 40, "description": "limit to one item id"},
}


def _safe(lot: str) -> str:
    """The lot as a file name: letters, digits, '.', '-' and '_' only (a header cannot carry the rest)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", lot)


def _engine():
    return current_app.extensions["central"].engine


@READ_API.endpoint(
    bp,
    "GET",
    "/transfers",
    role="viewer",
    tags=["transfers"],
    response=_OBJ,
    summary="Transfers between stores: each one's latest step either store reported",
)
def list_transfers():
    return {"items": transfers.documents(_engine())}


@READ_API.endpoint(
    bp,
    "GET",
    "/transfers/in-transit",
    role="viewer",
    tags=["transfers"],
    response=_OBJ,
    summary="Stock in transit between stores: shipped lines not yet received",
)
def in_transit():
    return {"items": transfers.in_transit(_engine())}


@READ_API.endpoint(
    bp,
    "GET",
    "/transfers/discrepancies",
    role="viewer",
    tags=["transfers"],
    response=_OBJ,
    summary="Short, over and wrong-item receipts of transfers, with the receiving store's reasons",
)
def discrepancies():
    return {"items": transfers.discrepancies(_engine())}


@READ_API.endpoint(
    bp,
    "GET",
    "/transfers/suggestions",
    role="viewer",
    tags=["transfers"],
    response=_OBJ,
    summary="Suggested transfers: surplus above twice the reorder point to stores at or below it",
)
def suggestions():
    return {"items": transfers.suggestions(_engine())}


@READ_API.endpoint(
    bp,
    "POST",
    "/transfers",
    role="admin",
    tags=["transfers"],
    statuses=[400],
    response=_OBJ,
    summary="Head office proposes a transfer; it goes down to the sending store",
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["from_store", "to_store", "lines"],
        "properties": {
            "from_store": _STORE,
            "to_store": _STORE,
            "note": {"type": "string", "maxLength": 500},
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 500,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sku", "qty"],
                    "properties": {
                        "sku": {"type": "string", "minLength": 1, "maxLength": 64},
                        "item_id": {"type": "string", "maxLength": 40},
                        "qty": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
                    },
                },
            },
        },
    },
)
def propose(body: dict[str, Any]):
    return transfers.propose(
        _engine(),
        from_store=body["from_store"],
        to_store=body["to_store"],
        lines=body["lines"],
        note=body.get("note", ""),
        author=g.user["username"],
    )


@READ_API.endpoint(
    bp,
    "GET",
    "/recall",
    role="viewer",
    tags=["recall"],
    response=_OBJ,
    statuses=[404],
    query=_LOT_QUERY,
    summary="Recall of a lot across stores: where it is, receipts, members, orders",
)
def recall_json(query: dict[str, Any]):
    return recall.recall(_engine(), query["lot"], item_id=query.get("item"))


@READ_API.endpoint(
    bp,
    "GET",
    "/recall.csv",
    role="viewer",
    tags=["recall"],
    statuses=[404],
    query=_LOT_QUERY,
    summary="Recall of a lot across stores as CSV",
)
def recall_csv(query: dict[str, Any]):
    r = recall.recall(_engine(), query["lot"], item_id=query.get("item"))
    return Response(
        recall.to_csv(recall.rows(r)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="recall-{_safe(query["lot"])}.csv"'},
    )
