"""The central's JSON API for office tools: pull synced data incrementally by cursor.

Declared with the hub's endpoint framework under :data:`sync.central.access.READ_API` (authentication, roles,
query and body validation, the error body and the OpenAPI document at ``/api/v1/openapi.json`` all come from
the declarations). Authentication: ``POST /api/v1/auth/token`` with a head-office username and password returns
a bearer token (12 h); a logged-in browser session works for GET requests too.

Cursor semantics (``GET /api/v1/events``): the cursor is an opaque token holding
one position per store. A page only ever returns events at or below each
store's contiguous high-water mark, in seq order — rows there can never appear
later — so following ``next_cursor`` until ``more`` is false yields every
event exactly once, whatever order the stores' batches arrived in."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, g
from sqlalchemy import select

from hub.http.openapi import document, serve_document
from hub.kernel.errors import TooManyAttempts, Unauthorized, ValidationError
from sync.central import downlink, office, reports
from sync.central import schema as t
from sync.central.access import READ_API

bp = Blueprint("central_api", __name__, url_prefix=READ_API.prefix)

# Every declared route of the read API, in declaration order (the OpenAPI document is generated from these).
ROUTES = READ_API.registry

MAX_VERSION = 2**63 - 1  # a downlink version is a 64-bit integer
STORE_Q = {"type": "string", "maxLength": 64, "description": "limit to one store"}
_ITEMS = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object"}}},
}


def _engine():
    return current_app.extensions["central"].engine


@READ_API.endpoint(
    bp,
    "POST",
    "/auth/token",
    public=True,
    tags=["auth"],
    statuses=[401, 429],
    summary="Exchange a head-office username and password for a bearer token",
    body={
        "type": "object",
        "required": ["username", "password"],
        "additionalProperties": False,
        "properties": {
            "username": {"type": "string", "maxLength": 200},
            "password": {"type": "string", "maxLength": 1000},
        },
    },
    response={
        "type": "object",
        "required": ["token", "expires_at", "user"],
        "properties": {"token": {"type": "string"}, "expires_at": {"type": "string"}, "user": {"type": "object"}},
    },
)
def token(body: dict[str, Any]):
    try:
        u = office.check_password(_engine(), body["username"], body["password"])
    except office.Locked as exc:
        raise TooManyAttempts(str(exc), details={"retry_after_s": exc.retry_after_s}) from exc
    if u is None:
        raise Unauthorized("wrong username or password")
    cfg = current_app.extensions["central"].config
    return {**office.issue_token(_engine(), u["id"], cfg.token_ttl_hours), "user": u}


def _decode_cursor(raw: str | None) -> dict[str, int]:
    if not raw:
        return {}
    try:
        pos = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        assert isinstance(pos, dict) and all(isinstance(k, str) and isinstance(v, int) for k, v in pos.items())
        return pos
    except Exception:
        raise ValidationError("cursor is not one this API issued", code="bad_cursor") from None


def _encode_cursor(pos: dict[str, int]) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(pos, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("=")
    )


@READ_API.endpoint(
    bp,
    "GET",
    "/events",
    role="viewer",
    tags=["data"],
    summary="Synced hub events after a cursor (every event exactly once, per-store seq order)",
    query={
        "cursor": {"type": "string", "maxLength": 100000, "description": "next_cursor of the previous page"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 500},
        "kind": {"type": "string", "maxLength": 64, "description": "only this event kind"},
        "store": STORE_Q,
    },
    response={
        "type": "object",
        "required": ["events", "next_cursor", "more"],
        "properties": {
            "events": {"type": "array", "items": {"type": "object"}},
            "next_cursor": {"type": "string"},
            "more": {"type": "boolean"},
        },
    },
)
def events(query: dict[str, Any]):
    pos = _decode_cursor(query.get("cursor"))
    limit, out = query["limit"], []
    e = t.events.c
    with _engine().connect() as conn:
        sq = select(t.stores.c.store_id, t.stores.c.hw_seq).order_by(t.stores.c.store_id)
        if query.get("store"):
            sq = sq.where(t.stores.c.store_id == query["store"])
        more = False
        for sid, hw in conn.execute(sq).all():
            at = pos.get(sid, 0)
            if hw <= at:
                continue
            room = limit - len(out)
            if room <= 0:
                more = True
                break
            q = (
                select(e.store_id, e.seq, e.event_id, e.kind, e.hub_ts, e.received_at, e.payload)
                .where(e.store_id == sid, e.seq > at, e.seq <= hw)
                .order_by(e.seq)
                .limit(room)
            )
            if query.get("kind"):
                q = q.where(e.kind == query["kind"])
            rows = conn.execute(q).mappings().all()
            out += [dict(r) for r in rows]
            if len(rows) == room:
                pos[sid] = rows[-1]["seq"]
                more = more or rows[-1]["seq"] < hw
            else:
                pos[sid] = hw
    return {"events": out, "next_cursor": _encode_cursor(pos), "more": more}


@READ_API.endpoint(
    bp,
    "GET",
    "/stores",
    role="viewer",
    tags=["data"],
    response=_ITEMS,
    summary="Every store with its sync status (lag, gaps, devices offline, open alerts)",
)
def stores_list():
    return {"items": reports.stores_overview(_engine())}


@READ_API.endpoint(
    bp,
    "GET",
    "/stock",
    role="viewer",
    tags=["data"],
    response=_ITEMS,
    summary="On hand by item (sku) and store",
    query={
        "q": {"type": "string", "maxLength": 64},
        "category": {"type": "string", "maxLength": 200},
        "store": STORE_Q,
    },
)
def stock(query: dict[str, Any]):
    return {
        "items": reports.stock_by_item(
            _engine(), sku=query.get("q"), category=query.get("category"), store=query.get("store"), limit=5000
        )
    }


@READ_API.endpoint(
    bp,
    "GET",
    "/movements/daily",
    role="viewer",
    tags=["data"],
    response=_ITEMS,
    summary="Movement lines, quantity and value per day, store and kind",
    query={
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "store": STORE_Q,
        "kind": {"type": "string", "maxLength": 32},
    },
)
def movements_daily(query: dict[str, Any]):
    end = query.get("end") or reports.today(_engine(), query.get("store"))
    if end.year < 2000 or (query.get("start") and query["start"].year < 2000):
        raise ValidationError("dates before 2000 hold no movements", code="bad_query")
    start = query.get("start") or end - timedelta(days=29)
    if start > end:
        raise ValidationError("start is after end", code="bad_query")
    return {
        "items": reports.movements_by_day(
            _engine(), start=start, end=end, store=query.get("store"), kind=query.get("kind")
        )
    }


@READ_API.endpoint(
    bp,
    "GET",
    "/downlink",
    role="viewer",
    tags=["downlink"],
    summary="Centrally authored changes (catalog, prices, promotions, users, settings, policy)",
    query={
        "after": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION, "default": 0},
        "store": {"type": "string", "maxLength": 64, "description": "as seen by this store"},
    },
    response={
        "type": "object",
        "required": ["changes"],
        "properties": {"changes": {"type": "array", "items": {"type": "object"}}, "latest": {"type": "integer"}},
    },
)
def downlink_list(query: dict[str, Any]):
    if query.get("store"):
        return downlink.changes_for(_engine(), query["store"], query["after"], 2000)
    c = t.downlink_changes.c
    with _engine().connect() as conn:
        rows = (
            conn.execute(select(t.downlink_changes).where(c.version > query["after"]).order_by(c.version).limit(2000))
            .mappings()
            .all()
        )
    return {"changes": [dict(r) for r in rows], "latest": downlink.head(_engine())}


@READ_API.endpoint(
    bp,
    "POST",
    "/downlink",
    role="admin",
    tags=["downlink"],
    statuses=[201],
    summary="Publish a change to every store (scope '*') or one store",
    body={
        "type": "object",
        "required": ["kind", "payload"],
        "properties": {
            "kind": {"type": "string", "enum": list(downlink.KINDS)},
            "key": {"type": "string"},
            "scope": {"type": "string", "default": "*"},
            "payload": {"type": "object"},
        },
    },
    response={"type": "object", "required": ["version"], "properties": {"version": {"type": "integer"}}},
)
def downlink_publish(body: dict[str, Any]):
    row = downlink.author(
        _engine(),
        str(body["kind"]),
        body["payload"],
        key=str(body.get("key") or ""),
        scope=str(body.get("scope") or "*"),
        author=g.user["username"],
    )
    return row, 201


serve_document(READ_API, bp)


def openapi_document() -> dict[str, Any]:
    """The read API's OpenAPI document (what ``GET /api/v1/openapi.json`` serves)."""
    return document(READ_API, ROUTES)
