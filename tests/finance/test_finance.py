"""Finance, the store-day: sell (cash, card, WeChat Pay, Alipay), refund, count the cash short by ¥1.20, close
(closing while the Z report is missing), import the providers' statements as the simulators produce them (one
payment missing, one fee not the merchant's rate), reconcile, lock, export — the journal balances to the fen,
beancount itself validates it, every difference is listed, a locked day refuses postings and re-exports the
same bytes; statements in another layout or for another merchant import nothing."""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
import subprocess
import sys
import uuid
import zipfile
from decimal import Decimal

import pytest
import requests

from devices.sim import payments as sim
from devices.sim import statements as bills
from hub import domains
from hub.finance import accounting, model, rules, statements
from hub.kernel import settings
from hub.kernel.errors import StoreHubError, ValidationError
from tests.finance.conftest import ALI_PID, WX_KEY
from tests.support.common import ROOT

WX = "134567890123450000"
ALI = "28763443825600000000"
COLA = "6901234567892"


def fetch_wechat_bill(sims, bill_date: str) -> bytes:
    """``pay/downloadbill`` over HTTP, signed as the API documents (MD5 over the sorted params and the key)."""
    params = {
        "appid": "wxd930ea5d5a258f4f",
        "mch_id": "10000100",
        "nonce_str": secrets.token_hex(8),
        "bill_date": bill_date.replace("-", ""),
        "bill_type": "ALL",
    }
    params["sign"] = sim.wx_sign(params, WX_KEY)
    r = requests.post(sims["wx_url"] + "/pay/downloadbill", data=sim.wx_xml(params), timeout=5)
    assert r.status_code == 200 and r.content[:1] != b"<", r.content[:200]
    return r.content


def fetch_alipay_bill(sims, bill_date: str) -> bytes:
    """``alipay.data.dataservice.bill.downloadurl.query`` (RSA2-signed) → the download URL → the csv.zip."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    params = {
        "app_id": "2016000000000001",
        "method": "alipay.data.dataservice.bill.downloadurl.query",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2026-12-01 10:00:00",
        "version": "1.0",
        "biz_content": json.dumps({"bill_type": "trade", "bill_date": bill_date}),
    }
    key = serialization.load_pem_private_key(sims["app_priv"].encode(), password=None)
    params["sign"] = base64.b64encode(
        key.sign(sim.ali_sign_string(params).encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    answer = requests.post(sims["ali_url"] + "/gateway.do", data=params, timeout=5).json()
    url = answer["alipay_data_dataservice_bill_downloadurl_query_response"]["bill_download_url"]
    r = requests.get(url, timeout=5)
    assert r.status_code == 200
    return r.content


def api(client, auth, method, path, body=None, status=200, role="manager"):
    r = client.open(f"/api/v1/finance{path}", method=method, json=body, headers=auth(role))
    assert r.status_code == status, (path, r.status_code, r.get_json() if r.is_json else r.data[:300])
    return r.get_json() if r.is_json else r.data


def import_bill(client, auth, provider, data, bill_date=None, status=200):
    body = {"provider": provider, "content_base64": base64.b64encode(data).decode()}
    if bill_date:
        body["bill_date"] = bill_date
    return api(client, auth, "POST", "/statements", body, status=status)


def count_of(amount: int) -> dict[str, int]:
    """A blind count adding up to ``amount`` fen in the store's notes and coins."""
    out: dict[str, int] = {}
    for d in (10000, 5000, 2000, 1000, 500, 100, 50, 10):
        n, amount = divmod(amount, d)
        if n:
            out[str(d)] = n
    assert amount == 0
    return out


# --- pure rules -----------------------------------------------------------------------------------------------


