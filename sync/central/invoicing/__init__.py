"""The invoice-provider interface the central's e-invoices go through (docs/einvoice.md).

A provider issues a blue invoice for an order, reports its result, and for a refund enters a red confirmation form
(红字确认单) and issues the red invoice against it. ``nuonuo.NuonuoProvider`` speaks Nuonuo's open API;
``simulator`` serves that API over HTTP for the tests and the demo.

Two kinds of failure: ``ProviderRefused`` is the provider's final word on this request (a tax id it refuses, a
bad signature): the invoice fails with that code and message. ``ProviderUnavailable`` (timeout, connection,
5xx) changes nothing: the request stays where it was and is tried again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ProviderError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProviderRefused(ProviderError):
    """The provider refused the request; retrying the same request will not help."""


class ProviderUnavailable(ProviderError):
    """No answer, or no usable one (timeout, connection refused, 5xx): try again later."""


@dataclass(frozen=True)
class Line:
    """One invoice line: tax-inclusive amount in fen, the VAT rate as the provider writes it ("0.13")."""

    name: str
    qty: str  # as printed: "2", "0.350"
    amount_minor: int  # tax included (negative on a red invoice)
    tax_rate: str
    unit: str = ""
    item_code: str = ""  # 税收分类编码 (19 digits) when the catalog has it


@dataclass(frozen=True)
class Buyer:
    kind: str  # individual | company
    name: str
    tax_id: str = ""
    email: str = ""


@dataclass(frozen=True)
class Seller:
    tax_id: str
    name: str = ""
    address: str = ""
    phone: str = ""
    clerk: str = "StoreHub"


@dataclass(frozen=True)
class BlueOrder:
    order_no: str
    invoice_date: str  # "yyyy-MM-dd HH:mm:ss", the store's local time
    buyer: Buyer
    seller: Seller
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class RedOrder:
    order_no: str
    invoice_date: str
    seller: Seller
    buyer: Buyer
    blue_invoice_no: str
    blue_invoice_code: str
    reason: str  # 01 开票有误, 02 销货退回, 03 服务终止, 04 销售折让
    lines: tuple[Line, ...]  # negative amounts: the refunded part
    confirm_no: str = ""  # 红字确认单编号, once confirmed


@dataclass
class InvoiceResult:
    """``state``: issuing | issued | failed."""

    state: str
    serial: str
    invoice_no: str = ""
    invoice_code: str = ""
    pdf_url: str = ""
    ex_tax_minor: int = 0
    tax_minor: int = 0
    fail_cause: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class RedConfirm:
    """A red confirmation form: ``status`` per 税局 hzqrxxzt_dm (01 无需确认, 04 双方已确认: may issue; 02/03 waiting
    for the other side; 05-09 void)."""

    bill_no: str
    bill_uuid: str
    status: str

    @property
    def confirmed(self) -> bool:
        return self.status in ("01", "04")

    @property
    def void(self) -> bool:
        return self.status in ("05", "06", "07", "08", "09")


class InvoiceProvider(Protocol):
    def issue(self, order: BlueOrder) -> str:
        """Submit a blue invoice; returns the provider's serial (idempotent by ``order.order_no``)."""
        ...

    def query(self, serial: str) -> InvoiceResult: ...

    def red_confirm(self, order: RedOrder) -> RedConfirm:
        """Enter (or, for the same ``order_no``, look up) the red confirmation form."""
        ...

    def red_issue(self, order: RedOrder) -> str:
        """Issue the red invoice against a confirmed form; returns its serial (then ``query`` it)."""
        ...
