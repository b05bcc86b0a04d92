"""A kill -9 of ``storehub serve`` while a payment-code tender is between the provider's success and the hub's
commit: the provider (``storehub sim wechatpay|alipay``, a separate process) has taken the money and is slow to
answer (a code ending ``0005``), the hub dies before it hears. ``storehub serve`` started again runs
``storehub checkout resume-payments`` once: the payment is found by its out_trade_no and the sale completes
exactly once (one sale, one charge at the provider, no second charge, nothing lost) — or, when the cart can no
longer complete, the money goes back to the customer (reversed at the provider)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from hub.checkout import tills
from hub.inventory import catalog
from hub.store import open_db
from tests.support.common import ROOT, free_port

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "hub.cli"]
CODES = {"wechatpay": "134567890123450005", "alipay": "28763443825600000005"}  # 0005: paid, the answer is slow


def _serve(data, port):
    return subprocess.Popen(
        [
            *CLI,
            "serve",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--http-port",
            "0",
            "--workers",
            "1",
            "--mqtt",
            f"mqtt://127.0.0.1:{free_port()}",
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(what, check, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got = check()
        except (requests.RequestException, OSError):
            got = None
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _up(port):
    _wait("storehub serve", lambda: requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code < 500)


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


@pytest.fixture
def store(tmp_path):
    """An initialised hub with a cashier, one item (¥49.90) and till T1's shift open."""
    data = tmp_path / "hub"
    assert (
        subprocess.run(
            [*CLI, "init", "--data-dir", str(data), "--store", "qr-kill-1"], cwd=ROOT, capture_output=True, timeout=120
        ).returncode
        == 0
    )
    assert (
        subprocess.run(
            [*CLI, "users", "add", "cashier", "--role", "associate", "--pin", "4321", "--data-dir", str(data)],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        ).returncode
        == 0
    )
    _cfg, db = open_db(data)
    with db.write() as conn:
        catalog.create_item(
            conn,
            {"sku": "RICE", "name_en": "Rice", "unit": "each", "price_minor": 4990, "gtins": ["96385074"]},
            actor="test",
        )
        tills.open_shift(conn, "T1", float_minor=10000, actor="test")
    db.close()
    return data


