"""Members routes: each is a JSON Schema plus one domain call in one transaction (hub/members/*)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hub.http.context import actor, db, device, hub
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.members import identity, points, tiers, workflow

bp = Blueprint("members", __name__)

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_PHONE = {"type": "string", "minLength": 1, "maxLength": 32}
_CODE = {"type": "string", "minLength": 4, "maxLength": 80}
_OBJ: dict[str, Any] = {"type": "object"}
MEMBER_PATH = {"member_id": _ID}
TILL_VIEW = {
    "type": "object",
    "required": ["id", "card_no", "phone_masked", "tier", "points"],
    "properties": {
        "id": {"type": "string"},
        "card_no": {"type": "string"},
        "phone_masked": {"type": "string"},
        "tier": {"type": "string"},
        "birthday_month": {"type": ["integer", "null"]},
        "points": _OBJ,
    },
}


def _body(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required or [], "properties": props}


_ONE_WAY = {**_body({"phone": _PHONE, "code": _CODE}), "oneOf": [{"required": ["phone"]}, {"required": ["code"]}]}


@endpoint(
    bp,
    "POST",
    "/members",
    summary="Enrol a member (or find the one this phone belongs to: 200)",
    role="associate",
    statuses=[200, 201, 409],
    response=TILL_VIEW,
    body=_body(
        {
            "phone": _PHONE,
            "name": {"type": ["string", "null"], "maxLength": 200},
            "birthday": {"type": ["string", "null"], "maxLength": 10},
            "consent": _body(
                {
                    "purpose": {"type": "string", "maxLength": 32},
                    "granted": {"type": "boolean"},
                    "terms_version": {"type": "string", "maxLength": 32},
                },
                ["purpose", "granted"],
            ),
        },
        ["phone", "consent"],
    ),
)
def enrol(body):
    with db().write() as conn:
        member, created = identity.enrol(
            conn,
            phone=body["phone"],
            name=body.get("name"),
            birthday=body.get("birthday"),
            consent=body["consent"],
            actor=actor(),
            device=device(),
        )
    return {**member, "created": created}, 201 if created else 200


@endpoint(
    bp,
    "POST",
    "/members/identify",
    summary="Identify a member by phone, member card or dynamic code",
    role="associate",
    statuses=[404, 409],
    response=TILL_VIEW,
    body=_ONE_WAY,
)
def identify(body):
    with db().write() as conn:
        return identity.identify(conn, phone=body.get("phone"), code=body.get("code"), actor=actor(), device=device())


@endpoint(
    bp,
    "GET",
    "/members/<member_id>",
    summary="A member as the till shows them (masked)",
    role="associate",
    path=MEMBER_PATH,
    statuses=[404],
    response=TILL_VIEW,
)
def get_member(member_id):
    return identity.till_view(db().read(), member_id)


@endpoint(
    bp,
    "GET",
    "/members/<member_id>/personal",
    summary="A member's full personal data, decrypted (answering the member's own request; audited)",
    role="manager",
    path=MEMBER_PATH,
    statuses=[404],
    response=_OBJ,
)
def get_personal(member_id):
    with db().write() as conn:
        return identity.personal(conn, member_id, actor=actor())


@endpoint(
    bp,
    "POST",
    "/members/<member_id>/code",
    summary="A dynamic member code (valid for members.code_ttl_s, single use)",
    role="associate",
    path=MEMBER_PATH,
    statuses=[404, 409],
    response=_OBJ,
)
def issue_code(member_id):
    return identity.issue_code(db().read(), member_id)


@endpoint(
    bp,
    "GET",
    "/members/<member_id>/points",
    summary="A member's points entries at this store, newest first",
    role="associate",
    path=MEMBER_PATH,
    query=dict(PAGINATION_QUERY),
    statuses=[404],
)
def list_points(member_id, query):
    conn = db().read()
    identity.till_view(conn, member_id)
    rows, total = points.entries(conn, member_id, limit=query["limit"], offset=query["offset"])
    return page(rows, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "GET",
    "/members/<member_id>/tiers",
    summary="A member's tier history",
    role="associate",
    path=MEMBER_PATH,
    statuses=[404],
)
def tier_history(member_id):
    conn = db().read()
    identity.till_view(conn, member_id)
    return {"items": tiers.history(conn, member_id)}


@endpoint(
    bp,
    "POST",
    "/members/<member_id>/points/burn",
    summary="Spend points (idempotent by ref)",
    role="associate",
    path=MEMBER_PATH,
    statuses=[404, 409],
    body=_body(
        {
            "points": {"type": "integer", "minimum": 1, "maximum": 100_000_000},
            "ref": {"type": "string", "minLength": 1, "maxLength": 128},
        },
        ["points", "ref"],
    ),
)
def burn(member_id, body):
    with db().write() as conn:
        return workflow.burn(conn, member_id, body["points"], body["ref"], actor=actor())


@endpoint(
    bp,
    "POST",
    "/members/<member_id>/points/adjust",
    summary="Correct a balance by hand: a reason and a supervisor's badge",
    role="associate",
    path=MEMBER_PATH,
    statuses=[403, 404, 409],
    body=_body(
        {
            "points": {"type": "integer", "minimum": -100_000_000, "maximum": 100_000_000},
            "reason": {"type": "string", "minLength": 1, "maxLength": 200},
            "approval_badge": {"type": "string", "minLength": 1, "maxLength": 128},
        },
        ["points", "reason"],
    ),
)
def adjust(member_id, body):
    with db().write() as conn:
        return workflow.adjust(
            conn,
            member_id,
            body["points"],
            reason=body["reason"],
            approval_badge=body.get("approval_badge"),
            secret_key=hub().secret_key,
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/members/carts/<cart_id>",
    summary="Attach the member a phone, card or dynamic code names to a till's cart (the sale earns for them)",
    role="associate",
    path={"cart_id": _ID},
    statuses=[404, 409],
    response=TILL_VIEW,
    body=_ONE_WAY,
)
def attach(cart_id, body):
    with db().write() as conn:
        return workflow.attach_to_cart(
            conn, cart_id, phone=body.get("phone"), code=body.get("code"), actor=actor(), device=device()
        )
