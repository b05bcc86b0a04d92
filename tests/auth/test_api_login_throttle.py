"""Per-source login throttle over real HTTP: one address or one device id cannot try many badge codes or
users. Two app instances on the same data directory stand in for two gunicorn workers: the count lives in
SQLite, so it is shared."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from hub.app import create_app
from hub.auth import login_throttle
from hub.auth.login_throttle import FREE_FAILURES, Source
from hub.kernel.config import HubConfig
from hub.protocol.timeutil import utcnow
from tests.support.common import PINS


class Served:
    def __init__(self, app):
        self.srv = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.srv.server_port
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def workers(app, data_dir):
    """Two 'workers': the conftest app and a second app instance on the same data directory."""
    second = create_app(HubConfig(data_dir=data_dir, testing=True))
    served = [Served(app), Served(second)]
    yield served
    for s in served:
        s.stop()
    second.extensions["storehub"].db.close()


def post_login(port: int, body: dict, *, source_ip: str = "127.0.0.1", device: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source_ip, 0))
    headers = {"Content-Type": "application/json"}
    if device:
        headers["X-Device-Id"] = device
    try:
        conn.request("POST", "/api/v1/auth/login", body=json.dumps(body), headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read() or b"null")
    finally:
        conn.close()


def audit_rows(app, action: str) -> list[dict]:
    conn = app.extensions["storehub"].db.read()
    return [
        dict(r, details=json.loads(r["details"]))
        for r in conn.execute(
            "SELECT actor, device, target, details FROM audit_log WHERE action = ? ORDER BY seq", (action,)
        )
    ]


def test_badge_guessing_from_one_address_is_throttled_across_workers(app, workers):
    for i in range(FREE_FAILURES + 1):
        status, _h, body = post_login(workers[i % 2].port, {"badge": f"GUESS-{i:04d}"})
        assert status == 401, (i, body)
    # The source is blocked now: even the right badge is refused, by either worker, before it is checked.
    for w in workers:
        status, headers, body = post_login(w.port, {"badge": "BADGE-associate"})
        assert status == 429, body
        assert body["error"]["code"] == "login_throttled" and body["error"]["details"]["scope"] == "ip"
        wait = body["error"]["details"]["retry_after_s"]
        assert 0 < wait <= login_throttle.BASE_BLOCK_S
        assert headers["Retry-After"] == str(wait)
        assert headers["Content-Type"].startswith("application/json")
    # Audited: the block once, the refusals once per block (not once per request).
    blocks = audit_rows(app, "auth.throttle")
    assert [(b["target"], b["details"]["failures"], b["details"]["blocked_for_s"]) for b in blocks] == [
        ("ip:127.0.0.1", FREE_FAILURES + 1, login_throttle.BASE_BLOCK_S)
    ]
    refused = audit_rows(app, "auth.throttled")
    assert len(refused) == 1 and refused[0]["target"] == "ip:127.0.0.1"
    st = login_throttle.status(app.extensions["storehub"].db.read(), Source("ip", "127.0.0.1"))
    assert st["refused"] == 2 and st["failures"] == FREE_FAILURES + 1
    # The badge's user was never locked: the per-user lockout is untouched, and another address logs in.
    status, _h, body = post_login(workers[0].port, {"badge": "BADGE-associate"}, source_ip="127.0.0.2")
    assert status == 200 and body["user"]["username"] == "associate"


def test_one_pin_against_many_users_is_throttled_below_each_users_lockout(workers):
    users = ["associate", "supervisor", "manager"]
    for i in range(FREE_FAILURES + 1):  # 4 + 4 + 3 failures: no user reaches the per-user lockout (5)
        status, _h, body = post_login(workers[i % 2].port, {"user": users[i % 3], "pin": "0000"})
        assert status == 401, (i, body)
        assert body["error"]["code"] == "bad_credentials"
    status, headers, body = post_login(workers[1].port, {"user": "associate", "pin": PINS["associate"]})
    assert status == 429 and body["error"]["code"] == "login_throttled" and int(headers["Retry-After"]) > 0
    # The users themselves are not locked: from elsewhere the right PIN works at once.
    status, _h, _b = post_login(workers[1].port, {"user": "associate", "pin": PINS["associate"]}, source_ip="127.0.0.3")
    assert status == 200


def test_device_id_is_throttled_even_when_the_address_changes(app, workers):
    for i in range(FREE_FAILURES + 1):
        status, _h, _b = post_login(
            workers[i % 2].port, {"badge": f"X-{i}"}, source_ip=f"127.0.1.{i + 1}", device="handheld-7"
        )
        assert status == 401
    status, headers, body = post_login(
        workers[0].port, {"badge": "BADGE-supervisor"}, source_ip="127.0.2.1", device="handheld-7"
    )
    assert status == 429 and body["error"]["details"]["scope"] == "device" and "Retry-After" in headers
    # The device id in the body counts as well.
    status, _h, body = post_login(
        workers[0].port, {"badge": "BADGE-supervisor", "device": "handheld-7"}, source_ip="127.0.2.2"
    )
    assert status == 429
    # Another device from a fresh address is not affected.
    status, _h, _b = post_login(
        workers[0].port, {"badge": "BADGE-supervisor"}, source_ip="127.0.2.3", device="handheld-8"
    )
    assert status == 200
    assert [b["target"] for b in audit_rows(app, "auth.throttle")] == ["device:handheld-7"]


def test_parallel_guesses_cannot_slip_past_the_limit(workers):
    def guess(i):
        return post_login(workers[i % 2].port, {"badge": f"PAR-{i}"})[0]

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(guess, range(40)))
    assert statuses.count(401) == FREE_FAILURES + 1
    assert statuses.count(429) == 40 - (FREE_FAILURES + 1)


def test_throttle_is_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    r429 = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"]
    assert "Retry-After" in r429["headers"]


# ---------------------------------------------------------------- the domain rule, with a clock
def test_block_doubles_and_failures_age_out(hubctx):
    db = hubctx.db
    src = [Source("ip", "10.0.0.9")]
    t0 = utcnow()
    with db.write() as conn:
        for i in range(FREE_FAILURES):
            assert login_throttle.record_failure(conn, src, now=t0 + timedelta(seconds=i)) == 0
        login_throttle.check(conn, src, now=t0 + timedelta(seconds=20))  # not blocked yet
        assert login_throttle.record_failure(conn, src, now=t0 + timedelta(seconds=20)) == 30
        with pytest.raises(login_throttle.LoginThrottled) as exc:
            login_throttle.check(conn, src, now=t0 + timedelta(seconds=21))
        assert exc.value.details["retry_after_s"] == 29 and exc.value.headers() == {"Retry-After": "29"}
        login_throttle.check(conn, src, now=t0 + timedelta(seconds=51))  # the block has ended
        # The next failure (still within the window) blocks again, twice as long, then 4x ... up to the cap.
        assert login_throttle.record_failure(conn, src, now=t0 + timedelta(seconds=52)) == 60
        assert login_throttle.record_failure(conn, src, now=t0 + timedelta(seconds=200)) == 120
        assert login_throttle.block_seconds(FREE_FAILURES + 20) == login_throttle.MAX_BLOCK_S
        # Quiet for longer than the window after the block: the count starts again at 1.
        later = t0 + timedelta(seconds=200 + 120 + login_throttle.WINDOW_S + 1)
        login_throttle.check(conn, src, now=later)
        assert login_throttle.record_failure(conn, src, now=later) == 0
        assert login_throttle.status(conn, src[0])["failures"] == 1


def test_client_key_groups_ipv6_by_64_and_unwraps_mapped_ipv4():
    assert login_throttle.client_key("2001:db8:1:2:aaaa::1") == login_throttle.client_key("2001:db8:1:2:bbbb::9")
    assert login_throttle.client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert login_throttle.client_key("::ffff:192.168.1.20") == "192.168.1.20"
    assert login_throttle.client_key("192.168.1.20") == "192.168.1.20"
    assert login_throttle.client_key(None) == "unknown"
