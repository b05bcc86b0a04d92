"""E-invoices (数电发票) on request, and their red invoices, at the central (issue 18; docs/einvoice.md).

The receipt's QR opens ``/invoice/<store>/<receipt code>?t=<token>`` here (customers' phones are on the internet,
the central has every store's synced sales). The token is checked with the key derived from the store's
credential digest (``hub.finance.einvoice``). The customer asks as an individual or a company (title, 统一社会信用代码
checked with ``stdnum.cn.uscc``, optional email); the request becomes a row of ``einvoices`` — one per receipt
(primary key store × receipt code, unique ``order_no``), so a second request answers the first invoice — and goes
through the invoice provider as a persisted state machine::

    requested --issue--> issuing --query--> issued
        |                   |------------> failed (the provider's code and cause)
        '--(refused)------> failed

A step that cannot reach the provider changes nothing; ``run_pending`` (the worker, and every view of the page)
resumes whatever is not final, so a restart loses nothing. The provider is idempotent by ``order_no``.

A return of an invoiced sale (its ``sale.returned`` fact folded into ``sales`` as kind ``return``) gets a row of
``einvoice_reds`` (primary key store × return id): 红字确认单 with reason 02 销货退回, then the red invoice for
the refunded lines, then its result::

    requested --confirm--> confirmed --issue--> issuing --query--> issued
        |  (form waiting for the buyer: stays requested)  |-------> failed

Returns folded before the blue invoice was submitted are left out of it (those rows are ``excluded``): the blue
invoice covers what was kept, and no red one is due for them. The lines are fixed at the first submission attempt
(``total_minor`` is set then): a retry after a timeout sends the same lines, because the first attempt may have
reached the provider, which answers the same ``orderNo`` with the invoice it already has; a return folded after that
first attempt gets its red invoice like any other."""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, render_template, request
from sqlalchemy import BigInteger, Column, Index, String, Table, Text, select, update
from sqlalchemy.engine import Connection, Engine
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from hub.finance.einvoice import token_key, token_matches
from hub.kernel.errors import Forbidden, NotFound, Unprocessable, ValidationError
from hub.protocol.timeutil import now_iso, parse_iso
from sync.central import schema as t
from sync.central.invoicing import (
    BlueOrder,
    Buyer,
    InvoiceProvider,
    Line,
    ProviderRefused,
    ProviderUnavailable,
    RedOrder,
    Seller,
)
from sync.central.sales import sale_lines, sales

log = logging.getLogger(__name__)

