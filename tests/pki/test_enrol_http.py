"""HTTPS behaviour of the hub app and the plain-HTTP listener, through Flask's test client: Secure cookies and
HSTS over HTTPS only, the enrolment page (languages, fingerprint, QR code, CA downloads), handhelds recorded as
enrolled when they reach the API over HTTPS, the redirect to HTTPS."""

from __future__ import annotations

import re

import pytest
from cryptography import x509

from hub.pki import certs, page, workflow
from hub.pki.api import enrol
from hub.pki.api.plain import create_plain_app
from hub.pki.names import wanted_names

HTTPS = "https://hub.store.lan"
NAMES = lambda extra: wanted_names(  # noqa: E731
    extra=["hub.store.lan", *extra],
    hostname="shelfhub",
    addresses=["192.168.1.20"],
)


@pytest.fixture
def ca(data_dir):
    workflow.check(data_dir, "test-store", names=NAMES)
    return certs.load_ca(certs.PkiFiles.in_data_dir(data_dir))


def _cookies(resp) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in resp.headers.getlist("Set-Cookie")}


def test_cookies_are_secure_and_hsts_sent_over_https_only(app):
    body = {"user": "associate", "pin": "1111"}
    over_https = app.test_client().post("/api/v1/auth/login", json=body, base_url=HTTPS)
    assert over_https.status_code == 200
    cookies = _cookies(over_https)
    assert set(cookies) == {"storehub_session", "storehub_csrf"}
    assert all("; Secure" in c and "SameSite=Strict" in c for c in cookies.values())
    assert "HttpOnly" in cookies["storehub_session"]
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert app.test_client().get("/", base_url=HTTPS).headers["Strict-Transport-Security"] == enrol.HSTS

    over_http = app.test_client().post("/api/v1/auth/login", json=body)  # loopback development
    assert not any("Secure" in c for c in _cookies(over_http).values())
    assert "Strict-Transport-Security" not in over_http.headers

    client = app.test_client()
    csrf = client.post("/api/v1/auth/login", json=body, base_url=HTTPS).get_json()["csrf_token"]
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}, base_url=HTTPS)
    assert out.status_code == 200
    cleared = _cookies(out)
    assert all("; Secure" in c and "Expires=Thu, 01 Jan 1970" in c for c in cleared.values()), cleared


