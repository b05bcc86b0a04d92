"""What the endpoint framework refuses on every route of the hub and of the central, before a route's own code
runs (issue 11): text no store of ours can keep (NUL, unpaired surrogates) in a path parameter, query value or
body — 400 ``unstorable_text`` — and a body above the route's limit — 413 ``body_too_large``, from its
Content-Length before authentication and before a byte of it is read."""

from __future__ import annotations

import io
import json

import pytest

from hub.http.framework import DEFAULT_MAX_BODY
from sync.central import office, stores
from sync.central.app import create_app as create_central
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.protocol import auth_headers


def error(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_nul_and_lone_surrogates_are_refused_at_every_hub_entry(client, auth, sample):
    h = auth("manager")
    item = {"sku": "NUL-1", "name_en": "Milk\u0000", "unit": "each", "price_minor": 100}
    err = error(client.post("/api/v1/items", json=item, headers=h), 400)
    assert err["code"] == "unstorable_text" and err["details"]["in"] == "body"
    assert "/name_en" in err["details"]["problem"] and "U+0000" in err["details"]["problem"]
    # a lone surrogate can only arrive as a JSON escape (UTF-8 cannot carry it)
    raw = '{"sku": "SUR-1", "name_en": "x\\ud800y", "unit": "each", "price_minor": 100}'
    err = error(client.post("/api/v1/items", data=raw, content_type="application/json", headers=h), 400)
    assert err["code"] == "unstorable_text" and "unpaired surrogate" in err["details"]["problem"]
    # keys too, and deep inside
    err = error(client.post("/api/v1/items", json={**item, "name_en": "Milk", "x\u0000": 1}, headers=h), 400)
    assert err["code"] in ("unstorable_text", "validation_error")
    err = error(client.get("/api/v1/items?q=MI%00LK", headers=h), 400)
    assert err["code"] == "unstorable_text" and err["details"]["in"] == "query"
    err = error(client.get("/api/v1/items/abc%00def", headers=h), 400)
    assert err["code"] == "unstorable_text" and err["details"]["in"] == "path"
    # nothing was stored, and ordinary text (paired surrogates: an emoji) still is
    assert client.get("/api/v1/items?q=NUL-1", headers=h).get_json()["total"] == 0
    ok = client.post(
        "/api/v1/items",
        data='{"sku": "EMO-1", "name_en": "Milk \\ud83e\\udd5b", "unit": "each", "price_minor": 100}',
        content_type="application/json",
        headers=h,
    )
    assert ok.status_code in (200, 201) and ok.get_json()["name_en"] == "Milk \U0001f95b"


class CountingStream(io.RawIOBase):
    """A request body that counts how much of it the server read."""

    def __init__(self, size: int):
        self.size, self.pos, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client measures a stream by seeking; that reads nothing
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buf) -> int:
        n = max(0, min(len(buf), self.size - self.pos))
        buf[:n] = b"x" * n
        self.pos += n
        self.read_bytes += n
        return n


def test_an_oversized_body_is_refused_unread_even_when_not_logged_in(client):
    body = CountingStream(100 * 1024 * 1024)
    resp = client.post(
        "/api/v1/auth/login", input_stream=body, content_length=body.size, content_type="application/json"
    )
    err = error(resp, 413)
    assert err["code"] == "body_too_large" and err["details"] == {"max_bytes": DEFAULT_MAX_BODY}
    assert body.read_bytes == 0
    # a route that needs no body refuses one too (nobody makes the server read 100 MB)
    assert (
        error(
            client.get(
                "/api/v1/openapi.json", input_stream=CountingStream(10 * 1024 * 1024), content_length=10 * 1024 * 1024
            ),
            413,
        )["code"]
        == "body_too_large"
    )


def test_a_body_without_content_length_is_cut_off_at_the_limit(client):
    body = CountingStream(DEFAULT_MAX_BODY * 4)
    resp = client.post(
        "/api/v1/auth/login",
        input_stream=body,
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert error(resp, 413)["code"] == "body_too_large"
    assert body.read_bytes <= DEFAULT_MAX_BODY + 64 * 1024


def test_bodies_under_the_limit_still_work(client):
    pad = "x" * (DEFAULT_MAX_BODY // 2)
    resp = client.post(
        "/api/v1/auth/login",
        data=json.dumps({"username": "nobody", "password": "wrong-pass", "pad": pad}),
        content_type="application/json",
    )
    assert resp.status_code in (400, 401)


@pytest.fixture
def central(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    app = create_central(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine)
    office.add_user(engine, "olivia", "office-pass-123", "viewer")
    stores.add_store(engine, "s1", "Store 1", secret="shs_entry-secret-1")
    yield app.test_client()
    engine.dispose()


def test_the_central_apis_get_the_same_checks(central):
    c = central
    err = error(c.post("/api/v1/auth/token", json={"username": "olivia\u0000", "password": "office-pass-123"}), 400)
    assert err["code"] == "unstorable_text"
    tok = c.post("/api/v1/auth/token", json={"username": "olivia", "password": "office-pass-123"}).get_json()["token"]
    viewer = {"Authorization": f"Bearer {tok}"}
    assert error(c.get("/api/v1/events?store=s%001", headers=viewer), 400)["code"] == "unstorable_text"
    store = auth_headers("s1", "shs_entry-secret-1")
    big = CountingStream(100 * 1024 * 1024)
    err = error(
        c.post("/api/v1/auth/token", input_stream=big, content_length=big.size, content_type="application/json"), 413
    )
    assert err["code"] == "body_too_large" and big.read_bytes == 0
    # the uplink takes a full batch, and no more
    huge = CountingStream(64 * 1024 * 1024)
    err = error(c.post("/sync/v1/stores/s1/events", input_stream=huge, content_length=huge.size, headers=store), 413)
    assert err["details"]["max_bytes"] == 32 * 1024 * 1024 and huge.read_bytes == 0
    # the office's login form (not an API route) is capped too
    form = CountingStream(100 * 1024 * 1024)
    resp = c.post(
        "/login", input_stream=form, content_length=form.size, content_type="application/x-www-form-urlencoded"
    )
    assert resp.status_code == 413 and form.read_bytes == 0