einvoices = Table(
    "einvoices",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("receipt_code", String(64), primary_key=True),
    Column("order_no", String(140), nullable=False, unique=True),
    Column("sale_id", String(40), nullable=False),
    Column("buyer_kind", String(12), nullable=False),
    Column("buyer_name", String(200), nullable=False),
    Column("buyer_tax_id", String(32), nullable=False, server_default=""),
    Column("email", String(200), nullable=False, server_default=""),
    Column("state", String(12), nullable=False),
    Column("serial", String(64), nullable=False, server_default=""),
    Column("invoice_no", String(64), nullable=False, server_default=""),
    Column("invoice_code", String(64), nullable=False, server_default=""),
    Column("pdf_url", Text, nullable=False, server_default=""),
    Column("total_minor", BigInteger, nullable=False, server_default="0"),
    Column("ex_tax_minor", BigInteger, nullable=False, server_default="0"),
    Column("tax_minor", BigInteger, nullable=False, server_default="0"),
    Column("fail_code", String(40), nullable=False, server_default=""),
    Column("fail_message", Text, nullable=False, server_default=""),
    Column("requested_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)
Index("einvoices_state", einvoices.c.state)

einvoice_reds = Table(
    "einvoice_reds",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("return_id", String(40), primary_key=True),
    Column("receipt_code", String(64), nullable=False),  # the invoiced sale's receipt
    Column("order_no", String(140), nullable=False, unique=True),
    Column("state", String(12), nullable=False),
    Column("confirm_no", String(64), nullable=False, server_default=""),
    Column("confirm_status", String(4), nullable=False, server_default=""),
    Column("serial", String(64), nullable=False, server_default=""),
    Column("invoice_no", String(64), nullable=False, server_default=""),
    Column("pdf_url", Text, nullable=False, server_default=""),
    Column("total_minor", BigInteger, nullable=False, server_default="0"),
    Column("ex_tax_minor", BigInteger, nullable=False, server_default="0"),
    Column("tax_minor", BigInteger, nullable=False, server_default="0"),
    Column("fail_code", String(40), nullable=False, server_default=""),
    Column("fail_message", Text, nullable=False, server_default=""),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)
Index("einvoice_reds_state", einvoice_reds.c.state)

FINAL = ("issued", "failed", "excluded")
RATES = (Decimal("0.13"), Decimal("0.09"), Decimal("0.06"), Decimal("0.05"), Decimal("0.03"), Decimal("0.01"))
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
RETURN_REASON = "02"  # 销货退回


# --- errors (texts: handheld_ui/i18n/errors.*.json, and WORDS below for the page) ---------------------------------


class BadToken(Forbidden):
    code = "einvoice_bad_token"


class NotSynced(NotFound):
    code = "einvoice_not_synced"


class Refunded(Unprocessable):
    code = "einvoice_refunded"


class BadBuyer(ValidationError):
    code = "einvoice_invalid_buyer"


class BadTaxId(ValidationError):
    code = "einvoice_invalid_tax_id"


# --- configuration ----------------------------------------------------------------------------------------------


@dataclass
class EinvoiceService:
    provider: InvoiceProvider
    seller: Seller
    timezone: str = "Asia/Shanghai"


def from_env() -> EinvoiceService | None:
    """The provider from ``STOREHUB_EINVOICE_*`` (docs/einvoice.md); None when not configured (the page then says
    e-invoices are not offered)."""
    env = os.environ
    url, key, secret = (env.get(f"STOREHUB_EINVOICE_{k}") for k in ("API_URL", "APP_KEY", "APP_SECRET"))
    tax = env.get("STOREHUB_EINVOICE_SELLER_TAX_ID")
    if not (url and key and secret and tax):
        return None
    from sync.central.invoicing.nuonuo import NuonuoProvider

    return EinvoiceService(
        NuonuoProvider(url, key, secret, token_url=env.get("STOREHUB_EINVOICE_TOKEN_URL")),
        Seller(
            tax_id=tax,
            name=env.get("STOREHUB_EINVOICE_SELLER_NAME", ""),
            address=env.get("STOREHUB_EINVOICE_SELLER_ADDRESS", ""),
            phone=env.get("STOREHUB_EINVOICE_SELLER_PHONE", ""),
        ),
        env.get("STOREHUB_EINVOICE_TIMEZONE", "Asia/Shanghai"),
    )


# --- the domain -------------------------------------------------------------------------------------------------


def check_token(engine: Engine, store_id: str, receipt_code: str, token: str) -> None:
    with engine.connect() as conn:
        digest = conn.execute(select(t.stores.c.secret_digest).where(t.stores.c.store_id == store_id)).scalar()
    if not digest or not token_matches(token_key(digest, store_id), store_id, receipt_code, token):
        raise BadToken("this invoice link is not valid", details={"store": store_id})


def validate_buyer(kind: str, name: str, tax_id: str, email: str) -> Buyer:
    name, tax_id, email = (name or "").strip(), (tax_id or "").strip().upper(), (email or "").strip()
    if kind not in ("individual", "company"):
        raise BadBuyer("buyer: individual or company", details={"field": "kind"})
    if not name or len(name) > 100:
        raise BadBuyer("the invoice title is required (at most 100 characters)", details={"field": "title"})
    if kind == "company" or tax_id:
        try:
            tax_id = uscc.validate(tax_id)
        except StdnumError as exc:
            raise BadTaxId(
                f"{tax_id!r} is not a valid unified social credit code", details={"field": "tax_id"}
            ) from exc
    if email and not EMAIL_RE.match(email):
        raise BadBuyer("the email address is not valid", details={"field": "email"})
    return Buyer(kind, name, tax_id, email)


def order_no(store_id: str, code: str) -> str:
    return f"{store_id}.{code}"


def _sale(conn: Connection, store_id: str, receipt_code: str) -> Any:
    s = sales.c
    return conn.execute(
        select(sales).where(s.store_id == store_id, s.receipt_code == receipt_code, s.kind == "sale")
    ).first()


def _returns(conn: Connection, store_id: str, sale_id: str) -> list[Any]:
    s = sales.c
    return list(
        conn.execute(
            select(sales)
            .where(s.store_id == store_id, s.original_sale_id == sale_id, s.kind == "return")
            .order_by(s.ts)
        )
    )


def _lines(conn: Connection, store_id: str, sale_id: str) -> list[Any]:
    sl = sale_lines.c
    return list(
        conn.execute(select(sale_lines).where(sl.store_id == store_id, sl.sale_id == sale_id).order_by(sl.line_no))
    )


def invoice(conn: Connection, store_id: str, receipt_code: str) -> dict[str, Any] | None:
    e = einvoices.c
    r = conn.execute(select(einvoices).where(e.store_id == store_id, e.receipt_code == receipt_code)).mappings().first()
    if r is None:
        return None
    out = dict(r)
    rc = einvoice_reds.c
    out["reds"] = [
        dict(x)
        for x in conn.execute(
            select(einvoice_reds)
            .where(rc.store_id == store_id, rc.receipt_code == receipt_code, rc.state != "excluded")
            .order_by(rc.created_at)
        ).mappings()
    ]
    return out


def status(engine: Engine, store_id: str, receipt_code: str) -> dict[str, Any]:
    """What the page shows before a request: the invoice if any, else whether the receipt can be invoiced."""
    with engine.connect() as conn:
        inv = invoice(conn, store_id, receipt_code)
        if inv is not None:
            return {"invoice": inv}
        sale = _sale(conn, store_id, receipt_code)
        if sale is None:
            raise NotSynced("this receipt has not reached head office yet", details={"receipt_code": receipt_code})
        refunded = sum(r.net_minor for r in _returns(conn, store_id, sale.sale_id))
        if refunded >= sale.net_minor:
            raise Refunded(
                "this receipt was refunded: there is nothing to invoice", details={"receipt_code": receipt_code}
            )
        return {"invoice": None, "total_minor": sale.net_minor - refunded, "currency": sale.currency}


def request_invoice(engine: Engine, store_id: str, receipt_code: str, buyer: Buyer) -> dict[str, Any]:
    """Record the customer's request (idempotent: a receipt has one invoice; a second request answers it)."""
    with engine.begin() as conn:
        inv = invoice(conn, store_id, receipt_code)
        if inv is not None:
            return inv
        sale = _sale(conn, store_id, receipt_code)
        if sale is None:
            raise NotSynced("this receipt has not reached head office yet", details={"receipt_code": receipt_code})
        refunded = sum(r.net_minor for r in _returns(conn, store_id, sale.sale_id))
        if refunded >= sale.net_minor:
            raise Refunded(
                "this receipt was refunded: there is nothing to invoice", details={"receipt_code": receipt_code}
            )
        now = now_iso()
        ins = _insert(conn, einvoices).values(
            store_id=store_id,
            receipt_code=receipt_code,
            order_no=order_no(store_id, receipt_code),
            sale_id=sale.sale_id,
            buyer_kind=buyer.kind,
            buyer_name=buyer.name,
            buyer_tax_id=buyer.tax_id,
            email=buyer.email,
            state="requested",
            requested_at=now,
            updated_at=now,
        )
        conn.execute(ins.on_conflict_do_nothing())
        return invoice(conn, store_id, receipt_code) or {}


def _insert(conn: Connection, table: Table) -> Any:
    """INSERT with ``on_conflict_do_nothing`` in the connection's dialect (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def tax_rate(net_minor: int, tax_minor: int) -> str:
    """The VAT rate a line was taxed at, from its tax-inclusive net and its tax (the facts carry no per-line rate):
    the standard rate nearest tax / (net − tax); "0" when there is no tax."""
    if tax_minor <= 0 or net_minor <= tax_minor:
        return "0"
    r = Decimal(tax_minor) / Decimal(net_minor - tax_minor)
    return str(min(RATES, key=lambda x: abs(x - r)))


def _names(conn: Connection, store_id: str, item_ids: set[str]) -> dict[str, str]:
    i = t.store_items.c
    return {
        r.item_id: (r.name_zh or r.name_en or r.sku)
        for r in conn.execute(
            select(i.item_id, i.name_zh, i.name_en, i.sku).where(
                i.store_id == store_id, i.item_id.in_(sorted(item_ids))
            )
        )
    }


def _qty(qty: int, weighed: bool) -> tuple[str, str]:
    return (f"{Decimal(qty) / 1000:.3f}", "千克") if weighed else (str(qty), "")


def _invoice_lines(conn: Connection, store_id: str, sale_id: str, returns: list[Any]) -> list[Line]:
    """The sale's lines less what the given returns took back (by line number, qty and refund)."""
    back: dict[int, tuple[int, int]] = {}
    for r in returns:
        for ln in _lines(conn, store_id, r.sale_id):
            q, m = back.get(ln.line_no, (0, 0))
            back[ln.line_no] = (q + ln.qty, m + ln.net_minor)
    lines = _lines(conn, store_id, sale_id)
    names = _names(conn, store_id, {ln.item_id for ln in lines})
    out = []
    for ln in lines:
        q_back, m_back = back.get(ln.line_no, (0, 0))
        amount = ln.net_minor - m_back
        qty = ln.qty - q_back if not ln.weighed else (ln.qty if amount > 0 else 0)
        if amount <= 0 or qty <= 0:
            continue
        num, unit = _qty(qty, ln.weighed)
        out.append(Line(names.get(ln.item_id, ln.sku), num, amount, tax_rate(ln.net_minor, ln.tax_minor), unit))
    return out


def _red_lines(conn: Connection, store_id: str, sale_id: str, return_id: str) -> list[Line]:
    orig = {ln.line_no: ln for ln in _lines(conn, store_id, sale_id)}
    back = _lines(conn, store_id, return_id)
    names = _names(conn, store_id, {ln.item_id for ln in back})
    out = []
    for ln in back:
        o = orig.get(ln.line_no)
        rate = tax_rate(o.net_minor, o.tax_minor) if o is not None else tax_rate(ln.net_minor, ln.tax_minor)
        num, unit = _qty(ln.qty, bool(ln.weighed))
        out.append(Line(names.get(ln.item_id, ln.sku), "-" + num, -ln.net_minor, rate, unit))
    return out


def _local(svc: EinvoiceService, ts: str | None = None) -> str:
    dt = parse_iso(ts) if ts else datetime.now(UTC)
    return dt.astimezone(ZoneInfo(svc.timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _web_link(url: str) -> str:
    """The provider's PDF link as the page may show it: http(s) only (never a ``javascript:`` href)."""
    return url[:2000] if url.startswith(("https://", "http://")) else ""


def _set(engine: Engine, table: Table, where: dict[str, str], **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(table).where(*(table.c[k] == v for k, v in where.items())).values(**values, updated_at=now_iso())
        )


def advance(engine: Engine, svc: EinvoiceService, store_id: str, receipt_code: str) -> None:
    """Move one blue invoice as far as the provider lets it now (each transition its own short transaction)."""
    key = {"store_id": store_id, "receipt_code": receipt_code}
    with engine.connect() as conn:
        inv = invoice(conn, store_id, receipt_code)
    if inv is None or inv["state"] in FINAL:
        return
    try:
        if inv["state"] == "requested":
            with engine.begin() as conn:
                returns = _returns(conn, store_id, inv["sale_id"])
                if inv["total_minor"]:  # a retry: the lines of the first attempt (it may have reached the provider)
                    rc = einvoice_reds.c
                    left_out = set(
                        conn.execute(
                            select(rc.return_id).where(
                                rc.store_id == store_id, rc.receipt_code == receipt_code, rc.state == "excluded"
                            )
                        ).scalars()
                    )
                    returns = [r for r in returns if r.sale_id in left_out]
                lines = _invoice_lines(conn, store_id, inv["sale_id"], returns)
                conn.execute(
                    update(einvoices)
                    .where(einvoices.c.store_id == store_id, einvoices.c.receipt_code == receipt_code)
                    .values(total_minor=sum(x.amount_minor for x in lines), updated_at=now_iso())
                )
                sale = conn.execute(
                    select(sales.c.ts).where(sales.c.store_id == store_id, sales.c.sale_id == inv["sale_id"])
                ).first()
                now = now_iso()
                for r in returns:  # left out of the blue invoice: no red one is due for them
                    conn.execute(
                        _insert(conn, einvoice_reds)
                        .values(
                            store_id=store_id,
                            return_id=r.sale_id,
                            receipt_code=receipt_code,
                            order_no=order_no(store_id, r.sale_id),
                            state="excluded",
                            created_at=now,
                            updated_at=now,
                        )
                        .on_conflict_do_nothing()
                    )
            if not lines:
                _set(engine, einvoices, key, state="failed", fail_code=Refunded.code, fail_message="refunded in full")
                return
            order = BlueOrder(
                inv["order_no"],
                _local(svc, sale.ts if sale else None),
                Buyer(inv["buyer_kind"], inv["buyer_name"], inv["buyer_tax_id"], inv["email"]),
                svc.seller,
                tuple(lines),
            )
            serial = svc.provider.issue(order)
            _set(engine, einvoices, key, state="issuing", serial=serial)
            inv["state"], inv["serial"] = "issuing", serial
        if inv["state"] == "issuing":
            res = svc.provider.query(inv["serial"])
            if res.state == "issued":
                _set(
                    engine,
                    einvoices,
                    key,
                    state="issued",
                    invoice_no=res.invoice_no,
                    invoice_code=res.invoice_code,
                    pdf_url=_web_link(res.pdf_url),
                    ex_tax_minor=res.ex_tax_minor,
                    tax_minor=res.tax_minor,
                )
            elif res.state == "failed":
                _set(
                    engine,
                    einvoices,
                    key,
                    state="failed",
                    fail_code="provider_failed",
                    fail_message=res.fail_cause[:500],
                )
    except ProviderRefused as exc:
        _set(engine, einvoices, key, state="failed", fail_code=exc.code[:40], fail_message=exc.message[:500])
    except ProviderUnavailable as exc:
        log.warning("e-invoice %s/%s: provider unavailable (%s), will retry", store_id, receipt_code, exc)


def discover_reds(engine: Engine, store_id: str | None = None) -> int:
    """A red-invoice row for every return of an invoiced sale that has none yet (unique per return)."""
    s, e, rc = sales.c, einvoices.c, einvoice_reds.c
    q = (
        select(s.store_id, s.sale_id, e.receipt_code, e.order_no)
        .select_from(sales.join(einvoices, (e.store_id == s.store_id) & (e.sale_id == s.original_sale_id)))
        .where(s.kind == "return", e.state.in_(("issuing", "issued")))
        .where(~select(rc.return_id).where(rc.store_id == s.store_id, rc.return_id == s.sale_id).exists())
    )
    if store_id is not None:
        q = q.where(s.store_id == store_id)
    n = 0
    with engine.begin() as conn:
        for r in conn.execute(q).all():
            now = now_iso()
            n += conn.execute(
                _insert(conn, einvoice_reds)
                .values(
                    store_id=r.store_id,
                    return_id=r.sale_id,
                    receipt_code=r.receipt_code,
                    order_no=order_no(r.store_id, r.sale_id),
                    state="requested",
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
            ).rowcount
    return n


def advance_red(engine: Engine, svc: EinvoiceService, store_id: str, return_id: str) -> None:
    key = {"store_id": store_id, "return_id": return_id}
    with engine.connect() as conn:
        rc = einvoice_reds.c
        found = (
            conn.execute(select(einvoice_reds).where(rc.store_id == store_id, rc.return_id == return_id))
            .mappings()
            .first()
        )
        if found is None or found["state"] in FINAL:
            return
        red = dict(found)
        blue = invoice(conn, store_id, red["receipt_code"])
        if blue is None or blue["state"] != "issued":
            return  # the blue invoice first (a failed one needs no red)
        lines = _red_lines(conn, store_id, blue["sale_id"], return_id)
        ret = conn.execute(select(sales.c.ts).where(sales.c.store_id == store_id, sales.c.sale_id == return_id)).first()
    order = RedOrder(
        red["order_no"],
        _local(svc, ret.ts if ret else None),
        svc.seller,
        Buyer(blue["buyer_kind"], blue["buyer_name"], blue["buyer_tax_id"], blue["email"]),
        blue["invoice_no"],
        blue["invoice_code"],
        RETURN_REASON,
        tuple(lines),
        red["confirm_no"],
    )
    try:
        if red["state"] == "requested":
            form = svc.provider.red_confirm(order)
            if form.void:
                _set(
                    engine,
                    einvoice_reds,
                    key,
                    state="failed",
                    confirm_no=form.bill_no,
                    confirm_status=form.status,
                    fail_code="red_confirm_void",
                    fail_message=f"红字确认单 {form.status}",
                )
                return
            if not form.confirmed:
                _set(engine, einvoice_reds, key, confirm_no=form.bill_no, confirm_status=form.status)
                return
            _set(engine, einvoice_reds, key, state="confirmed", confirm_no=form.bill_no, confirm_status=form.status)
            red["state"], red["confirm_no"] = "confirmed", form.bill_no
            order = RedOrder(**{**order.__dict__, "confirm_no": form.bill_no})
        if red["state"] == "confirmed":
            serial = svc.provider.red_issue(order)
            _set(
                engine,
                einvoice_reds,
                key,
                state="issuing",
                serial=serial,
                total_minor=sum(x.amount_minor for x in lines),
            )
            red["state"], red["serial"] = "issuing", serial
        if red["state"] == "issuing":
            res = svc.provider.query(red["serial"])
            if res.state == "issued":
                _set(
                    engine,
                    einvoice_reds,
                    key,
                    state="issued",
                    invoice_no=res.invoice_no,
                    pdf_url=_web_link(res.pdf_url),
                    ex_tax_minor=res.ex_tax_minor,
                    tax_minor=res.tax_minor,
                )
            elif res.state == "failed":
                _set(
                    engine,
                    einvoice_reds,
                    key,
                    state="failed",
                    fail_code="provider_failed",
                    fail_message=res.fail_cause[:500],
                )
    except ProviderRefused as exc:
        _set(engine, einvoice_reds, key, state="failed", fail_code=exc.code[:40], fail_message=exc.message[:500])
    except ProviderUnavailable as exc:
        log.warning("red e-invoice %s/%s: provider unavailable (%s), will retry", store_id, return_id, exc)


def run_pending(
    engine: Engine, svc: EinvoiceService, *, store_id: str | None = None, receipt_code: str | None = None
) -> None:
    """One pass of the state machines: every blue invoice and red invoice not final (of one receipt, if given)."""
    e, rc = einvoices.c, einvoice_reds.c
    with engine.connect() as conn:
        q = select(e.store_id, e.receipt_code).where(e.state.notin_(FINAL))
        if receipt_code is not None:
            q = q.where(e.store_id == store_id, e.receipt_code == receipt_code)
        blues = conn.execute(q.order_by(e.requested_at)).all()
    for b in blues:
        advance(engine, svc, b.store_id, b.receipt_code)
    discover_reds(engine, store_id)
    with engine.connect() as conn:
        q = select(rc.store_id, rc.return_id).where(rc.state.notin_(FINAL))
        if receipt_code is not None:
            q = q.where(rc.store_id == store_id, rc.receipt_code == receipt_code)
        reds = conn.execute(q.order_by(rc.created_at)).all()
    for r in reds:
        advance_red(engine, svc, r.store_id, r.return_id)


# --- the page ---------------------------------------------------------------------------------------------------

WORDS = {
    "en": {
        "title": "E-invoice",
        "receipt": "Receipt",
        "amount": "Amount",
        "individual": "Individual",
        "company": "Company",
        "buyer": "Invoice title (name)",
        "tax_id": "Unified social credit code (tax id)",
        "email": "Email (optional)",
        "submit": "Request the e-invoice",
        "state_requested": "Requested, being issued…",
        "state_issuing": "Being issued…",
        "state_issued": "Issued",
        "state_failed": "Could not be issued",
        "invoice_no": "Invoice number",
        "pdf": "Download the invoice (PDF)",
        "red": "Red (credit) invoice for a refund",
        "refresh": "This page refreshes itself.",
        "unavailable": "E-invoices are not offered here yet.",
        "err.einvoice_bad_token": "This invoice link is not valid. Scan the QR code on your receipt again.",
        "err.einvoice_not_synced": "Not yet available: this receipt has not reached head office. Try again later.",
        "err.einvoice_refunded": "This receipt was refunded: there is nothing to invoice.",
        "err.einvoice_invalid_buyer": "Check the buyer's details: the title is required, the email must be valid.",
        "err.einvoice_invalid_tax_id": "This is not a valid unified social credit code (18 characters, check the last one).",
    },
    "zh-CN": {
        "title": "电子发票",
        "receipt": "小票",
        "amount": "金额",
        "individual": "个人",
        "company": "单位",
        "buyer": "发票抬头",
        "tax_id": "统一社会信用代码（税号）",
        "email": "电子邮箱（选填）",
        "submit": "申请开票",
        "state_requested": "已申请，正在开具…",
        "state_issuing": "正在开具…",
        "state_issued": "已开具",
        "state_failed": "开具失败",
        "invoice_no": "发票号码",
        "pdf": "下载发票（PDF）",
        "red": "退款对应的红字发票",
        "refresh": "本页会自动刷新。",
        "unavailable": "本店暂未开通电子发票。",
        "err.einvoice_bad_token": "发票链接无效，请重新扫描小票上的二维码。",
        "err.einvoice_not_synced": "暂不可开票：该小票尚未同步到总部，请稍后再试。",
        "err.einvoice_refunded": "该小票已全额退款，无可开票金额。",
        "err.einvoice_invalid_buyer": "请检查购买方信息：发票抬头必填，邮箱格式须正确。",
        "err.einvoice_invalid_tax_id": "统一社会信用代码无效（18位，请核对最后一位校验码）。",
    },
}

bp = Blueprint("einvoice", __name__)


def _lang() -> str:
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="en")
    return "zh-CN" if best and best.startswith("zh") else "en"


def service() -> EinvoiceService | None:
    return current_app.extensions.get("einvoice")


def _yuan(minor: int) -> str:
    return f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _page(status_code: int = 200, **ctx: Any):
    lang = _lang()
    return (
        render_template("einvoice.html", lang=lang, w=WORDS[lang], yuan=_yuan, **ctx),
        status_code,
        {"Cache-Control": "no-store", "Content-Language": lang},
    )


@bp.route("/invoice/<store_id>/<receipt_code>", methods=["GET", "POST"])
def page(store_id: str, receipt_code: str):
    engine = current_app.extensions["central"].engine
    token = request.values.get("t", "")
    base = {"store_id": store_id, "receipt_code": receipt_code, "token": token, "form": request.form}
    try:
        check_token(engine, store_id, receipt_code, token)
    except BadToken as exc:
        return _page(403, error=exc.code, **base)
    svc = service()
    if svc is None:
        return _page(503, error=None, unavailable=True, **base)
    if request.method == "POST":
        with engine.connect() as conn:
            requested = invoice(conn, store_id, receipt_code) is not None
        if requested:  # asked before: the page shows that invoice, whatever this form says
            return redirect(f"/invoice/{store_id}/{receipt_code}?t={token}", code=303)
        try:
            buyer = validate_buyer(
                request.form.get("kind", ""),
                request.form.get("title", ""),
                request.form.get("tax_id", ""),
                request.form.get("email", ""),
            )
            request_invoice(engine, store_id, receipt_code, buyer)
        except (BadBuyer, BadTaxId) as exc:
            return _page(
                422,
                error=exc.code,
                field=(exc.details or {}).get("field"),
                **{**base, **_safe_status(engine, store_id, receipt_code)},
            )
        except (NotSynced, Refunded) as exc:
            return _page(exc.status, error=exc.code, **base)
        run_pending(engine, svc, store_id=store_id, receipt_code=receipt_code)
        return redirect(f"/invoice/{store_id}/{receipt_code}?t={token}", code=303)
    run_pending(engine, svc, store_id=store_id, receipt_code=receipt_code)
    try:
        st = status(engine, store_id, receipt_code)
    except (NotSynced, Refunded) as exc:
        return _page(exc.status, error=exc.code, **base)
    return _page(200, error=None, **{**base, **st})


def _safe_status(engine: Engine, store_id: str, receipt_code: str) -> dict[str, Any]:
    try:
        return status(engine, store_id, receipt_code)
    except (NotSynced, Refunded):
        return {}


def worker(engine: Engine, svc: EinvoiceService, *, interval_s: float = 10.0, stop=None) -> None:
    """Resume and drive every e-invoice not final, every ``interval_s`` (``python -m sync.central.einvoice``)."""
    while stop is None or not stop.is_set():
        try:
            run_pending(engine, svc)
        except Exception:  # a pass that fails is logged and tried again; nothing is half-written (one tx per step)
            log.exception("e-invoice pass failed")
        if stop is not None:
            stop.wait(interval_s)
        else:
            time.sleep(interval_s)


def main() -> None:
    from sync.central.config import CentralConfig
    from sync.central.db import make_engine, migrate

    logging.basicConfig(level=logging.INFO)
    svc = from_env()
    if svc is None:
        raise SystemExit("set STOREHUB_EINVOICE_API_URL, _APP_KEY, _APP_SECRET and _SELLER_TAX_ID (docs/einvoice.md)")
    cfg = CentralConfig()
    engine = make_engine(cfg.db_url or "")
    migrate(engine)
    worker(engine, svc)


if __name__ == "__main__":
    main()