def test_amounts_parse_to_fen_exactly_and_fees_round_half_up():
    assert rules.fen("`12.30") == 1230 and rules.fen("-0.01") == -1 and rules.fen("1,234.5") == 123450
    assert rules.fen("0.29") == 29 and rules.fen("1.13") == 113  # float would make these 28 and 112
    for bad in ("1.234", "abc", "NaN", ""):
        with pytest.raises(ValidationError) as e:
            rules.fen(bad)
        assert e.value.code == "statement_bad_amount"
    assert rules.fee(350, "0.006") == 2 and rules.fee(250, "0.006") == 2 and rules.fee(-350, "0.006") == -2
    assert rules.fee(8333, "0.006") == 50  # 49.998 → 50
    assert rules.yuan(-120) == "-1.20" and rules.yuan(5) == "0.05"


def test_day_state_machine():
    rules.check_transition("open", "closing", business_date="d")
    rules.check_transition("reconciled", "locked", business_date="d")
    with pytest.raises(StoreHubError) as e:
        rules.check_transition("locked", "open", business_date="d")
    assert e.value.code == "day_locked"
    with pytest.raises(StoreHubError) as e:
        rules.check_transition("open", "locked", business_date="d")
    assert e.value.code == "day_state_invalid"


# --- the whole day --------------------------------------------------------------------------------------------


