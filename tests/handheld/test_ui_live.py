"""Live updates: the SSE stream at /api/v1/events (over real HTTP) and an item screen that follows it."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from hub.http import live
from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from tests.support.ui import login


def _receive(hub_server, qty, key, item="milk", loc="bin1"):
    s = hub_server.sample
    with hub_server.db.write() as conn:
        return ledger.post(conn, MovementRequest("receive", s[item]["id"], s[loc]["id"], qty, "delivery", "test", key))


def _token(hub_server):
    r = requests.post(hub_server.url + "/api/v1/auth/login", json={"user": "associate", "pin": "1111"}, timeout=5)
    return r.json()["token"]


def _read_events(resp, n, timeout=5.0):
    """Read n SSE events (id + data) from a streaming response."""
    out, buf, deadline = [], {}, time.monotonic() + timeout
    for line in resp.iter_lines(decode_unicode=True):
        if time.monotonic() > deadline:
            break
        if line == "":
            if "data" in buf and json.loads(buf["data"])["kind"] != "live.hello":
                out.append((int(buf["id"]), json.loads(buf["data"])))
                if len(out) == n:
                    break
            buf = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            buf[field] = value.lstrip(" ")
    return out


def test_events_need_login(hub_server):
    r = requests.get(hub_server.url + "/api/v1/events", timeout=5)
    assert r.status_code == 401


def test_stream_follows_outbox_and_resumes_with_last_event_id(hub_server):
    token = _token(hub_server)
    _receive(hub_server, 5, "k-live-1")
    second = _receive(hub_server, 7, "k-live-2")
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": str(_outbox_seq(hub_server, "k-live-1"))}
    with requests.get(hub_server.url + "/api/v1/events", headers=headers, stream=True, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        events = _read_events(r, 1)
    assert [(e["kind"], e["payload"]["idempotency_key"]) for _, e in events] == [("movement", "k-live-2")]
    assert events[0][0] == _outbox_seq(hub_server, "k-live-2")
    assert second["on_hand"] == 12


def _outbox_seq(hub_server, key):
    row = (
        hub_server.db.read()
        .execute(
            "SELECT seq FROM outbox WHERE kind = 'movement' AND json_extract(payload, '$.idempotency_key') = ?", (key,)
        )
        .fetchone()
    )
    return row[0]


def test_new_stream_starts_now_and_hides_private_kinds(hub_server):
    token = _token(hub_server)  # login writes an audit entry (private)
    _receive(hub_server, 1, "k-old")
    with requests.get(
        hub_server.url + "/api/v1/events", headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=10
    ) as r:
        time.sleep(0.3)
        _token(hub_server)  # another audit entry: must not be streamed
        _receive(hub_server, 2, "k-new")
        events = _read_events(r, 1)
    assert [(e["kind"], e["payload"]["idempotency_key"]) for _, e in events] == [("movement", "k-new")]
    assert live.is_live_kind("movement") and live.is_live_kind("count.scan")  # declared live=True by their domains
    assert not live.is_live_kind("audit") and not live.is_live_kind("user.upsert")


def test_stream_does_not_block_writers(hub_server):
    token = _token(hub_server)
    with requests.get(
        hub_server.url + "/api/v1/events", headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=10
    ) as r:
        assert r.status_code == 200
        t0 = time.monotonic()
        for i in range(20):
            _receive(hub_server, 1, f"k-w-{i}")
        assert time.monotonic() - t0 < 2.0
        assert len(_read_events(r, 20)) == 20


def test_stream_ends_when_server_cuts(hub_server):
    token = _token(hub_server)
    s = socket.create_connection(("127.0.0.1", hub_server.port), timeout=5)
    s.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    assert b"200" in s.recv(200)
    hub_server.stop()
    s.settimeout(5)
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    s.close()  # the server closed the connection: the handheld's EventSource will reconnect later
    hub_server.start()


@pytest.mark.browser
def test_item_screen_updates_live(phone, hub_server):
    _receive(hub_server, 4, "k-before")
    login(phone)
    phone.goto(f"/#/item?id={hub_server.sample['milk']['id']}")
    phone.wait_for_selector("[data-testid='stock-A01-01']")
    assert phone.get_by_test_id("stock-A01-01").inner_text() == "4"
    phone.wait_for_timeout(700)  # let the stream open
    _receive(hub_server, 3, "k-live-screen")  # someone else receives at the back door
    phone.wait_for_function(
        "document.querySelector('[data-testid=\"stock-A01-01\"]').textContent === '7'", timeout=6000
    )
    assert phone.locator("[data-testid='movement-row']").count() == 2


@pytest.mark.browser
def test_online_receive_lands_once_with_device_and_actor(phone, hub_server):
    milk = hub_server.sample["milk"]
    login(phone)
    phone.goto(f"/#/item?id={milk['id']}")
    phone.wait_for_selector("[data-testid='item-name']")
    phone.get_by_test_id("act-receive").click()
    phone.locator("button[aria-label='One more']").click()  # 1 → 2
    phone.get_by_test_id("act-submit").click()
    phone.wait_for_selector("#toast.show.success")
    phone.wait_for_function("document.querySelector('[data-testid=total-on-hand]').textContent === '2'")
    device = phone.evaluate("localStorage.getItem('storehub.device')")
    rows = (
        hub_server.db.read()
        .execute(
            "SELECT m.kind, m.qty_delta, m.device, u.username FROM movements m JOIN users u ON u.id = m.actor"
            " WHERE m.item_id = ?",
            (milk["id"],),
        )
        .fetchall()
    )
    assert [tuple(r) for r in rows] == [("receive", 2, device, "associate")]
    assert device.startswith("hh-")
    assert phone.evaluate("document.documentElement.dataset.pending") == "0"


def test_stream_announces_its_start(hub_server):
    token = _token(hub_server)
    _receive(hub_server, 1, "k-hello")
    start = hub_server.app.extensions["storehub"].events.latest_seq()
    with requests.get(
        hub_server.url + "/api/v1/events", headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=10
    ) as r:
        lines = []
        for line in r.iter_lines(decode_unicode=True):
            lines.append(line)
            if line.startswith("data:"):
                break
    assert f"id: {start}" in lines
    assert json.loads(lines[-1][5:])["kind"] == "live.hello"


@pytest.mark.browser
def test_hidden_app_drops_the_stream_and_catches_up_when_back(phone, hub_server):
    login(phone)
    phone.goto(f"/#/item?id={hub_server.sample['milk']['id']}")
    phone.wait_for_selector("[data-testid='total-on-hand']")
    phone.wait_for_timeout(700)
    hide = """(hidden) => { Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
                        document.dispatchEvent(new Event('visibilitychange')); }"""
    phone.evaluate(hide, True)  # the associate switched to another app
    _receive(hub_server, 5, "k-while-hidden")
    phone.wait_for_timeout(1500)
    assert phone.get_by_test_id("total-on-hand").inner_text() == "0"  # no stream while hidden
    phone.evaluate(hide, False)
    phone.wait_for_function("document.querySelector('[data-testid=total-on-hand]').textContent === '5'", timeout=6000)


def test_last_event_id_from_the_future_resumes_from_now(hub_server):
    token = _token(hub_server)
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": "999999999"}
    with requests.get(hub_server.url + "/api/v1/events", headers=headers, stream=True, timeout=10) as r:
        time.sleep(0.3)
        _receive(hub_server, 2, "k-after-restore")
        events = _read_events(r, 1)
    assert [e["payload"]["idempotency_key"] for _, e in events] == ["k-after-restore"]