def test_enrolment_page_speaks_the_browsers_language_and_shows_fingerprint_and_qr(app, client, ca):
    fp = certs.fingerprint(ca)
    zh = client.get("/enrol", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}, base_url="http://hub.store.lan")
    assert zh.status_code == 200 and zh.mimetype == "text/html"
    text = zh.get_data(as_text=True)
    assert '<html lang="zh-CN">' in text and "证书信任设置" in text and "加密与凭据" in text and fp in text
    en = client.get("/enrol", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in en and "Certificate Trust Settings" in en and "Encryption & credentials" not in en
    assert "Encryption &amp; credentials" in en and fp in en and "StoreHub store CA test-store" in en
    # the QR code is of the page's own address when the hub does not know its plain-HTTP port (no storehub serve)
    qr_url = re.search(r'data-testid="enrol-qr" data-url="([^"]+)"', text).group(1)
    assert qr_url == "http://hub.store.lan/enrol" and page.qr_svg(qr_url) in text
    # under storehub serve it knows both ports: the QR names the plain-HTTP page, the link the HTTPS app
    enrol.configure(app, app.extensions["storehub"].config.data_dir, http_port=8001, https_port=8000)
    served = client.get("/enrol", base_url=HTTPS + ":8000").get_data(as_text=True)
    assert 'data-url="http://hub.store.lan:8001/enrol"' in served and 'href="https://hub.store.lan:8000/"' in served


def test_ca_downloads_have_the_types_phones_install(client, ca):
    der = client.get("/enrol/store-ca.crt")
    assert der.status_code == 200 and der.mimetype == "application/x-x509-ca-cert"
    assert 'filename="storehub-store-ca.crt"' in der.headers["Content-Disposition"]
    assert x509.load_der_x509_certificate(der.data) == ca
    pem = client.get("/enrol/store-ca.pem")
    assert pem.mimetype == "application/x-pem-file" and x509.load_pem_x509_certificate(pem.data) == ca
    assert client.get("/enrol/store-ca.key").status_code == 404
    assert b"PRIVATE" not in der.data + pem.data


def test_without_a_ca_the_page_says_what_to_do(client):
    r = client.get("/enrol")
    assert r.status_code == 200 and 'data-testid="no-ca"' in r.get_data(as_text=True)
    assert client.get("/enrol/store-ca.crt").status_code == 404


def test_a_handheld_reaching_the_api_over_https_is_recorded_once_and_listed(app, client, auth, hubctx, ca):
    fp = certs.fingerprint(ca)
    ua = "Mozilla/5.0 (Linux; Android 14; TC58) Chrome/126"
    for _ in range(3):
        r = client.get(
            "/api/v1/auth/me",
            headers={**auth("associate"), "X-Device-Id": "hh-0a1b2c", "User-Agent": ua},
            base_url=HTTPS,
        )
        assert r.status_code == 200
    client.get("/api/v1/health", headers={"X-Device-Id": "hh-plain"})  # plain HTTP: not enrolled
    client.get("/api/v1/health", headers={"X-Device-Id": "bad id!"}, base_url=HTTPS)  # not a device id
    conn = hubctx.db.read()
    facts = [r[0] for r in conn.execute("SELECT payload FROM outbox WHERE kind = 'pki.enrolled'")]
    assert len(facts) == 1 and '"hh-0a1b2c"' in facts[0] and fp in facts[0]
    listed = client.get("/api/v1/pki/enrolments", headers=auth("supervisor")).get_json()
    assert listed["total"] == 1
    row = listed["items"][0]
    assert row["device_id"] == "hh-0a1b2c" and row["ca_fingerprint"] == fp and row["user_agent"] == ua
    assert client.get("/api/v1/pki/enrolments", headers=auth("associate")).status_code == 403
    status = client.get("/api/v1/pki/status", headers=auth("supervisor")).get_json()
    assert status["ca"]["fingerprint_sha256"] == fp and status["renewal_due"] in (None, "names")


@pytest.fixture
def plain(data_dir, ca):
    return create_plain_app(data_dir, https_port=8443, http_port=8080, store="Test Store").test_client()


def test_plain_http_only_redirects_to_https_and_serves_enrolment(plain, ca):
    base = "http://hub.store.lan:8080"
    r = plain.get("/", base_url=base)
    assert r.status_code == 308 and r.headers["Location"] == "https://hub.store.lan:8443/"
    r = plain.get("/api/v1/scan/resolve?code=5901234123457", base_url=base)
    assert r.headers["Location"] == "https://hub.store.lan:8443/api/v1/scan/resolve?code=5901234123457"
    r = plain.post("/api/v1/auth/login", json={"user": "x", "pin": "1234"}, base_url=base)
    assert r.status_code == 308  # never answered in clear
    r = plain.get("/", base_url="http://192.168.1.20:8080")
    assert r.headers["Location"] == "https://192.168.1.20:8443/"
    r = plain.get("/", base_url="http://[fd12::7]:8080")
    assert r.headers["Location"] == "https://[fd12::7]:8443/"
    assert plain.get("/", headers={"Host": "evil.example/@x"}).status_code == 400
    text = plain.get("/enrol", base_url=base).get_data(as_text=True)
    assert certs.fingerprint(ca) in text and 'data-url="http://hub.store.lan:8080/enrol"' in text
    assert 'href="https://hub.store.lan:8443/"' in text and "Test Store" in text
    assert plain.get("/enrol/store-ca.crt", base_url=base).mimetype == "application/x-x509-ca-cert"
    assert "Strict-Transport-Security" not in plain.get("/enrol", base_url=base).headers


def test_https_on_443_needs_no_port_in_the_redirect(data_dir, ca):
    c = create_plain_app(data_dir, https_port=443).test_client()
    assert c.get("/stock?x=1", base_url="http://hub.store.lan").headers["Location"] == "https://hub.store.lan/stock?x=1"
