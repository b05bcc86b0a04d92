"""Finance routes: a schema plus one domain call in one transaction (docs/finance.md)."""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, Response

from hub.checkout.payments.base import load_config
from hub.finance import accounting, fetch, model
from hub.http.context import actor, db, device, hub
from hub.http.framework import endpoint
from hub.kernel.errors import ValidationError

bp = Blueprint("finance", __name__)

P = "/finance"
DATE = {"business_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}}
LIST_QUERY = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 366},
    "offset": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
}


@endpoint(
    bp,
    "GET",
    P + "/days",
    summary="Finance: business days finance has touched, newest first, and today",
    role="manager",
    query=LIST_QUERY,
)
def list_days(query):
    conn = db().read()
    rows, total = model.list_days(conn, limit=query.get("limit", 31), offset=query.get("offset", 0))
    return {"items": rows, "total": total, "today": model.today(conn)}


@endpoint(
    bp,
    "GET",
    P + "/days/<business_date>",
    summary="Finance: a business day, its state and its settlement",
    role="manager",
    path=DATE,
    statuses=[400],
)
def get_day(business_date):
    conn = db().read()
    return {**model.get_day(conn, business_date), "settlement": model.settlement(conn, business_date)}


@endpoint(
    bp,
    "POST",
    P + "/days/<business_date>/close",
    summary="Finance: close the day (closing while a till's Z report or a payment is missing)",
    role="manager",
    path=DATE,
    statuses=[400, 409],
)
def close_day(business_date):
    with db().write() as conn:
        return model.close_day(conn, business_date, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    P + "/days/<business_date>/reconcile",
    summary="Finance: reconcile a closed day (its settlement and differences are frozen)",
    role="manager",
    path=DATE,
    statuses=[400, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"note": {"type": "string", "maxLength": 500}},
    },
)
def reconcile_day(business_date, body):
    with db().write() as conn:
        return model.reconcile_day(conn, business_date, actor=actor(), note=body.get("note", ""), device=device())


@endpoint(
    bp,
    "POST",
    P + "/days/<business_date>/lock",
    summary="Finance: lock a reconciled day (its journal is frozen; nothing posts into it)",
    role="manager",
    path=DATE,
    statuses=[400, 409],
)
def lock_day(business_date):
    with db().write() as conn:
        return model.lock_day(conn, business_date, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    P + "/days/<business_date>/reopen",
    summary="Finance: move a day back (closing/closed → open, reconciled → closed), with a reason",
    role="manager",
    path=DATE,
    statuses=[400, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
    },
)
def reopen_day(business_date, body):
    with db().write() as conn:
        return model.reopen_day(conn, business_date, actor=actor(), reason=body["reason"], device=device())


@endpoint(
    bp,
    "POST",
    P + "/days/<business_date>/card-batches",
    summary="Finance: key in a till's card terminal batch total",
    role="manager",
    path=DATE,
    statuses=[400, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["till_id", "amount_minor"],
        "properties": {
            "till_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"},
            "amount_minor": {"type": "integer", "minimum": 0, "maximum": 10**12},
            "count": {"type": "integer", "minimum": 0, "maximum": 10**6},
        },
    },
)
def card_batch(business_date, body):
    with db().write() as conn:
        return model.enter_card_batch(
            conn,
            business_date,
            body["till_id"],
            amount_minor=body["amount_minor"],
            count=body.get("count"),
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    P + "/days/<business_date>/corrections",
    summary="Finance: correct a sealed day by a posting into today's open day (with its reference)",
    role="manager",
    path=DATE,
    statuses=[400, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["debit_account", "credit_account", "amount_minor", "memo"],
        "properties": {
            "debit_account": {"type": "string", "maxLength": 40},
            "credit_account": {"type": "string", "maxLength": 40},
            "amount_minor": {"type": "integer", "minimum": 1, "maximum": 10**12},
            "memo": {"type": "string", "minLength": 1, "maxLength": 200},
        },
    },
)
def correction(business_date, body):
    with db().write() as conn:
        return model.post_correction(
            conn,
            business_date,
            debit_account=body["debit_account"],
            credit_account=body["credit_account"],
            amount_minor=body["amount_minor"],
            memo=body["memo"],
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    P + "/statements",
    summary="Finance: import a provider's daily statement (WeChat Pay downloadbill ALL text, Alipay csv.zip), "
    "base64; a wrong layout or merchant imports nothing",
    role="manager",
    statuses=[400, 409],
    max_body=40 * 1024 * 1024,
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["provider", "content_base64"],
        "properties": {
            "provider": {"type": "string", "enum": ["wechatpay", "alipay"]},
            "bill_date": DATE["business_date"],
            "content_base64": {"type": "string", "minLength": 1, "maxLength": 40_000_000},
        },
    },
)
def import_statement(body):
    try:
        data = base64.b64decode(body["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("content_base64 is not base64", code="statement_not_base64") from None
    with db().write() as conn:
        return model.import_statement(
            conn, body["provider"], data, bill_date=body.get("bill_date"), actor=actor(), device=device()
        )


@endpoint(
    bp,
    "POST",
    P + "/days/<business_date>/statements/fetch",
    summary="Finance: fetch a provider's statement of the day over its API (payments.json credentials) and import it",
    role="manager",
    path=DATE,
    statuses=[400, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["provider"],
        "properties": {"provider": {"type": "string", "enum": ["wechatpay", "alipay"]}},
    },
)
def fetch_statement(business_date, body):
    day = model.check_date(business_date)
    data = fetch.statement(load_config(hub().config.data_dir), body["provider"], day)  # no transaction open
    with db().write() as conn:
        return model.import_statement(conn, body["provider"], data, bill_date=day, actor=actor(), device=device())


@endpoint(
    bp,
    "GET",
    P + "/days/<business_date>/export",
    summary="Finance: the day's journal as voucher CSV (金蝶/用友 凭证) or beancount; a locked day's never changes",
    role="manager",
    path=DATE,
    statuses=[400, 409],
    query={"format": {"type": "string", "enum": ["vouchers", "beancount"]}},
)
def export_day(business_date, query):
    conn = db().read()
    name, data = accounting.export(conn, model.check_date(business_date), query.get("format", "vouchers"))
    mimetype = "text/csv" if name.endswith(".csv") else "text/plain"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