def test_a_store_day_closes_settles_locks_and_exports(store, client, auth, hubctx, tmp_path):
    till, sims = store["till"], store["sims"]
    today = model.today(hubctx.db.read())
    cash_sale = till.cash(till.cart(COLA, COLA)["id"], 1000)["sale"]  # ¥7.00
    assert cash_sale["total_minor"] == 700
    till.card(till.cart(COLA)["id"], 350)
    wx_ok = till.code(till.cart(COLA, COLA, COLA)["id"], WX)  # ¥10.50
    wx_lost = till.code(till.cart(COLA)["id"], WX)  # the provider's bill will not show it
    ali_fee = till.code(till.cart(COLA, COLA)["id"], ALI)  # the provider charges it another fee
    ali_ok = till.code(till.cart(COLA)["id"], ALI)
    for out in (wx_ok, wx_lost, ali_fee, ali_ok):
        assert out["tender"]["state"] == "paid" and out["sale"], out
    ret = till.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": wx_ok["sale"]["receipt_code"],
            "idempotency_key": uuid.uuid4().hex,
            "lines": [{"line_no": 1, "qty": 1}],
        },
        status=201,
    )
    assert [(t["method"], t["state"], t["amount_minor"]) for t in ret["provider_refunds"]] == [
        ("wechatpay", "paid", 350)
    ]

    # closing: the shift is open and no Z report yet
    day = api(client, auth, "POST", f"/days/{today}/close")
    assert day["state"] == "closing"
    assert {b["kind"] for b in day["blockers"]} == {"z_report_missing", "shift_open"}
    assert api(client, auth, "POST", f"/days/{today}/close", role="supervisor", status=403)

    # the blind count is ¥1.20 short, then the Z report
    x = till.call("GET", "/tills/T1/x-report", role="supervisor")
    expected_cash = x["totals"]["cash_expected_minor"]
    assert expected_cash == 20000 + 700
    closed = till.call("POST", "/tills/T1/shifts/close", {"counted": count_of(expected_cash - 120)})
    assert closed["over_short_minor"] == -120
    till.call("POST", "/tills/T1/z-report", role="supervisor", status=201)
    day = api(client, auth, "POST", f"/days/{today}/close")
    assert day["state"] == "closed" and day["blockers"] == []
    assert [(e["from_state"], e["to_state"]) for e in day["events"]] == [("open", "closing"), ("closing", "closed")]

    # reconcile needs the statements
    err = api(client, auth, "POST", f"/days/{today}/reconcile", {}, status=409)
    assert err["error"]["code"] == "statement_missing"
    assert sorted(err["error"]["details"]["providers"]) == ["alipay", "wechatpay"]

    # what the providers' bills say: WeChat lost one payment, Alipay charged one trade 1 % instead of 0.6 %
    with sims["wx"].ledger.lock:
        del sims["wx"].ledger.trades[wx_lost["tender"]["out_trade_no"]]
    with sims["ali"].ledger.lock:
        sims["ali"].ledger.trades[ali_fee["tender"]["out_trade_no"]]["fee_rate"] = "0.01"
    wx_bill = fetch_wechat_bill(sims, today)
    ali_zip = fetch_alipay_bill(sims, today)
    assert wx_bill.splitlines()[1].startswith(b"`") and b"`REFUND" in wx_bill

    # wrong layouts and another merchant import nothing
    for provider, data, code in (
        ("wechatpay", ali_zip, "statement_layout"),
        ("alipay", wx_bill, "statement_layout"),
        ("wechatpay", wx_bill.replace(b"\xe6\x89\x8b\xe7\xbb\xad\xe8\xb4\xb9,", b"", 1), "statement_layout"),
        ("wechatpay", wx_bill.replace(b"`10000100", b"`10000999"), "statement_wrong_merchant"),
        ("wechatpay", b"<xml><return_code>FAIL</return_code></xml>", "statement_layout"),
    ):
        err = import_bill(client, auth, provider, data, today, status=400)
        assert err["error"]["code"] == code, (provider, err)
    other = sim.AlipaySim(
        app_id="x",
        app_public_key_pem=sim.new_rsa_pair()[1],
        private_key_pem=sim.new_rsa_pair()[0],
        pid="2088999999999999",
    )
    other.ledger.trades = sims["ali"].ledger.snapshot()
    err = import_bill(client, auth, "alipay", bills.alipay_bill_zip(other, today), status=400)
    assert err["error"]["code"] == "statement_wrong_merchant"
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM finance_statement_rows").fetchone()[0] == 0

    wx_st = import_bill(client, auth, "wechatpay", wx_bill, today)
    assert wx_st["rows"] == 2 and wx_st["payments_minor"] == 1050 and wx_st["refunds_minor"] == 350
    assert import_bill(client, auth, "wechatpay", wx_bill, today)["already_imported"] is True  # not twice
    ali_st = import_bill(client, auth, "alipay", ali_zip)
    assert ali_st["bill_date"] == today and ali_st["rows"] == 2 and ali_st["payments_minor"] == 1050

    got = api(client, auth, "GET", f"/days/{today}")
    diffs = got["settlement"]["differences"]
    by_kind = {(d["kind"], d["method"]): d for d in diffs}
    assert sorted(by_kind) == [
        ("card_batch_missing", "card"),
        ("cash_over_short", "cash"),
        ("fee_mismatch", "alipay"),
        ("missing_in_statement", "wechatpay"),
    ], diffs
    assert by_kind[("missing_in_statement", "wechatpay")]["out_trade_no"] == wx_lost["tender"]["out_trade_no"]
    assert by_kind[("missing_in_statement", "wechatpay")]["hub_minor"] == 350
    fee = by_kind[("fee_mismatch", "alipay")]
    assert (fee["out_trade_no"], fee["fee_expected_minor"], fee["fee_statement_minor"]) == (
        ali_fee["tender"]["out_trade_no"],
        4,
        7,
    )
    assert by_kind[("cash_over_short", "cash")]["difference_minor"] == -120
    tills = got["settlement"]["tills"]
    assert [(t["till_id"], t["over_short_minor"]) for t in tills] == [("T1", -120)] and tills[0]["cashier"]
    tenders = {t["method"]: t for t in got["settlement"]["tenders"]}
    assert tenders["wechatpay"]["expected_minor"] == 1050 + 350 - 350
    assert tenders["wechatpay"]["statement_minor"] == 1050 - 350 and tenders["cash"]["over_short_minor"] == -120

    # the card terminal's batch slip says ¥3.50: that difference is gone
    api(client, auth, "POST", f"/days/{today}/card-batches", {"till_id": "T1", "amount_minor": 350, "count": 1})
    diffs = api(client, auth, "GET", f"/days/{today}")["settlement"]["differences"]
    assert "card_batch_missing" not in {d["kind"] for d in diffs} and len(diffs) == 3

    api(client, auth, "POST", f"/days/{today}/reconcile", {"note": "WeChat asked about the missing payment"})
    err = import_bill(client, auth, "wechatpay", wx_bill + b"\r\n", today, status=409)  # settled: no new file
    assert err["error"]["code"] == "day_reconciled"
    locked = api(client, auth, "POST", f"/days/{today}/lock")
    assert locked["state"] == "locked"

    # nothing posts into a locked day: a till that did not work today cannot open on it
    t2 = store["till"].__class__(client, auth, "T2")
    err = t2.open_shift(status=409)
    assert err["error"]["code"] == "day_locked"
    err = api(client, auth, "POST", f"/days/{today}/reopen", {"reason": "oops"}, status=409)
    assert err["error"]["code"] == "day_locked"

    # the export balances to the fen; beancount itself validates it; a locked day re-exports the same bytes
    vouchers = api(client, auth, "GET", f"/days/{today}/export?format=vouchers")
    rows = list(csv.DictReader(io.StringIO(vouchers.decode("utf-8-sig"))))
    assert list(rows[0]) == ["日期", "凭证字", "凭证号", "摘要", "科目代码", "科目名称", "借方", "贷方"]
    debit = sum(Decimal(r["借方"] or 0) for r in rows)
    credit = sum(Decimal(r["贷方"] or 0) for r in rows)
    assert debit == credit > 0
    net: dict[str, Decimal] = {}
    for r in rows:
        net[r["科目代码"]] = net.get(r["科目代码"], 0) + Decimal(r["借方"] or 0) - Decimal(r["贷方"] or 0)
    assert net["1901.01"] == Decimal("1.20")  # cash short
    assert net["1001"] == Decimal("7.00") - Decimal("1.20")  # cash taken less the shortfall
    # WeChat: 14.00 taken, 3.50 refunded, 3.50 never in its bill; fee 0.06 on 10.50 less 0.02 back on the refund
    assert net["1012.01"] == Decimal("10.50") - Decimal("0.04")
    assert net["1012.02"] == Decimal("10.50") - Decimal("0.07") - Decimal("0.02")  # Alipay: fees 0.07 + 0.02
    assert net["6603.02"] == Decimal("0.13")
    net_sales = 700 + 350 + 1050 + 350 + 700 + 350 - 350
    lines = (
        hubctx.db.read()
        .execute(
            "SELECT SUM(debit_minor), SUM(credit_minor) FROM finance_journal_lines WHERE business_date = ?", (today,)
        )
        .fetchone()
    )
    assert lines[0] == lines[1]
    rev = [r for r in rows if r["科目代码"] in ("6001", "2221.01.02")]
    assert sum(Decimal(r["贷方"] or 0) - Decimal(r["借方"] or 0) for r in rev) == Decimal(net_sales) / 100
    cogs = [r for r in rows if r["科目代码"] == "6401"]
    assert Decimal(cogs[0]["借方"]) == Decimal(200 * 9) / 100  # 10 colas sold, 1 back, at cost ¥2.00
    bean = api(client, auth, "GET", f"/days/{today}/export?format=beancount")
    from beancount import loader

    entries, errors, _ = loader.load_string(bean.decode())
    assert errors == [] and len([e for e in entries if type(e).__name__ == "Transaction"]) == 1
    with hubctx.db.write() as conn:  # the mapping changes later: the locked day's files do not
        accounts = settings.get(conn, "finance.accounts")
        accounts["cash"] = {**accounts["cash"], "code": "1001.09"}
        settings.put(conn, "finance.accounts", accounts)
    assert api(client, auth, "GET", f"/days/{today}/export?format=vouchers") == vouchers
    assert api(client, auth, "GET", f"/days/{today}/export?format=beancount") == bean

    # the CLI exports the same bytes and validates with beancount
    data_dir = str(hubctx.config.data_dir)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "finance",
            "export",
            today,
            "--format",
            "beancount",
            "--out",
            str(tmp_path),
            "--data-dir",
            data_dir,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / out.stdout.strip().rsplit("/", 1)[-1]).read_bytes() == bean

    kinds = [
        r[0]
        for r in hubctx.db.read().execute(
            "SELECT kind FROM outbox WHERE kind LIKE 'finance.day.%' OR kind LIKE 'finance.statement.%' ORDER BY seq"
        )
    ]
    assert kinds[:2] == ["finance.day.closing", "finance.day.closed"]
    assert {"finance.statement.imported", "finance.day.reconciled", "finance.day.locked"} <= set(kinds)
    assert all(k in {f.kind for d in domains.DOMAINS for f in d.facts} for k in kinds)


