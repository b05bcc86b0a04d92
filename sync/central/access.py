"""Who may call the central's two HTTP APIs, declared with the hub's endpoint framework (``hub.http.framework``).

``READ_API`` (``/api/v1``): head-office users (:mod:`sync.central.office`). A bearer token from
``POST /api/v1/auth/token`` works for every route; the browser session of the office pages works for GET
requests only (so a page can never be made to change anything behind the user's back). Roles viewer < admin.

``SYNC_API`` (``/sync/v1``): stores (:mod:`sync.central.stores`). The credential of ``sync.protocol``:
``Authorization: Bearer <store secret>`` and ``X-StoreHub-Store: <store_id>``, which must be the store of the
path; the one role is ``store``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, session

from hub.http.framework import SAFE_METHODS, Api, AuthModel
from hub.kernel.errors import Unauthorized
from sync.central import office, stores
from sync.protocol import STORE_HEADER


def _engine():
    return current_app.extensions["central"].engine


def _bearer() -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.startswith("Bearer ") else None


def office_user() -> dict[str, Any] | None:
    """The head-office user of this request: by bearer token, or by the office pages' session (safe methods)."""
    token = _bearer()
    if token is not None:
        user, via = office.user_for_token(_engine(), token), "token"
    elif session.get("uid") and request.method in SAFE_METHODS:
        user, via = office.get_user(_engine(), session["uid"]), "cookie"
    else:
        return None
    return {**user, "via": via} if user else None


def store_principal() -> dict[str, Any] | None:
    """The store of the path, if the request carries its credential (None: no credential for this path)."""
    store_id = (request.view_args or {}).get("store_id")
    secret = _bearer()
    if store_id is None or secret is None or request.headers.get(STORE_HEADER) != store_id:
        return None
    if not stores.authenticate(_engine(), store_id, secret):
        current_app.logger.warning("sync: rejected credential for store %s from %s", store_id, request.remote_addr)
        raise Unauthorized("unknown store or wrong credential")
    g.store_id = store_id
    return {"store_id": store_id, "role": "store"}


READ_API = Api(
    name="central",
    prefix="/api/v1",
    title="StoreHub central read API",
    description="Pull synced store data incrementally by cursor; publish downlink changes. Money in integer "
    "minor units; times UTC.",
    blank_query_is_absent=True,
    auth=AuthModel(
        roles=office.ROLES,
        authenticate=office_user,
        actor=lambda user: user["username"],
        unauthorized="log in: POST /api/v1/auth/token, then send a Bearer token",
        security_schemes={
            "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token"},
            "cookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "storehub_central",
                "description": "the office pages' login session; GET requests only",
            },
        },
        security=[{"bearer": []}, {"cookie": []}],
    ),
)

SYNC_API = Api(
    name="sync",
    prefix="/sync/v1",
    title="StoreHub central sync API",
    description="What a store's hub calls (sync.protocol): push outbox batches, pull and acknowledge the downlink. "
    "Request bodies may be gzip-compressed (Content-Encoding: gzip).",
    auth=AuthModel(
        roles=("store",),
        authenticate=store_principal,
        actor=lambda store: f"store:{store['store_id']}",
        unauthorized="store credential required",
        security_schemes={
            "storeSecret": {"type": "http", "scheme": "bearer", "description": "the store's secret (shs_...)"},
            "storeId": {"type": "apiKey", "in": "header", "name": STORE_HEADER, "description": "the store of the path"},
        },
        security=[{"storeSecret": [], "storeId": []}],
    ),
)
