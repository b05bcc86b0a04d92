from tests.conftest import key


def test_health_is_public(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_every_other_route_needs_login(client):
    r = client.get("/api/v1/items")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"


def test_login_by_pin_password_and_badge(client):
    assert client.post("/api/v1/auth/login", json={"user": "associate", "pin": "1111"}).status_code == 200
    assert client.post("/api/v1/auth/login", json={"user": "manager", "password": "manager-pass-123"}).status_code == 200
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
    for body in ({}, {"user": "associate"}, {"user": "associate", "pin": "12"}, {"user": "a", "pin": "1111", "password": "x"}):
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
    body = {"kind": "receive", "item_id": sample["milk"]["id"], "location_id": sample["bin1"]["id"], "qty": 1,
            "reason": "delivery", "idempotency_key": key()}
    assert client.get("/api/v1/items").status_code == 200  # the cookie authenticates reads
    r = client.post("/api/v1/movements", json=body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    r = client.post("/api/v1/movements", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_post_movement_twice_applies_once(client, auth, sample):
    body = {"kind": "receive", "item_id": sample["milk"]["id"], "location_id": sample["bin1"]["id"], "qty": 6,
            "reason": "delivery", "idempotency_key": key()}
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
    client.post("/api/v1/items", json={"sku": "NEW", "name_en": "New", "price_minor": 100}, headers={**auth("manager"), "X-Device-Id": "tc51-07"})
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
    schemathesis.openapi.from_dict(doc).validate()   # raises on an invalid document
