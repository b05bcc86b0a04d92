"""The central's JSON API for office tools: pull synced data incrementally by cursor.

Authentication: ``POST /api/v1/auth/token`` with a head-office username and
password returns a bearer token (12 h); a logged-in browser session works for
GET requests too. Routes are declared with ``@route`` which records them for the
OpenAPI document at ``/api/v1/openapi.json`` (a test checks the document and the
URL map agree).

Cursor semantics (``GET /api/v1/events``): the cursor is an opaque token holding
one position per store. A page only ever returns events at or below each
store's contiguous high-water mark, in seq order — rows there can never appear
later — so following ``next_cursor`` until ``more`` is false yields every
event exactly once, whatever order the stores' batches arrived in."""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request, session
from sqlalchemy import select

from hub.kernel.errors import StoreHubError

from sync.central import downlink, office, reports
from sync.central import schema as t

bp = Blueprint("central_api", __name__, url_prefix="/api/v1")


@dataclass
class Route:
    method: str
    rule: str
    summary: str
    params: dict[str, dict]
    body: dict | None
    role: str | None
    tags: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return "/api/v1" + re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", self.rule)


ROUTES: list[Route] = []


def _engine():
    return current_app.extensions["central"].engine


def _err(status: int, code: str, message: str, details: Any = None):
    return jsonify({"error": {"code": code, "message": message, "details": details}}), status


def route(method: str, rule: str, *, summary: str, params: dict[str, dict] | None = None, body: dict | None = None,
          role: str | None = "viewer", tag: str = "data"):
    """Declare an API route: auth (role None = public), query parameter parsing, OpenAPI entry."""
    params = params or {}
    spec = Route(method, rule, summary, params, body, role, [tag])
    ROUTES.append(spec)

    def deco(fn: Callable):
        @functools.wraps(fn)
        def view(**kw):
            if role is not None:
                user = None
                auth = request.headers.get("Authorization", "")
                if auth.startswith("Bearer "):
                    user = office.user_for_token(_engine(), auth[7:].strip())
                elif session.get("uid") and method == "GET":
                    user = office.get_user(_engine(), session["uid"])
                if user is None:
                    return _err(401, "unauthorized", "log in: POST /api/v1/auth/token, then send a Bearer token")
                if role == "admin" and user["role"] != "admin":
                    return _err(403, "forbidden", "head-office admins only")
                g.user = user
            q = {}
            for name, sch in params.items():
                raw = request.args.get(name)
                if raw is None or raw == "":
                    if "default" in sch:
                        q[name] = sch["default"]
                    continue
                try:
                    if sch.get("type") == "integer":
                        v = int(raw)
                        if v < sch.get("minimum", -2**63) or v > sch.get("maximum", 2**63):
                            raise ValueError
                    elif sch.get("format") == "date":
                        v = date.fromisoformat(raw)
                    else:
                        v = raw
                        if len(v) > sch.get("maxLength", 200):
                            raise ValueError
                except ValueError:
                    return _err(400, "bad_query", f"{name}: expected {sch.get('format') or sch.get('type')}"
                                + (f" in [{sch.get('minimum')}, {sch.get('maximum')}]" if "minimum" in sch else ""))
                q[name] = v
            if body is not None:
                doc = request.get_json(silent=True)
                if not isinstance(doc, dict):
                    return _err(400, "bad_body", "a JSON object is required")
                missing = [k for k in body.get("required", []) if k not in doc]
                if missing:
                    return _err(400, "bad_body", f"missing: {', '.join(missing)}")
                kw["body"] = doc
            try:
                return fn(query=q, **kw)
            except StoreHubError as exc:
                return jsonify(exc.to_dict()), exc.status
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view
    return deco


STORE_Q = {"type": "string", "maxLength": 64, "description": "limit to one store"}


@route("POST", "/auth/token", summary="Exchange a head-office username and password for a bearer token", role=None,
       tag="auth", body={"type": "object", "required": ["username", "password"],
                         "properties": {"username": {"type": "string"}, "password": {"type": "string"}}})
def token(query, body):
    try:
        u = office.check_password(_engine(), str(body.get("username", "")), str(body.get("password", "")))
    except office.Locked as exc:
        return _err(429, "too_many_attempts", str(exc), {"retry_after_s": exc.retry_after_s})
    if u is None:
        return _err(401, "unauthorized", "wrong username or password")
    cfg = current_app.extensions["central"].config
    return jsonify({**office.issue_token(_engine(), u["id"], cfg.token_ttl_hours), "user": u})


def _decode_cursor(raw: str | None) -> dict[str, int]:
    if not raw:
        return {}
    try:
        pos = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        assert isinstance(pos, dict) and all(isinstance(k, str) and isinstance(v, int) for k, v in pos.items())
        return pos
    except Exception:
        raise ValueError("cursor is not one this API issued")