def test_sealed_day_refuses_and_corrections_go_into_an_open_day(store, client, auth, hubctx):
    till = store["till"]
    till.cash(till.cart(COLA)["id"], 350)
    today = model.today(hubctx.db.read())
    with hubctx.db.write() as conn:  # yesterday was locked (no sales)
        conn.execute("INSERT INTO finance_days(business_date, state, updated_at) VALUES ('2020-01-01','locked','x')")
    corr = api(
        client,
        auth,
        "POST",
        "/days/2020-01-01/corrections",
        {
            "debit_account": "cash_over_short",
            "credit_account": "cash",
            "amount_minor": 50,
            "memo": "coin found missing",
        },
    )
    assert corr["business_date"] == today and corr["corrects_date"] == "2020-01-01"
    err = api(
        client,
        auth,
        "POST",
        f"/days/{today}/corrections",
        {"debit_account": "cash", "credit_account": "sales", "amount_minor": 1, "memo": "x"},
        status=409,
    )
    assert err["error"]["code"] == "day_not_sealed"
    with hubctx.db.write() as conn:  # close today by hand (shift still open is a blocker) — reopen, then seal
        assert model.close_day(conn, today, actor="m")["state"] == "closing"
        conn.execute("UPDATE finance_days SET state = 'closed' WHERE business_date = ?", (today,))
    err = till.call("POST", f"/tills/{till.id}/carts", {}, status=409)
    assert err["error"]["code"] == "business_day_closed"  # a closed day takes no new sale either
    with hubctx.db.write() as conn:
        lines = accounting.build_journal(conn, today)
    corr_lines = [ln for ln in lines if "更正2020-01-01" in ln["memo"]]
    assert [(ln["account"], ln["debit_minor"], ln["credit_minor"]) for ln in corr_lines] == [
        ("cash_over_short", 50, 0),
        ("cash", 0, 50),
    ]
    assert sum(ln["debit_minor"] for ln in lines) == sum(ln["credit_minor"] for ln in lines)


