"""Fixtures of the purchasing tests (the shared hub fixtures are in tests/conftest.py): a supplier selling the
sample store's milk (lot-controlled, 12 to a case) and rice (6 to a case), and GS1 carton labels."""

from __future__ import annotations

import pytest
from biip.checksums import gs1_standard_check_digit

from hub.purchasing import lots, suppliers

GS = "\x1d"


def gtin14(body13: str) -> str:
    return body13 + str(gs1_standard_check_digit(body13))


MILK_CASE = gtin14("1590123412345")  # indicator 1 + the milk's GTIN-13 body
RICE_CASE = gtin14("2000000963850")  # another case GTIN (indicator 2)


def carton(
    gtin: str,
    *,
    lot: str | None = None,
    expiry: str | None = None,
    count: int | None = None,
    sscc: str | None = None,
    contained: bool = False,
) -> str:
    """A GS1-128 carton label as a wedge scanner types it (]C1, variable-length fields ended by GS)."""
    s = "]C1"
    if sscc:
        s += "00" + sscc
    s += ("02" if contained else "01") + gtin
    if expiry:
        s += "17" + expiry.replace("-", "")[2:]
    if count is not None:
        s += "37" + str(count) + GS
    if lot:
        s += "10" + lot
    return s


@pytest.fixture
def supplied(hubctx, sample):
    with hubctx.db.write() as conn:
        sup = suppliers.upsert(
            conn,
            {
                "code": "DAIRY",
                "name": "Dairy Co",
                "contact_name": "Wang Li",
                "phone": "+86 21 5555 0101",
                "email": "orders@dairy.example",
                "lead_time_days": 3,
                "min_order_minor": 0,
                "payment_terms": "NET30",
            },
            actor="test",
        )
        suppliers.set_item(
            conn,
            sup["id"],
            sample["milk"]["id"],
            {"case_gtin": MILK_CASE, "case_units": 12, "cost_minor": 700, "preferred": True, "supplier_sku": "D-MILK"},
            actor="test",
            today="2020-01-01",
        )
        suppliers.set_item(
            conn,
            sup["id"],
            sample["rice"]["id"],
            {"case_gtin": RICE_CASE, "case_units": 6, "cost_minor": 3000, "preferred": True},
            actor="test",
            today="2020-01-01",
        )
        lots.set_lot_controlled(conn, sample["milk"]["id"], True, actor="test")
    return {**sample, "supplier": sup}
