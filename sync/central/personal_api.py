"""The read API's personal-data routes (``/api/v1/members/...``): a head-office user with role admin finds a
member by phone, exports one member's personal data and history, withdraws their consent, erases them. Every call
is audited (``personal_audit``); the work is :mod:`sync.central.personal`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g

from sync.central import personal
from sync.central.access import READ_API

bp = Blueprint("central_personal_api", __name__, url_prefix=READ_API.prefix)

_MEMBER = {"member_id": {"type": "string", "minLength": 1, "maxLength": 40}}
_OBJ = {"type": "object"}


def _engine():
    return current_app.extensions["central"].engine


@READ_API.endpoint(
    bp,
    "GET",
    "/members/by-phone",
    role="admin",
    tags=["members"],
    statuses=[404],
    summary="Find a member by phone number (through the central's keyed hash; audited)",
    query={
        "phone": {"type": "string", "maxLength": 32, "required": True, "description": "as the member gives it"},
        "region": {"type": "string", "pattern": "^[A-Z]{2}$", "default": "CN", "description": "numbering plan"},
    },
    response=_OBJ,
)
def by_phone(query: dict[str, Any]):
    return personal.find_by_phone(_engine(), query["phone"], actor=g.actor, region=query["region"])


@READ_API.endpoint(
    bp,
    "GET",
    "/members/<member_id>/export",
    role="admin",
    tags=["members"],
    statuses=[404],
    path=_MEMBER,
    summary="One member's personal data, consents and points history as JSON (their access request; audited)",
    response=_OBJ,
)
def export(member_id: str):
    return personal.export(_engine(), member_id, actor=g.actor)


@READ_API.endpoint(
    bp,
    "POST",
    "/members/<member_id>/consent/withdraw",
    role="admin",
    tags=["members"],
    statuses=[404],
    path=_MEMBER,
    summary="Withdraw a member's consent (one purpose, or all): recorded; no more marketing",
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"purpose": {"type": "string", "pattern": "^[a-z_]{1,32}$"}},
    },
    response=_OBJ,
)
def withdraw(member_id: str, body: dict[str, Any]):
    return personal.withdraw(_engine(), member_id, actor=g.actor, purpose=body.get("purpose"))


@READ_API.endpoint(
    bp,
    "POST",
    "/members/<member_id>/erase",
    role="admin",
    tags=["members"],
    statuses=[404],
    path=_MEMBER,
    summary="Erase a member's personal data here and on every hub (history stays, anonymous)",
    response=_OBJ,
)
def erase(member_id: str):
    return personal.erase(_engine(), member_id, actor=g.actor)