def test_statement_layouts_round_trip_and_refuse_cut_files(store, hubctx):
    till, sims = store["till"], store["sims"]
    today = model.today(hubctx.db.read())
    a = till.code(till.cart(COLA, COLA, COLA)["id"], ALI)
    w = till.code(till.cart(COLA)["id"], WX)
    ali = statements.parse_alipay(bills.alipay_bill_zip(sims["ali"], today))
    assert ali["merchant_id"] == ALI_PID and ali["rows"][0]["out_trade_no"] == a["tender"]["out_trade_no"]
    assert ali["rows"][0]["amount_minor"] == 1050 and ali["rows"][0]["fee_minor"] == 6
    text = zipfile.ZipFile(io.BytesIO(bills.alipay_bill_zip(sims["ali"], today)))
    name = [n for n in text.namelist() if n.endswith("_业务明细.csv")][0]
    raw = text.read(name).decode("gbk")
    assert (
        raw.splitlines()[4].startswith("支付宝交易号,商户订单号,业务类型") and len(raw.splitlines()[4].split(",")) == 25
    )
    cut = "\r\n".join(raw.splitlines()[:6]).encode("gbk")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, cut)
    with pytest.raises(ValidationError) as e:
        statements.parse_alipay(buf.getvalue())
    assert e.value.code == "statement_layout"
    wx = statements.parse_wechat(bills.wechat_bill(sims["wx"], today))
    assert wx["merchant_id"] == "10000100" and wx["rows"][0]["out_trade_no"] == w["tender"]["out_trade_no"]
    broken = bills.wechat_bill(sims["wx"], today).replace(b"`0.35", b"`0.36")  # summary no longer adds up
    if broken != bills.wechat_bill(sims["wx"], today):
        with pytest.raises(ValidationError):
            statements.parse_wechat(broken)
    lines = bills.wechat_bill(sims["wx"], today).decode().splitlines()
    lines[-1] = lines[-1].replace("`1,", "`2,", 1)  # 总交易单数 says two
    with pytest.raises(ValidationError) as e:
        statements.parse_wechat("\r\n".join(lines).encode())
    assert e.value.code == "statement_layout"


