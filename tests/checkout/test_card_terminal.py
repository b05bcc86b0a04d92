"""The integrated card terminal: the generic ECR framing byte for byte (STX … ETX LRC, ACK/NAK), the simulated
terminal on a real TCP socket, and the card tender's persisted state machine through the hub's HTTP API.

Facts used (hub/protocol/ecr.py): LRC = XOR of the bytes after STX up to and including ETX; ACK 0x06, NAK 0x15;
at most 3 resends; result codes are ISO 8583 (00 approved, 05 declined, 17 customer cancel, 68 too late,
25 no such record). The simulator picks the customer's behaviour from the amount's last two digits."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from functools import reduce

import pytest

from devices.sim import terminal as sim
from hub.checkout.payments import terminal
from hub.protocol.ecr import GENERIC_ECR, FrameReader
from tests.support.common import free_port

STX, ETX, ACK, NAK = 0x02, 0x03, 0x06, 0x15


def lrc(b: bytes) -> int:
    return reduce(lambda a, x: a ^ x, b, 0)


# --- the bytes --------------------------------------------------------------------------------------------------
def test_frame_bytes_and_lrc():
    assert GENERIC_ECR.framing.frame(b"A") == bytes([STX, 0x41, ETX, 0x41 ^ ETX])
    f = GENERIC_ECR.encode("sale", {"ecr_ref": "SH123", "amount": 1234, "currency": 156})
    body = b"S" + b"SH123".ljust(32) + b"000000001234" + b"156"
    assert f == bytes([STX]) + body + bytes([ETX, lrc(body + bytes([ETX]))])
    assert GENERIC_ECR.decode(body) == ("sale", {"ecr_ref": "SH123", "amount": 1234, "currency": 156})
    with pytest.raises(ValueError):
        GENERIC_ECR.decode(body[:-1])  # short of the layout
    with pytest.raises(ValueError):
        GENERIC_ECR.encode("sale", {"ecr_ref": "x" * 33, "amount": 1, "currency": 156})


def test_reader_joins_split_frames_and_flags_a_bad_lrc():
    f = GENERIC_ECR.encode("last", {"ecr_ref": "SHabc"})
    r = FrameReader(GENERIC_ECR.framing)
    events = []
    for b in bytes([ACK]) + f:  # byte by byte
        events += r.feed(bytes([b]))
    assert events == [("ack",), ("frame", f[1:-2])]
    bad = f[:-1] + bytes([f[-1] ^ 0x01])
    assert r.feed(b"noise" + bad + bytes([NAK])) == [("bad", bad), ("nak",)]


@pytest.fixture
def term():
    t = sim.TerminalSim(delay_s=0.05)
    srv = sim.make_server(t)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    t.port = srv.server_address[1]
    yield t
    srv.shutdown()
    srv.server_close()


def _read_until(sock: socket.socket, n_frames: int, timeout: float = 2.0) -> list[tuple]:
    r, out = FrameReader(GENERIC_ECR.framing), []
    sock.settimeout(timeout)
    end = time.monotonic() + timeout
    while time.monotonic() < end and sum(1 for e in out if e[0] == "frame") < n_frames:
        data = sock.recv(4096)
        if not data:
            break
        out += r.feed(data)
    return out


def test_simulator_naks_a_bad_lrc_and_acks_a_split_frame(term):
    good = GENERIC_ECR.encode("sale", {"ecr_ref": "SHsplit0001", "amount": 500, "currency": 156})
    with socket.create_connection(("127.0.0.1", term.port)) as s:
        s.sendall(good[:-1] + bytes([good[-1] ^ 0x5A]))  # wrong LRC
        s.settimeout(2)
        assert s.recv(1) == bytes([NAK])
        s.sendall(good[:10])  # the same frame in two pieces
        time.sleep(0.15)
        s.sendall(good[10:])
        events = _read_until(s, 1)
        assert events[0] == ("ack",)
        kind, v = GENERIC_ECR.decode(events[1][1])
        assert kind == "result" and v["code"] == "00" and v["amount"] == 500 and v["pan_last4"] == "7890"
        s.sendall(bytes([ACK]))
    assert term.snapshot()["SHsplit0001"]["state"] == "approved"


def test_simulator_resends_a_result_the_ecr_naks(term):
    frame = GENERIC_ECR.encode("sale", {"ecr_ref": "SHnak0001", "amount": 300, "currency": 156})
    with socket.create_connection(("127.0.0.1", term.port)) as s:
        s.sendall(frame)
        first = _read_until(s, 1)
        s.sendall(bytes([NAK]))
        again = _read_until(s, 1)
        assert [e for e in first if e[0] == "frame"] == [e for e in again if e[0] == "frame"]


def link(term, **kw) -> terminal.Link:
    return terminal.Link({"host": "127.0.0.1", "port": term.port, "ack_timeout_s": 0.3, "answer_timeout_s": 1.5, **kw})


def test_link_resends_after_nak_and_gives_up_after_three(term):
    term.nak_requests = 2
    res = link(term).request("sale", "SHresend01", 200)
    assert res.outcome == "approved" and res.approval_code.isdigit() and len(res.approval_code) == 6
    frames = b"".join(term.received).count(bytes([STX]) + b"SSHresend01")
    assert frames == 3  # the first send and two resends
    term.nak_requests = 4
    with pytest.raises(terminal.Refused):
        link(term).request("sale", "SHresend02", 200)
    assert "SHresend02" not in term.snapshot()


def test_link_naks_a_corrupt_result_and_takes_the_resent_one(term):
    term.corrupt_answers = 1
    res = link(term).request("sale", "SHcorrupt1", 450)
    assert res.outcome == "approved" and res.amount_minor == 450
    assert bytes([NAK]) in b"".join(term.received)


def test_link_to_a_terminal_that_never_answers(term):
    term.mute = True
    t0 = time.monotonic()
    with pytest.raises(terminal.Lost):
        link(term).request("sale", "SHmute0001", 100)
    assert time.monotonic() - t0 < 3  # 4 sends × 0.3 s, not forever
    assert b"".join(term.received).count(bytes([STX]) + b"SSHmute0001") == 4


# --- the tender through the hub ---------------------------------------------------------------------------------
@pytest.fixture
def carding(till, hubctx, term):
    cfg = {"terminals": {"T1": {"host": "127.0.0.1", "port": term.port, "ack_timeout_s": 0.3, "answer_timeout_s": 1.5}}}
    (hubctx.config.data_dir / "payments.json").write_text(json.dumps(cfg))
    till.term, till.cfg = term, cfg
    return till


def card(till, cart_id, status=200, **kw):
    body = {"idempotency_key": kw.pop("key", None) or uuid.uuid4().hex, **kw}
    return till.call("POST", f"/carts/{cart_id}/card-terminal", body, status=status)


def cola_cart(till, n=1):
    c = till.cart()
    for _ in range(n):
        c = till.scan(c["id"], "6901234567892")
    return c


def test_card_on_the_terminal_commits_the_sale_with_its_details(carding, hubctx):
    c = cola_cart(carding, 2)
    out = card(carding, c["id"])
    t = out["tender"]
    assert t["method"] == "card_terminal" and t["state"] == "paid" and out["waiting"] is False
    assert t["card_last4"] == "7890" and t["card_scheme"] == "UNIONPAY" and t["terminal_batch"] == "000001"
    assert len(t["approval_code"]) == 6 and t["provider_ref"]
    assert out["sale"]["total_minor"] == 700
    states = [
        r[0]
        for r in hubctx.db.read().execute(
            "SELECT to_state FROM checkout_tender_events WHERE tender_id = ? ORDER BY seq", (t["id"],)
        )
    ]
    assert states == ["created", "requesting", "paid"]  # requesting was on disk before the terminal was asked
    body = json.loads(
        hubctx.db.read()
        .execute("SELECT body FROM checkout_journal WHERE kind = 'sale' ORDER BY seq DESC LIMIT 1")
        .fetchone()[0]
    )
    assert body["tenders"][0]["card_scheme"] == "UNIONPAY" and body["tenders"][0]["terminal_batch"] == "000001"


@pytest.mark.parametrize(
    "amount,error", [(151, "terminal_declined"), (152, "terminal_cancelled"), (153, "terminal_timeout")]
)
def test_declined_cancelled_timeout_fail_and_cash_goes_on(carding, amount, error):
    c = cola_cart(carding)
    out = card(carding, c["id"], amount_minor=amount)
    assert out["tender"]["state"] == "failed" and out["tender"]["error"] == error and out["sale"] is None
    assert carding.pay(c["id"], "cash", received_minor=350)["sale"] is not None


def test_split_tender_card_then_cash(carding):
    c = cola_cart(carding, 2)
    out = card(carding, c["id"], amount_minor=300)
    assert out["tender"]["state"] == "paid" and out["sale"] is None and out["cart"]["due_minor"] == 400
    done = carding.pay(c["id"], "cash", received_minor=400)
    assert {t["method"] for t in done["cart"]["tenders"]} == {"card_terminal", "cash"}


def test_lost_answer_is_unknown_then_the_last_transaction_finds_it(carding):
    c = cola_cart(carding)
    out = card(carding, c["id"], amount_minor=155, key="lost-answer-0001")  # approved, connection cut
    assert out["tender"]["state"] == "unknown" and out["waiting"] is True and out["sale"] is None
    again = card(carding, c["id"], amount_minor=155, key="lost-answer-0001")  # a retry asks, never pays twice
    assert again["tender"]["state"] == "paid"
    assert carding.term.snapshot()[out["tender"]["out_trade_no"]]["repeats"] == 0
    assert carding.pay(c["id"], "cash", received_minor=195)["sale"] is not None


def test_poll_of_a_silent_terminal_transaction_fails_it(carding):
    c = cola_cart(carding)
    out = card(carding, c["id"], amount_minor=154)  # ACK, then nothing
    assert out["tender"]["state"] == "unknown"
    polled = carding.call("POST", f"/tenders/{out['tender']['id']}/poll")
    assert polled["tender"]["state"] == "failed" and polled["tender"]["error"] == "terminal_no_such_transaction"


def test_terminal_that_never_answers_leaves_the_tender_unknown(carding):
    c = cola_cart(carding)
    carding.term.mute = True
    out = card(carding, c["id"])
    assert out["tender"]["state"] == "unknown" and out["waiting"] is True
    err = carding.call("POST", f"/tenders/{out['tender']['id']}/poll", status=503)
    assert err["error"]["code"] == "terminal_offline"
    carding.term.mute = False
    assert carding.call("POST", f"/tenders/{out['tender']['id']}/poll")["tender"]["state"] == "failed"


def test_unreachable_terminal_fails_the_tender(carding, hubctx):
    cfg = {"terminals": {"T1": {"host": "127.0.0.1", "port": free_port(), "ack_timeout_s": 0.3}}}
    (hubctx.config.data_dir / "payments.json").write_text(json.dumps(cfg))
    c = cola_cart(carding)
    out = card(carding, c["id"])
    assert out["tender"]["state"] == "failed" and out["tender"]["error"] == "terminal_comm_lost"


def test_resume_at_start_records_a_payment_the_hub_never_heard_of(carding, hubctx):
    c = cola_cart(carding)
    out = card(carding, c["id"], amount_minor=355 - 5)  # 350 ends in 50: approved at once
    assert out["sale"] is not None
    c2 = cola_cart(carding)
    lost = card(carding, c2["id"], amount_minor=255)  # approved, answer lost: the hub "stopped" here
    assert lost["tender"]["state"] == "unknown"
    counts = terminal.resume(hubctx.db, carding.cfg)
    assert counts["paid"] == 1
    assert terminal.resume(hubctx.db, carding.cfg) == {"paid": 0, "failed": 0, "pending": 0, "refunds": 0}
    assert carding.pay(c2["id"], "cash", received_minor=95)["sale"] is not None


def test_cancel_voids_on_the_terminal(carding):
    c = cola_cart(carding, 2)
    out = card(carding, c["id"], amount_minor=300)
    gone = carding.call("POST", f"/tenders/{out['tender']['id']}/cancel", {"reason": "wrong card"})
    assert gone["tender"]["state"] == "reversed" and gone["cart"]["due_minor"] == 700
    assert carding.term.snapshot()[out["tender"]["out_trade_no"]]["state"] == "voided"


def test_return_refunds_on_the_terminal(carding):
    c = cola_cart(carding, 2)
    sale = card(carding, c["id"])["sale"]
    r = carding.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": sale["receipt_code"],
            "lines": [{"line_no": 1, "qty": 1}],
            "idempotency_key": uuid.uuid4().hex,
        },
        status=201,
    )
    [refund] = r["terminal_refunds"]
    assert refund["state"] == "paid" and refund["method"] == "card_terminal"
    txn = carding.term.snapshot()[refund["out_trade_no"]]
    assert txn["kind"] == "refund" and txn["amount"] == 350
