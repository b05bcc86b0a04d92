from tests.support.common import key


def test_health_is_public(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_every_other_route_needs_login(client):
    r = client.get("/api/v1/items")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"


def test_login_by_pin_password_and_badge(client):
    assert client.post("/api/v1/auth/login", json={"user": "associate", "pin": "1111"}).status_code == 200
    assert (
        client.post("/api/v1/auth/login", json={"user": "manager", "password": "manager-pass-123"}).status_code == 200
    )
    r = client.post("/api/v1/auth/login", json={"badge": "BADGE-supervisor"})
    assert r.status_code == 200 and r.get_json()["user"]["role"] == "supervisor"
    assert client.post("/api/v1/auth/login", json={"badge": "BADGE-nobody"}).status_code == 401


def test_wrong_pin_locks_out_after_repeated_failures(client):
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"user": "associate", "pin": "0000"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"user": "associate", "pin": "1111"})
    assert r.status_code == 429
    assert r.get_json()["error"]["details"]["retry_after_s"] > 0
    assert int(r.headers["Retry-After"]) == r.get_json()["error"]["details"]["retry_after_s"]


def test_login_validation(client):
    for body in (
        {},
        {"user": "associate"},
        {"user": "associate", "pin": "12"},
        {"user": "a", "pin": "1111", "password": "x"},
    ):
        r = client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 400, body
        assert r.get_json()["error"]["code"] == "validation_error"
    r = client.post("/api/v1/auth/login", data="not json", content_type="application/json")
    assert r.status_code == 400


def test_role_is_checked(client, auth, sample):
    r = client.post("/api/v1/items", json={"sku": "X", "name_en": "x", "price_minor": 1}, headers=auth("associate"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_role"
    r = client.post("/api/v1/items", json={"sku": "X", "name_en": "x", "price_minor": 1}, headers=auth("manager"))
    assert r.status_code == 201


def test_cookie_session_needs_csrf_for_writes(client, sample):
    r = client.post("/api/v1/auth/login", json={"user": "associate", "pin": "1111"})
    csrf = r.get_json()["csrf_token"]
    body = {
        "kind": "receive",
        "item_id": sample["milk"]["id"],
        "location_id": sample["bin1"]["id"],
        "qty": 1,
        "reason": "delivery",
        "idempotency_key": key(),
    }
    assert client.get("/api/v1/items").status_code == 200  # the cookie authenticates reads
    r = client.post("/api/v1/movements", json=body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    r = client.post("/api/v1/movements", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_post_movement_twice_applies_once(client, auth, sample):
    body = {
        "kind": "receive",
        "item_id": sample["milk"]["id"],
        "location_id": sample["bin1"]["id"],
        "qty": 6,
        "reason": "delivery",
        "idempotency_key": key(),
    }
    a = client.post("/api/v1/movements", json=body, headers=auth())
    b = client.post("/api/v1/movements", json=body, headers=auth())
    assert (a.status_code, b.status_code) == (201, 200)
    item = client.get(f"/api/v1/items/{sample['milk']['id']}", headers=auth()).get_json()
    assert item["totals"]["on_hand"] == 6
    assert len(item["movements"]) == 1


def test_errors_are_json_with_codes(client, auth):
    r = client.get("/api/v1/items/nope", headers=auth())
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "item_not_found"
    r = client.get("/api/v1/no-such-route", headers=auth())
    assert r.status_code == 404 and "error" in r.get_json()


def test_state_changes_are_audited(client, auth, sample):
    client.post(
        "/api/v1/items",
        json={"sku": "NEW", "name_en": "New", "price_minor": 100},
        headers={**auth("manager"), "X-Device-Id": "tc51-07"},
    )
    log = client.get("/api/v1/audit", headers=auth("manager")).get_json()["items"]
    create = [e for e in log if e["action"] == "item.create"][0]
    assert create["device"] == "tc51-07" and create["details"] == {"sku": "NEW"}


def test_openapi_lists_every_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    declared = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            import re

            path = re.sub(r"<(?:[a-z_]+:)?(\w+)>", r"{\1}", rule.rule)
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                declared.add((path, m.lower()))
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert declared == documented


def test_openapi_document_is_valid_for_its_declared_version(client):
    """The route schemas are JSON Schema 2020-12 (``type: [..., "null"]``), which OpenAPI 3.1 allows and 3.0 does
    not: the document must declare 3.1 and pass the OpenAPI meta-schema."""
    import schemathesis

    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(doc).validate()  # raises on an invalid document


def test_every_list_is_paginated(client, auth, sample):
    """Lists answer {items, total, limit, offset, next_offset} and honour limit/offset."""
    h = auth("manager")
    with_location = {"code": "BIN-X", "name": "x", "kind": "bin", "parent_id": sample["aisle"]["id"], "walk_seq": 99}
    assert client.post("/api/v1/locations", json=with_location, headers=h).status_code == 201
    for path in ("/api/v1/locations", "/api/v1/users", "/api/v1/items"):
        full = client.get(path, headers=h).get_json()
        assert full["total"] >= 3, path
        first = client.get(path + "?limit=2&offset=0", headers=h).get_json()
        assert len(first["items"]) == 2 and first["next_offset"] == 2 and first["total"] == full["total"], path
        rest = client.get(f"{path}?limit=500&offset=2", headers=h).get_json()
        assert first["items"] + rest["items"] == full["items"] and rest["next_offset"] is None, path
        assert client.get(path + "?limit=0", headers=h).status_code == 400, path
    neg = client.get("/api/v1/stock/negative?limit=1", headers=h).get_json()
    assert neg["limit"] == 1 and neg["total"] == 0 and neg["next_offset"] is None


def test_audit_entries_name_the_device(client, auth, sample):
    """'who, what, when, which device' for every state-changing API call, not only stock and items."""
    h = {**auth("admin"), "X-Device-Id": "office-pc-2"}
    client.post(
        "/api/v1/locations",
        json={"code": "BIN-D", "name": "d", "kind": "bin", "parent_id": sample["aisle"]["id"]},
        headers=h,
    )
    client.post("/api/v1/users", json={"username": "newbie", "role": "associate", "pin": "4321"}, headers=h)
    client.put("/api/v1/auth/me/language", json={"language": "zh-CN"}, headers=h)
    log = client.get("/api/v1/audit?limit=10", headers=auth("manager")).get_json()["items"]
    by_action: dict = {}
    for e in log:  # newest first: keep the newest entry per action
        by_action.setdefault(e["action"], e)
    for action in ("location.create", "user.create", "user.language"):
        assert by_action[action]["device"] == "office-pc-2", action
        assert by_action[action]["actor"] and by_action[action]["ts"].endswith("Z")


def test_expired_sessions_are_purged_and_refused(client, hubctx):
    from datetime import timedelta

    from hub.auth import sessions

    with hubctx.db.write() as conn:
        uid = conn.execute("SELECT id FROM users WHERE username='associate'").fetchone()[0]
        old = sessions.create(conn, uid, kind="token", ttl=timedelta(seconds=-1))
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old['token']}"})
    assert r.status_code == 401
    assert client.post("/api/v1/auth/login", json={"user": "associate", "pin": "1111"}).status_code == 200
    conn = hubctx.db.read()
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM sessions WHERE expires_at < strftime('%Y-%m-%dT%H:%M:%fZ','now')"
        ).fetchone()[0]
        == 0
    )
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 2  # the new token + cookie