def test_routes_need_a_manager_and_screen_is_served(client, auth):
    assert client.get("/api/v1/finance/days", headers=auth("supervisor")).status_code == 403
    r = client.get("/api/v1/finance/days", headers=auth("manager"))
    assert r.status_code == 200 and r.get_json()["items"] == []
    assert client.post("/api/v1/finance/days/2026-13-01/close", headers=auth("manager")).status_code == 400
    assert "finance" in client.get("/screens.json").get_json()["screens"]
    for path in ("/screens/finance.js", "/i18n/finance.en.json", "/i18n/finance.zh-CN.json"):
        assert client.get(path).status_code == 200, path


def test_match_flags_each_kind_of_difference():
    hub_pay = {
        "A": {"till_id": "T1", "amount_minor": 1000},
        "B": {"till_id": "T1", "amount_minor": 500},
        "C": {"till_id": "T2", "amount_minor": 700},
    }
    hub_ref = {"RA": {"till_id": "T1", "amount_minor": 300, "original": "A"}}
    hub_rev = {"V": {"till_id": "T1"}, "W": {"till_id": "T2"}}
    row = {"provider_ref": "x"}
    rows = [
        {**row, "kind": "payment", "out_trade_no": "A", "refund_no": None, "amount_minor": 1000, "fee_minor": 6},
        {**row, "kind": "payment", "out_trade_no": "B", "refund_no": None, "amount_minor": 550, "fee_minor": 3},
        {**row, "kind": "refund", "out_trade_no": "A", "refund_no": "RA", "amount_minor": -300, "fee_minor": -2},
        {**row, "kind": "payment", "out_trade_no": "V", "refund_no": None, "amount_minor": 900, "fee_minor": 5},
        {**row, "kind": "refund", "out_trade_no": "V", "refund_no": "V", "amount_minor": -900, "fee_minor": -5},
        {**row, "kind": "payment", "out_trade_no": "W", "refund_no": None, "amount_minor": 400, "fee_minor": 2},
        {**row, "kind": "payment", "out_trade_no": "X", "refund_no": None, "amount_minor": 100, "fee_minor": 1},
    ]
    diffs = model.match(hub_pay, hub_ref, hub_rev, rows, method="wechatpay", fee_rate="0.006")
    got = sorted((d["kind"], d["out_trade_no"], d["difference_minor"]) for d in diffs)
    assert got == [
        ("amount_mismatch", "B", 50),
        ("extra_in_statement", "X", 100),
        ("missing_in_statement", "C", -700),
        ("reversal_not_refunded", "W", 400),
    ]  # A and its refund RA match (fees 6 and -2 at 0.6 %); V was charged and reversed in full