@pytest.fixture
def provider(request, store):
    """``storehub sim <provider>`` as its own process, writing the hub's payments.json (``--hub-config``)."""
    name = request.param
    proc = subprocess.Popen(
        [
            *CLI,
            "sim",
            name,
            "--port",
            "0",
            "--hub-config",
            str(store / "payments.json"),
            "--delay",
            "20",
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # "<name> simulator on http://127.0.0.1:<port>"
        assert " simulator on http://" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        assert name in json.loads((store / "payments.json").read_text())
        yield {"name": name, "url": url, "code": CODES[name]}
    finally:
        _kill(proc)


def _trades(provider):
    return list(requests.get(f"{provider['url']}/_sim/trades", timeout=5).json().values())


def _pay_and_kill(store, provider, port):
    """Serve, sell ¥99.80, scan the 0005 code; kill -9 the serve process group once the provider has charged the
    customer but before it answered. Returns (serve process (dead), session, api url, cart id, idempotency key)."""
    serve = _serve(store, port)
    _up(port)
    s = requests.Session()
    token = s.post(
        f"http://127.0.0.1:{port}/api/v1/auth/login", json={"user": "cashier", "pin": "4321"}, timeout=10
    ).json()["token"]
    s.headers["Authorization"] = f"Bearer {token}"
    api = f"http://127.0.0.1:{port}/api/v1/checkout"
    cart = s.post(f"{api}/tills/T1/carts", json={}, timeout=10).json()
    for _ in range(2):
        s.post(f"{api}/carts/{cart['id']}/scan", json={"code": "96385074"}, timeout=10).raise_for_status()
    key = f"qr-kill-{provider['name']}"
    answer: dict = {}

    def till_pays():  # the till's request, cut by the kill
        try:
            answer["r"] = s.post(
                f"{api}/carts/{cart['id']}/payment-code",
                json={"auth_code": provider["code"], "idempotency_key": key},
                timeout=60,
            )
        except requests.RequestException as exc:
            answer["error"] = exc

    t = threading.Thread(target=till_pays, daemon=True)
    t.start()
    charged = _wait("the provider's charge", lambda: [x for x in _trades(provider) if x["charges"] == 1])
    assert len(charged) == 1 and charged[0]["total_fee"] == 9980
    os.killpg(serve.pid, signal.SIGKILL)  # the money is taken, the answer not yet given
    serve.wait(30)
    t.join(30)
    assert "r" not in answer, "the hub answered before it was killed: nothing was left in between"
    # on the hub's disk: the tender persisted before the call, nothing committed
    _cfg, db = open_db(store)
    try:
        row = (
            db.read()
            .execute(
                "SELECT state, out_trade_no FROM checkout_tenders WHERE cart_id = ? AND method = ?",
                (cart["id"], provider["name"]),
            )
            .fetchone()
        )
        assert tuple(row) == ("requesting", charged[0]["out_trade_no"])
        assert db.read().execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0] == 0
    finally:
        db.close()
    return serve, s, api, cart["id"], key


@pytest.mark.parametrize("provider", ["wechatpay", "alipay"], indirect=True)
def test_paid_code_survives_kill_9_and_completes_the_sale_once(store, provider):
    port = free_port()
    serve, s, api, cart_id, key = _pay_and_kill(store, provider, port)
    try:
        serve = _serve(store, port)  # runs resume-payments once at start
        _up(port)
        cart = _wait(
            "the resumed sale",
            lambda: (lambda c: c if c["status"] == "completed" else None)(
                s.get(f"{api}/carts/{cart_id}", timeout=10).json()
            ),
        )
        assert [(t["method"], t["state"], t["amount_minor"]) for t in cart["tenders"]] == [
            (provider["name"], "paid", 9980)
        ]
        # the till asks again with its key after the restart: the same sale, nothing paid twice
        again = s.post(
            f"{api}/carts/{cart_id}/payment-code",
            json={"auth_code": provider["code"], "idempotency_key": key},
            timeout=30,
        ).json()
        assert again["sale"]["id"] == cart["sale_id"] and again["tender"]["state"] == "paid"
        assert s.get(f"{api}/tills/T1", timeout=10).json()["cart"] is None
        trades = _trades(provider)
        assert len(trades) == 1, trades  # one payment at the provider …
        assert trades[0]["charges"] == 1 and trades[0]["reversals"] == 0 and trades[0]["refunded"] == 0
        assert trades[0]["queries"] >= 1  # … found by its out_trade_no, never sent again
        _cfg, db = open_db(store)
        try:
            assert db.read().execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0] == 1
            assert tuple(db.read().execute("SELECT receipt_no, total_minor FROM checkout_sales").fetchone()) == (
                1,
                9980,
            )
        finally:
            db.close()
        verify = subprocess.run(
            [*CLI, "checkout", "verify-journal", "--data-dir", str(store)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        _kill(serve)


@pytest.mark.parametrize("provider", ["wechatpay"], indirect=True)
def test_paid_code_whose_cart_cannot_complete_is_reversed_after_the_restart(store, provider):
    port = free_port()
    serve, s, api, cart_id, _key = _pay_and_kill(store, provider, port)
    try:
        # the hub comes back on the next business day: the shift that took the payment belongs to yesterday, so
        # this sale can no longer be committed — the customer must get the money back
        _cfg, db = open_db(store)
        with db.write() as conn:
            conn.execute(
                "UPDATE checkout_shifts SET business_date = date(business_date, '-1 day')"
                " WHERE till_id = 'T1' AND status = 'open'"
            )
        db.close()
        serve = _serve(store, port)
        _up(port)
        cart = _wait(
            "the reversal",
            lambda: (lambda c: c if c["tenders"][0]["state"] == "reversed" else None)(
                s.get(f"{api}/carts/{cart_id}", timeout=10).json()
            ),
        )
        assert cart["status"] == "open" and cart["sale_id"] is None and cart["paid_minor"] == 0
        trades = _trades(provider)
        assert len(trades) == 1 and trades[0]["reversals"] == 1
        assert trades[0]["charges"] == 1 and trades[0]["refunded"] == trades[0]["total_fee"] == 9980
        _cfg, db = open_db(store)
        try:
            assert db.read().execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0] == 0
        finally:
            db.close()
    finally:
        _kill(serve)