def _encode_cursor(pos: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(pos, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("=")


@route("GET", "/events", summary="Synced hub events after a cursor (every event exactly once, per-store seq order)",
       params={"cursor": {"type": "string", "maxLength": 100000, "description": "next_cursor of the previous page"},
               "limit": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 500},
               "kind": {"type": "string", "maxLength": 64, "description": "only this event kind"},
               "store": STORE_Q})
def events(query):
    try:
        pos = _decode_cursor(query.get("cursor"))
    except ValueError as exc:
        return _err(400, "bad_cursor", str(exc))
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
            q = (select(e.store_id, e.seq, e.event_id, e.kind, e.hub_ts, e.received_at, e.payload)
                 .where(e.store_id == sid, e.seq > at, e.seq <= hw).order_by(e.seq).limit(room))
            if query.get("kind"):
                q = q.where(e.kind == query["kind"])
            rows = conn.execute(q).mappings().all()
            out += [dict(r) for r in rows]
            if len(rows) == room:
                pos[sid] = rows[-1]["seq"]
                more = more or rows[-1]["seq"] < hw
            else:
                pos[sid] = hw
    return jsonify({"events": out, "next_cursor": _encode_cursor(pos), "more": more})


@route("GET", "/stores", summary="Every store with its sync status (lag, gaps, devices offline, open alerts)")
def stores_list(query):
    return jsonify({"items": reports.stores_overview(_engine())})


@route("GET", "/stock", summary="On hand by item (sku) and store",
       params={"q": {"type": "string", "maxLength": 64}, "category": {"type": "string", "maxLength": 200},
               "store": STORE_Q})
def stock(query):
    return jsonify({"items": reports.stock_by_item(_engine(), sku=query.get("q"), category=query.get("category"),
                                                   store=query.get("store"), limit=5000)})


@route("GET", "/movements/daily", summary="Movement lines, quantity and value per day, store and kind",
       params={"start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
               "store": STORE_Q, "kind": {"type": "string", "maxLength": 32}})
def movements_daily(query):
    end = query.get("end") or reports.today(_engine(), query.get("store"))
    start = query.get("start") or end - timedelta(days=29)
    if start > end:
        return _err(400, "bad_query", "start is after end")
    return jsonify({"items": reports.movements_by_day(_engine(), start=start, end=end, store=query.get("store"),
                                                      kind=query.get("kind"))})


@route("GET", "/downlink", summary="Centrally authored changes (catalog, prices, promotions, users, settings, policy)",
       params={"after": {"type": "integer", "minimum": 0, "default": 0},
               "store": {"type": "string", "maxLength": 64, "description": "as seen by this store"}}, tag="downlink")
def downlink_list(query):
    if query.get("store"):
        return jsonify(downlink.changes_for(_engine(), query["store"], query["after"], 2000))
    c = t.downlink_changes.c
    with _engine().connect() as conn:
        rows = conn.execute(select(t.downlink_changes).where(c.version > query["after"]).order_by(c.version)
                            .limit(2000)).mappings().all()
    return jsonify({"changes": [dict(r) for r in rows], "latest": downlink.head(_engine())})


@route("POST", "/downlink", summary="Publish a change to every store (scope '*') or one store", role="admin",
       tag="downlink", body={"type": "object", "required": ["kind", "payload"], "properties": {
           "kind": {"type": "string", "enum": list(downlink.KINDS)}, "key": {"type": "string"},
           "scope": {"type": "string", "default": "*"}, "payload": {"type": "object"}}})
def downlink_publish(query, body):
    row = downlink.author(_engine(), str(body["kind"]), body["payload"], key=str(body.get("key") or ""),
                          scope=str(body.get("scope") or "*"), author=g.user["username"])
    return jsonify(row), 201


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for r in ROUTES:
        op: dict[str, Any] = {"summary": r.summary, "tags": r.tags, "operationId": f"{r.method.lower()}_{r.rule}",
                              "parameters": [{"name": n, "in": "query", "required": False,
                                              "schema": {k: v for k, v in s.items() if k != "description"},
                                              **({"description": s["description"]} if "description" in s else {})}
                                             for n, s in r.params.items()],
                              "responses": {"200": {"description": "OK"}, "400": {"description": "bad input"}}}
        if r.role:
            op["security"] = [{"bearer": []}, {"cookie": []}] if r.method == "GET" else [{"bearer": []}]
            op["responses"]["401"] = {"description": "not logged in"}
            if r.role == "admin":
                op["responses"]["403"] = {"description": "admins only"}
        else:
            op["security"] = []
        if r.body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": r.body}}}
        if r.method == "POST" and r.rule == "/downlink":
            op["responses"]["201"] = op["responses"].pop("200")
        paths.setdefault(r.path, {})[r.method.lower()] = op
    paths["/api/v1/openapi.json"] = {"get": {"summary": "This document", "security": [], "tags": ["meta"],
                                             "operationId": "get_openapi", "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.1.0",
            "info": {"title": "StoreHub central read API", "version": "1",
                     "description": "Pull synced store data incrementally by cursor; publish downlink changes."},
            "paths": paths,
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "storehub_central"}}}}


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
