"""E-invoices on request and their red invoices (issue 18, docs/einvoice.md): the receipt's QR and its token, the
central's page, the Nuonuo client against the simulator over real HTTP, idempotency, refunds."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devices.printer.documents import layout
from devices.printer.render import render
from devices.sim.escpos_decode import decode
from hub.finance import einvoice as hub_einvoice
from hub.kernel import settings
from hub.orders.printing import Store
from sync.central import einvoice, ingest, stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.central.invoicing import BlueOrder, Buyer, Line, ProviderRefused, Seller
from sync.central.invoicing.nuonuo import NuonuoProvider, sign
from sync.central.invoicing.simulator import Simulator, line_tax
from sync.protocol import secret_digest, validate_batch
from tests.support.sync import central_db_url

STORE = "s1"
SECRET = "shs_" + "k" * 43
TS = "2026-12-01T02:00:00Z"
CODE = "SHR-s1-20261201-0001"
CODE2 = "SHR-s1-20261201-0002"
CODE3 = "SHR-s1-20261201-0003"
VALID_USCC = "91110000600037341L"
BAD_USCC = "91110000600037341M"  # check character wrong
SELLER = Seller(tax_id="91310000MA1FL0000X", name="StoreHub Test Store", clerk="Till")


def _sale(sale_id: str, code: str, lines: list[tuple[int, str, int, int, int]]) -> dict:
    """lines: (line_no, item_id, qty, net_minor, tax_minor)"""
    return {
        "kind": "sale.completed",
        "payload": {
            "sale_id": sale_id,
            "till_id": "T1",
            "business_date": "2026-12-01",
            "receipt_no": int(code[-4:]),
            "receipt_code": code,
            "ts": TS,
            "cashier": "u1",
            "currency": "CNY",
            "subtotal_minor": sum(x[3] for x in lines),
            "discount_minor": 0,
            "total_minor": sum(x[3] for x in lines),
            "rounding_minor": 0,
            "tendered_minor": sum(x[3] for x in lines),
            "tax": [{"rate": "13%", "tax_minor": sum(x[4] for x in lines)}],
            "lines": [
                {
                    "line_no": n,
                    "item_id": i,
                    "sku": i.upper(),
                    "qty": q,
                    "weighed": False,
                    "gross_minor": net,
                    "discount_minor": 0,
                    "net_minor": net,
                    "tax_minor": tax,
                }
                for n, i, q, net, tax in lines
            ],
            "tenders": [{"method": "cash", "amount_minor": sum(x[3] for x in lines), "change_minor": 0}],
            "promotions_version": 1,
            "journal_seq": 1,
        },
    }


def _return(return_id: str, sale_id: str, code: str, lines: list[tuple[int, str, int, int]]) -> dict:
    return {
        "kind": "sale.returned",
        "payload": {
            "return_id": return_id,
            "sale_id": sale_id,
            "till_id": "T1",
            "business_date": "2026-12-01",
            "receipt_no": 99,
            "receipt_code": code,
            "ts": TS,
            "cashier": "u1",
            "approved_by": None,
            "refund_minor": sum(x[3] for x in lines),
            "rounding_minor": 0,
            "lines": [
                {"line_no": n, "item_id": i, "sku": i.upper(), "qty": q, "refund_minor": m, "disposition": "restock"}
                for n, i, q, m in lines
            ],
            "tenders": [{"method": "cash", "amount_minor": sum(x[3] for x in lines), "change_minor": 0}],
            "journal_seq": 2,
        },
    }


def _item(item_id: str, zh: str, price: int) -> dict:
    return {
        "kind": "item.upsert",
        "payload": {
            "id": item_id,
            "sku": item_id.upper(),
            "name_en": item_id,
            "name_zh": zh,
            "category": "drinks",
            "brand": "",
            "unit": "each",
            "price_minor": price,
            "cost_minor": 0,
            "reorder_point": 0,
            "safety_stock": 0,
            "active": True,
        },
    }


class Central:
    def __init__(self, tmp_path, db_url: str):
        self.engine = make_engine(db_url)
        self.app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=self.engine)
        stores.add_store(self.engine, STORE, "Store 1", secret=SECRET)
        self.seq = 0
        self.client = self.app.test_client()

    def push(self, *events: dict) -> None:
        evs = []
        for e in events:
            self.seq += 1
            evs.append({"seq": self.seq, "id": f"{STORE}-{self.seq}", "ts": TS, **e})
        after = self.seq - len(evs)
        ingest.apply_batch(
            self.engine,
            STORE,
            validate_batch({"store_id": STORE, "after": after, "through": self.seq, "events": evs}, STORE),
        )

    def url(self, code: str, token: str | None = None) -> str:
        key = hub_einvoice.token_key(secret_digest(SECRET), STORE)
        tok = hub_einvoice.receipt_token(key, STORE, code) if token is None else token
        return f"/invoice/{STORE}/{code}?t={tok}"

    def run(self) -> None:
        einvoice.run_pending(self.engine, self.app.extensions["einvoice"])

    def row(self, code: str) -> dict:
        with self.engine.connect() as conn:
            return einvoice.invoice(conn, STORE, code)


@pytest.fixture
def sim():
    s = Simulator(pending_polls=1).start()
    yield s
    s.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def central(request, tmp_path, sim):
    with central_db_url(request.param, tmp_path, "einv") as url:
        c = Central(tmp_path, url)
        yield from _seeded(c, sim)


def _seeded(c: Central, sim: Simulator):
    c.app.extensions["einvoice"] = einvoice.EinvoiceService(
        NuonuoProvider(sim.url, sim.app_key, sim.app_secret, timeout=3), SELLER
    )
    c.push(_item("cola", "可乐", 20000), _item("chips", "薯片", 1130))
    c.push(_sale("sale-1", CODE, [(1, "cola", 1, 20000, 2301)]))
    c.push(_sale("sale-2", CODE2, [(1, "cola", 1, 20000, 2301), (2, "chips", 2, 2260, 260)]))
    yield c
    c.engine.dispose()


def _request(central, code: str, **form) -> requests.Response:
    tok = parse_qs(urlsplit(central.url(code)).query)["t"][0]
    return central.client.post(
        f"/invoice/{STORE}/{code}", data={"t": tok, **form}, headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )


def _issued(central, code: str) -> dict:
    for _ in range(10):  # the simulator answers 开票中 once, then 开票完成
        central.client.get(central.url(code))
        row = central.row(code)
        if row["state"] in ("issued", "failed"):
            return row
    return central.row(code)


# --- the receipt ------------------------------------------------------------------------------------------------


def test_receipt_bytes_carry_the_invoice_qr_with_a_valid_token(hubctx, data_dir, tmp_path):
    from hub.checkout import receipts
    from hub.synclink import state

    state.write_credentials(data_dir, central_url="https://central.example.com", store_id=STORE, secret=SECRET)
    sale = {
        "lines": [
            {
                "sku": "COLA",
                "name_en": "Cola",
                "name_zh": "可乐",
                "qty": 1,
                "weighed": False,
                "gross_minor": 20000,
                "discounts": [],
                "manual_discount_minor": 0,
            }
        ],
        "tax": [{"rate": "13%", "tax_minor": 2301}],
        "rounding_minor": 0,
        "tenders": [{"method": "card", "amount_minor": 20000, "change_minor": 0}],
        "till_id": "T1",
        "receipt_no": 1,
        "receipt_code": CODE,
        "cashier_name": "Ann",
        "ts": TS,
        "total_minor": 20000,
    }
    with hubctx.db.write() as conn:
        doc = receipts.sale_document(sale, Store.from_settings(conn), "CNY")
        assert receipts.queue(conn, printer="printer-t1", till_id="T1", document="receipt", body=doc, actor="t")
        no_qr = conn.execute("SELECT payload FROM device_commands").fetchone()[0]
        assert '"qr"' not in no_qr  # e-invoices off (no central URL set): no QR
        settings.put(conn, "finance.einvoice_url", "https://central.example.com")
        job = receipts.queue(conn, printer="printer-t1", till_id="T1", document="receipt", body=doc, actor="t")
        payload = json.loads(
            conn.execute("SELECT payload FROM device_commands WHERE request_id = ?", (job["request_id"],)).fetchone()[0]
        )
    printed = decode(render(layout(payload["document"]), cjk=True))[0]
    assert printed.barcodes == [{"symbology": "code128", "value": CODE}]  # the return barcode stays
    (link,) = printed.qr_codes
    u = urlsplit(link)
    assert (u.scheme, u.netloc, u.path) == ("https", "central.example.com", f"/invoice/{STORE}/{CODE}")
    token = parse_qs(u.query)["t"][0]
    # the central derives the same key from the digest it keeps, and the token opens this receipt only
    key = hub_einvoice.token_key(secret_digest(SECRET), STORE)
    assert hub_einvoice.token_matches(key, STORE, CODE, token)
    assert not hub_einvoice.token_matches(key, STORE, CODE2, token)
    assert not hub_einvoice.token_matches(
        hub_einvoice.token_key(secret_digest(SECRET + "x"), STORE), STORE, CODE, token
    )


# --- the page ---------------------------------------------------------------------------------------------------


def test_page_refuses_a_bad_token(central):
    r = central.client.get(central.url(CODE, token="AAAAAAAAAAAAAAAAAAAAAA"))
    assert r.status_code == 403 and b'data-code="einvoice_bad_token"' in r.data
    # the token of another receipt does not open this one
    other = parse_qs(urlsplit(central.url(CODE2)).query)["t"][0]
    assert central.client.get(central.url(CODE, token=other)).status_code == 403
    r = central.client.post(f"/invoice/{STORE}/{CODE}", data={"t": other, "kind": "individual", "title": "张三"})
    assert r.status_code == 403 and central.row(CODE) is None


def test_page_in_both_languages_and_not_yet_synced(central):
    zh = central.client.get(central.url(CODE), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    en = central.client.get(central.url(CODE), headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert zh.status_code == en.status_code == 200
    assert "申请开票" in zh.get_data(as_text=True) and "Request the e-invoice" in en.get_data(as_text=True)
    assert "200.00" in en.get_data(as_text=True)
    r = central.client.get(central.url(CODE3), headers={"Accept-Language": "en"})
    assert r.status_code == 404 and b"einvoice_not_synced" in r.data and b"Try again later" in r.data


def test_invalid_uscc_refused_valid_one_issued_through_the_simulator(central, sim):
    r = _request(central, CODE, kind="company", title="某某有限公司", tax_id=BAD_USCC)
    assert r.status_code == 422 and b'data-code="einvoice_invalid_tax_id"' in r.data
    r = _request(central, CODE, kind="company", title="某某有限公司", tax_id="")
    assert r.status_code == 422 and b"einvoice_invalid_tax_id" in r.data  # a company must give it
    assert central.row(CODE) is None and sim.calls == []  # nothing recorded, nothing sent

    r = _request(central, CODE, kind="company", title="某某有限公司", tax_id=VALID_USCC.lower(), email="a@b.cn")
    assert r.status_code == 303
    row = _issued(central, CODE)
    assert row["state"] == "issued", row
    assert row["buyer_tax_id"] == VALID_USCC and row["invoice_no"]
    assert (row["total_minor"], row["ex_tax_minor"], row["tax_minor"]) == (20000, 17699, 2301)
    pdf = requests.get(row["pdf_url"], timeout=5)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and row["invoice_no"].encode() in pdf.content
    page = central.client.get(central.url(CODE), headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-state="issued"' in page and row["pdf_url"] in page and row["invoice_no"] in page
    # what the simulator received: one blue invoice for order s1.<code>, tax-inclusive, 13%
    (inv,) = sim.invoices.values()
    assert inv["orderNo"] == f"{STORE}.{CODE}" and inv["buyerTaxNum"] == VALID_USCC
    assert [(x["goodsName"], x["taxRate"], x["incl"]) for x in inv["lines"]] == [("可乐", "0.13", 20000)]


def test_second_request_returns_the_same_invoice(central, sim):
    assert _request(central, CODE, kind="individual", title="张三").status_code == 303
    first = _issued(central, CODE)
    assert first["state"] == "issued"
    r = _request(central, CODE, kind="company", title="另一家公司", tax_id=VALID_USCC)
    assert r.status_code == 303
    again = central.row(CODE)
    assert again["invoice_no"] == first["invoice_no"] and again["buyer_name"] == "张三"
    r = _request(central, CODE, kind="company", title="某某有限公司", tax_id=BAD_USCC)
    assert r.status_code == 303  # asked before: the form is not even looked at, the page shows the invoice
    assert sim.calls.count("nuonuo.ElectronInvoice.requestBillingNew") == 1 and len(sim.invoices) == 1
    # even straight to the domain, twice: one row, one order
    buyer = einvoice.validate_buyer("individual", "李四", "", "")
    assert einvoice.request_invoice(central.engine, STORE, CODE, buyer)["buyer_name"] == "张三"


def test_refund_after_invoicing_issues_the_red_invoice(central, sim):
    assert _request(central, CODE2, kind="company", title="某某有限公司", tax_id=VALID_USCC).status_code == 303
    blue = _issued(central, CODE2)
    assert blue["state"] == "issued" and blue["total_minor"] == 22260
    # one bag of chips comes back (partial refund) — the return fact reaches the central
    central.push(_return("ret-1", "sale-2", "SHR-s1-20261201-0009", [(2, "chips", 1, 1130)]))
    for _ in range(5):
        central.run()
    (red,) = central.row(CODE2)["reds"]
    assert red["state"] == "issued", red
    assert red["confirm_no"].startswith("HZ") and red["invoice_no"] and red["invoice_no"] != blue["invoice_no"]
    assert (red["total_minor"], red["ex_tax_minor"], red["tax_minor"]) == (-1130, -1000, -130)
    assert sim.calls.count("nuonuo.OpeMplatform.saveInvoiceRedConfirm") == 1
    red_inv = next(i for i in sim.invoices.values() if i["kind"] == "2")
    assert red_inv["billInfoNo"] == red["confirm_no"] and red_inv["total"] == -1130
    page = central.client.get(central.url(CODE2), headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Red (credit) invoice" in page and red["pdf_url"] in page
    # the same return pushed again (a replay) makes no second red invoice
    central.run()
    assert len(central.row(CODE2)["reds"]) == 1 and sum(1 for i in sim.invoices.values() if i["kind"] == "2") == 1


def test_refunded_receipt_cannot_be_invoiced(central, sim):
    central.push(_return("ret-2", "sale-1", "SHR-s1-20261201-0010", [(1, "cola", 1, 20000)]))
    r = central.client.get(central.url(CODE), headers={"Accept-Language": "en"})
    assert r.status_code == 422 and b"einvoice_refunded" in r.data and b"refunded" in r.data
    r = _request(central, CODE, kind="individual", title="张三")
    assert r.status_code == 422 and b"einvoice_refunded" in r.data
    assert central.row(CODE) is None and sim.calls == []


def test_provider_refusal_fails_the_invoice_and_a_timeout_loses_nothing(central, sim):
    sim.refuse_tax_nums.add(VALID_USCC)
    _request(central, CODE, kind="company", title="某某有限公司", tax_id=VALID_USCC)
    row = central.row(CODE)
    assert row["state"] == "failed" and row["fail_code"] == "E9106"
    page = central.client.get(central.url(CODE)).get_data(as_text=True)
    assert 'data-state="failed"' in page
    # the provider does not answer in time (it did record the invoice): the request stays requested
    svc = central.app.extensions["einvoice"]
    svc.provider.access_token()
    svc.provider.timeout = 0.3
    sim.delay_s = 1.0
    _request(central, CODE2, kind="individual", title="张三")
    assert central.row(CODE2)["state"] == "requested"
    sim.delay_s = 0.0
    for _ in range(50):  # the simulator finishes the request it was slow with
        if sim.invoices:
            break
        time.sleep(0.05)
    # meanwhile a bag of chips comes back; the retry must not pretend the invoice left it out
    central.push(_return("ret-3", "sale-2", "SHR-s1-20261201-0011", [(2, "chips", 1, 1130)]))
    central.run()  # the worker's pass (after a restart too) resumes it
    row = _issued(central, CODE2)
    assert row["state"] == "issued" and row["total_minor"] == 22260
    assert sum(1 for i in sim.invoices.values() if i["orderNo"] == f"{STORE}.{CODE2}") == 1
    central.run()
    (red,) = central.row(CODE2)["reds"]
    assert (red["state"], red["total_minor"]) == ("issued", -1130)


def test_red_confirmation_waiting_for_the_buyer_then_confirmed(central, sim):
    sim.red_status = "02"  # 销方录入待购方确认
    _request(central, CODE, kind="company", title="某某有限公司", tax_id=VALID_USCC)
    assert _issued(central, CODE)["state"] == "issued"
    central.push(_return("ret-4", "sale-1", "SHR-s1-20261201-0012", [(1, "cola", 1, 20000)]))
    central.run()
    central.run()
    (red,) = central.row(CODE)["reds"]
    assert (red["state"], red["confirm_status"]) == ("requested", "02") and red["confirm_no"]
    (form,) = sim.red_forms.values()
    form["status"] = "04"  # the buyer confirmed on the tax bureau's platform
    for _ in range(3):
        central.run()
    (red,) = central.row(CODE)["reds"]
    assert (red["state"], red["total_minor"], red["tax_minor"]) == ("issued", -20000, -2301)
    assert len(sim.red_forms) == 1


# --- the simulator and the client -------------------------------------------------------------------------------


def test_simulator_refuses_a_bad_signature(sim):
    p = NuonuoProvider(sim.url, sim.app_key, sim.app_secret, timeout=3)
    token = p.access_token()
    body = json.dumps({"isOfferInvoiceDetail": "1", "serialNos": ["x"]})
    q = {"senid": "a" * 32, "nonce": "12345678", "timestamp": str(int(time.time())), "appkey": sim.app_key}
    good = sign(sim.app_secret, "/open/v1/services", sim.app_key, q["senid"], q["nonce"], q["timestamp"], body)
    hdr = {
        "Content-Type": "application/json",
        "accessToken": token,
        "method": "nuonuo.ElectronInvoice.queryInvoiceResult",
    }
    ok = requests.post(
        f"{sim.url}/open/v1/services", params=q, data=body, headers={**hdr, "X-Nuonuo-Sign": good}, timeout=5
    )
    assert ok.json()["code"] == "E0000"
    bad = base64.b64encode(b"\0" * 20).decode()
    r = requests.post(
        f"{sim.url}/open/v1/services", params=q, data=body, headers={**hdr, "X-Nuonuo-Sign": bad}, timeout=5
    )
    assert r.json()["code"] == "070314"
    tampered = body.replace('"x"', '"y"')  # signed body changed on the way
    r = requests.post(
        f"{sim.url}/open/v1/services", params=q, data=tampered, headers={**hdr, "X-Nuonuo-Sign": good}, timeout=5
    )
    assert r.json()["code"] == "070314"
    wrong_secret = NuonuoProvider(sim.url, sim.app_key, "not-the-secret", timeout=3)
    wrong_secret._token = (token, time.monotonic() + 60)
    with pytest.raises(ProviderRefused) as exc:
        wrong_secret.query("x")
    assert exc.value.code == "070314"


def test_simulator_tax_from_tax_inclusive_prices(sim):
    assert line_tax(20000, "0.13") == (17699, 2301)
    assert line_tax(1130, "0.09") == (1037, 93)
    p = NuonuoProvider(sim.url, sim.app_key, sim.app_secret, timeout=3)
    order = BlueOrder(
        "o-1", "2026-12-01 10:00:00", Buyer("individual", "张三"), SELLER, (Line("可乐", "1", 20000, "0.13"),)
    )
    serial = p.issue(order)
    assert p.issue(order) == serial  # idempotent by orderNo
    assert p.query(serial).state == "issuing"
    res = p.query(serial)
    assert (res.state, res.ex_tax_minor, res.tax_minor) == ("issued", 17699, 2301)


def test_partly_refunded_receipt_is_invoiced_for_what_was_kept(central, sim):
    central.push(_return("ret-5", "sale-2", "SHR-s1-20261201-0013", [(2, "chips", 1, 1130)]))
    page = central.client.get(central.url(CODE2), headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "211.30" in page  # 200.00 + 22.60 - 11.30
    _request(central, CODE2, kind="individual", title="张三")
    row = _issued(central, CODE2)
    assert (row["state"], row["total_minor"]) == ("issued", 21130)
    (inv,) = sim.invoices.values()
    assert [(x["goodsName"], x["num"], x["incl"]) for x in inv["lines"]] == [("可乐", "1", 20000), ("薯片", "1", 1130)]
    central.run()
    assert central.row(CODE2)["reds"] == [] and not sim.red_forms  # the return was left out: no red invoice