def test_cli_close_import_refusal_and_lock(store, hubctx, tmp_path):
    till, sims = store["till"], store["sims"]
    till.cash(till.cart(COLA)["id"], 500)
    till.call("POST", "/tills/T1/shifts/close", {"counted": count_of(20350)})
    till.call("POST", "/tills/T1/z-report", role="supervisor", status=201)
    today = model.today(hubctx.db.read())
    data_dir = str(hubctx.config.data_dir)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", "finance", *args, "--data-dir", data_dir],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )

    out = cli("close-day", today)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["state"] == "closed"
    bad = tmp_path / "bill.csv"
    bad.write_bytes("交易时间,公众账号ID\n`2026-12-01 10:00:00,`wx\n".encode())
    out = cli("import-statement", "--provider", "wechatpay", "--date", today, str(bad))
    assert out.returncode == 1 and json.loads(out.stderr)["error"]["code"] == "statement_layout"
    assert cli("reconcile-day", today).returncode == 0  # cash only: no statement needed
    out = cli("lock-day", today)
    assert out.returncode == 0 and json.loads(out.stdout)["state"] == "locked"
    out = cli("export", today, "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / f"vouchers-{settings.get(hubctx.db.read(), 'store_id')}-{today}.csv").exists()
    del sims


def test_a_closing_day_reopens_with_a_reason_and_the_till_sells_on(store, client, auth, hubctx):
    till = store["till"]
    today = model.today(hubctx.db.read())
    day = api(client, auth, "POST", f"/days/{today}/close")
    assert day["state"] == "closing" and [b["kind"] for b in day["blockers"]] == ["z_report_missing", "shift_open"]
    assert till.cash(till.cart(COLA)["id"], 350)["sale"]  # closing: the tills still finish their day
    err = api(client, auth, "POST", f"/days/{today}/reopen", {"reason": "   "}, status=400)
    assert err["error"]["code"] == "reason_required"
    day = api(client, auth, "POST", f"/days/{today}/reopen", {"reason": "the evening shift is not over"})
    assert day["state"] == "open" and day["events"][-1]["note"] == "the evening shift is not over"
    err = api(client, auth, "POST", f"/days/{today}/lock", status=409)
    assert err["error"]["code"] == "day_state_invalid"
    audit = [r[0] for r in hubctx.db.read().execute("SELECT action FROM audit_log WHERE action LIKE 'finance.%'")]
    assert audit == ["finance.day.closing", "finance.day.open"]


def test_statements_fetched_over_the_providers_apis(store, client, auth, hubctx):
    till = store["till"]
    today = model.today(hubctx.db.read())
    w = till.code(till.cart(COLA, COLA)["id"], WX)
    a = till.code(till.cart(COLA)["id"], ALI)
    for provider, out in (("wechatpay", w), ("alipay", a)):
        st = api(client, auth, "POST", f"/days/{today}/statements/fetch", {"provider": provider})
        assert (st["provider"], st["bill_date"], st["rows"]) == (provider, today, 1)
        assert st["payments_minor"] == out["sale"]["total_minor"] and st["already_imported"] is False
    diffs = api(client, auth, "GET", f"/days/{today}")["settlement"]["differences"]
    assert [d for d in diffs if d["method"] in ("wechatpay", "alipay")] == []
    err = api(client, auth, "POST", "/days/2020-01-01/statements/fetch", {"provider": "wechatpay"}, status=409)
    assert err["error"]["code"] == "statement_unavailable"  # the simulator's "No Bill Exist"
    (hubctx.config.data_dir / "payments.json").write_text("{}")
    err = api(client, auth, "POST", f"/days/{today}/statements/fetch", {"provider": "alipay"}, status=422)
    assert err["error"]["code"] == "payment_not_configured"


def test_card_terminal_and_points_tenders_post_to_their_own_accounts(hubctx, monkeypatch):
    """The integrated card terminal's payments are card receipts (1012.03), points paid reduce the points liability
    (2204.01): neither falls into 'other tenders'. (Tenders alone, without their sales: the balance check is off.)"""
    from hub.finance import accounting, rules

    monkeypatch.setattr(rules, "check_balanced", lambda lines, business_date: None)

    with hubctx.db.write() as conn:
        day = model.today(conn)
        for method, amount in (("card_terminal", 1234), ("points", 500), ("voucher_x", 7)):
            conn.execute(
                "INSERT INTO checkout_tenders(id, out_trade_no, sale_id, till_id, business_date, method, amount_minor,"
                " state, actor, created_at, updated_at) VALUES (?, ?, 'S1', 'T1', ?, ?, ?, 'paid', 'u', ?, ?)",
                (
                    uuid.uuid4().hex,
                    uuid.uuid4().hex,
                    day,
                    method,
                    amount,
                    "2026-01-01T00:00:00Z",
                    "2026-01-01T00:00:00Z",
                ),
            )
        lines = accounting.build_journal(conn, day)
    debits = {(ln["account"], ln["debit_minor"]) for ln in lines if ln["debit_minor"]}
    assert {("card", 1234), ("points", 500), ("other_tender", 7)} <= debits
