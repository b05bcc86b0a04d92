"""A kill -9 of ``storehub serve`` while the integrated card terminal is approving: the terminal
(``storehub sim terminal``, its own process on TCP) has taken the card and is slow to answer, the hub dies before
it hears. ``storehub serve`` started again runs ``storehub checkout resume-payments`` once: it asks the terminal
for the last transaction with the tender's reference, records the approval and commits the sale exactly once —
the sale request is never sent twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import pytest
import requests

from hub.store import open_db
from tests.checkout.test_payment_codes_restart import CLI, _kill, _serve, _up, _wait, store  # noqa: F401
from tests.support.common import ROOT, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def terminal(store):  # noqa: F811
    """``storehub sim terminal`` as its own process (the customer takes 20 s); the hub's payments.json points
    till T1 at it. Its stdout says every request it received."""
    proc = subprocess.Popen(
        [*CLI, "sim", "terminal", "--port", "0", "--delay", "20", "--log-level", "WARNING"],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    requests_seen: list[dict] = []
    try:
        addr = json.loads(proc.stdout.readline())
        cfg = {"terminals": {"T1": {"host": addr["host"], "port": addr["port"], "answer_timeout_s": 60}}}
        (store / "payments.json").write_text(json.dumps(cfg))

        def read() -> None:
            for line in proc.stdout:
                requests_seen.append(json.loads(line))

        threading.Thread(target=read, daemon=True).start()
        yield requests_seen
    finally:
        _kill(proc)


def test_card_approved_while_the_hub_was_killed_completes_the_sale_once(store, terminal):  # noqa: F811
    port = free_port()
    serve = _serve(store, port)
    try:
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
        answer: dict = {}

        def till_pays() -> None:
            try:
                answer["r"] = s.post(
                    f"{api}/carts/{cart['id']}/card-terminal", json={"idempotency_key": "card-kill-0001"}, timeout=60
                )
            except requests.RequestException as exc:
                answer["error"] = exc

        t = threading.Thread(target=till_pays, daemon=True)
        t.start()
        _wait("the sale request at the terminal", lambda: [r for r in terminal if r["request"] == "sale"])
        os.killpg(serve.pid, signal.SIGKILL)  # the card is taken, the answer not yet given
        serve.wait(30)
        t.join(30)
        assert "r" not in answer, "the hub answered before it was killed"
        _cfg, db = open_db(store)
        try:
            row = db.read().execute("SELECT state FROM checkout_tenders WHERE cart_id = ?", (cart["id"],)).fetchone()
            assert row[0] == "requesting"  # persisted before the terminal was asked
            assert db.read().execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0] == 0
        finally:
            db.close()

        serve = _serve(store, port)  # runs resume-payments once at start: asks for the last transaction
        _up(port)
        done = _wait(
            "the resumed sale",
            lambda: (lambda c: c if c["status"] == "completed" else None)(
                s.get(f"{api}/carts/{cart['id']}", timeout=10).json()
            ),
        )
        [tender] = done["tenders"]
        assert (tender["method"], tender["state"], tender["amount_minor"]) == ("card_terminal", "paid", 9980)
        assert tender["card_last4"] == "7890" and len(tender["approval_code"]) == 6
        assert tender["terminal_batch"] == "000001" and tender["card_scheme"] == "UNIONPAY"
        kinds = [r["request"] for r in terminal]
        assert kinds.count("sale") == 1 and kinds.count("last") >= 1, kinds  # never charged twice
        again = s.post(
            f"{api}/carts/{cart['id']}/card-terminal", json={"idempotency_key": "card-kill-0001"}, timeout=30
        ).json()
        assert again["sale"]["id"] == done["sale_id"]
        assert [r["request"] for r in terminal].count("sale") == 1
        _cfg, db = open_db(store)
        try:
            assert db.read().execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0] == 1
        finally:
            db.close()
    finally:
        _kill(serve)
