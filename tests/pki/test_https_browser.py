"""Real Chromium, real ``storehub serve`` (gunicorn) over HTTPS at a LAN name: the store CA installed in
Chromium's certificate store (a fresh NSS database under a temporary HOME) is all a handheld needs — a secure
context, the service worker, the offline shell, the camera API; plain HTTP only redirects; a hub whose
certificate comes from another store's CA is refused."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hub.auth import users
from hub.pki import certs
from hub.store import open_db
from tests.support.common import ROOT, free_port
from tests.support.ui import CHROMIUM, CHROMIUM_ARGS, PHONE, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "hub.store.lan"


def storehub(*args: str, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120, **kw
    )
    assert out.returncode == 0, out.stderr
    return out


class Served:
    """A hub data directory initialised with ``storehub init`` and served by ``storehub serve --tls``."""

    def __init__(self, data_dir: Path, *, http_port: int = 0):
        self.data_dir = data_dir
        self.port = free_port()
        self.http_port = http_port
        self.files = certs.PkiFiles.in_data_dir(data_dir)
        storehub("init", "--data-dir", str(data_dir), "--store", data_dir.name, "--tls-name", NAME, "--language", "en")
        cfg, db = open_db(data_dir)
        with db.write() as conn:
            users.create(conn, username="associate", role="associate", pin="1111", secret_key=cfg.secret_key())
        db.close()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--tls",
                "--http-port",
                str(http_port),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        trust = ssl.create_default_context(cafile=str(self.files.ca_cert))
        end = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{self.port}/api/v1/health", context=trust, timeout=5
                ) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert self.proc.poll() is None, self.proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < end, "storehub serve --tls did not answer"
            time.sleep(0.3)
        if http_port:
            end = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{http_port}/enrol", timeout=5).close()
                    break
                except OSError:
                    assert time.monotonic() < end, "the plain-HTTP listener did not answer"
                    time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"https://{NAME}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def hubs(tmp_path_factory):
    if not shutil.which("certutil"):
        pytest.skip("certutil not installed (scripts/bootstrap dev installs libnss3-tools)")
    root = tmp_path_factory.mktemp("https")
    ours = Served(root / "store-a", http_port=free_port())
    other = Served(root / "store-b")  # a second storehub init: another store CA
    yield ours, other
    ours.stop()
    other.stop()


@pytest.fixture(scope="module")
def chromium(hubs, tmp_path_factory):
    """Chromium whose only extra trusted root is store A's CA, in a fresh NSS database under a temporary HOME."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    ours, _other = hubs
    home = tmp_path_factory.mktemp("home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "StoreHub store CA", "-t", "C,,", "-i", str(ours.files.ca_cert)],
        check=True,
        capture_output=True,
    )
    listed = subprocess.run(["certutil", "-L", "-d", f"sql:{nssdb}"], check=True, capture_output=True, text=True)
    assert "StoreHub store CA" in listed.stdout
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {NAME} 127.0.0.1"],
            env={**os.environ, "HOME": str(home)},
        )
        yield browser
        browser.close()


def _phone(chromium, base_url: str):
    context = chromium.new_context(base_url=base_url, **PHONE)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_over_https_the_app_is_a_secure_context_with_worker_offline_shell_and_camera(hubs, chromium):
    ours, _other = hubs
    context, page = _phone(chromium, ours.url)
    try:
        login(page)  # the PIN pad over HTTPS: the app's API calls carry X-Device-Id
        assert page.url.startswith(f"https://{NAME}:{ours.port}/")
        assert page.evaluate("window.isSecureContext") is True
        assert page.evaluate("'serviceWorker' in navigator") is True
        assert page.evaluate("typeof navigator.mediaDevices?.getUserMedia") == "function"
        scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
        assert scope == f"https://{NAME}:{ours.port}/"
        assert page.evaluate("""async () => {
          for (let i = 0; i < 150; i++) {
            const names = await caches.keys();
            if (names.length && await (await caches.open(names[0])).match('/')) return true;
            await new Promise((r) => setTimeout(r, 100));
          }
          return false; }""")
        device = page.evaluate("localStorage.getItem('storehub.device')")
        # the handheld is recorded as enrolled, with the store CA it trusts
        listed = storehub("pki", "enrolled", "--data-dir", str(ours.data_dir)).stdout
        assert f'"device_id": "{device}"' in listed
        assert certs.fingerprint(certs.load_ca(ours.files)) in listed
        # the shell reloads with no network at all
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("html[data-ready='1']")
        assert page.evaluate("window.isSecureContext") is True
    finally:
        context.close()


def test_plain_http_redirects_to_https_and_serves_the_enrolment_page(hubs, chromium):
    ours, _other = hubs
    context, page = _phone(chromium, ours.url)
    try:
        page.goto(f"http://{NAME}:{ours.http_port}/")
        page.wait_for_selector("html[data-ready='1']")
        assert page.url == f"https://{NAME}:{ours.port}/"
        assert page.evaluate("window.isSecureContext") is True
    finally:
        context.close()
    context, page = _phone(chromium, ours.url)  # a fresh profile: no HSTS from the visit above
    try:
        page.goto(f"http://{NAME}:{ours.http_port}/enrol")
        assert page.url == f"http://{NAME}:{ours.http_port}/enrol"
        shown = page.get_by_test_id("ca-fingerprint").inner_text()
        assert shown == certs.fingerprint(certs.load_ca(ours.files))
        assert page.get_by_test_id("enrol-qr").get_attribute("data-url") == f"http://{NAME}:{ours.http_port}/enrol"
        assert page.get_by_test_id("enrol-qr").locator("svg").is_visible()
    finally:
        context.close()


def test_a_certificate_from_another_store_ca_is_refused(hubs, chromium):
    from playwright.sync_api import Error

    _ours, other = hubs
    context, page = _phone(chromium, other.url)
    try:
        with pytest.raises(Error, match="net::ERR_CERT_AUTHORITY_INVALID"):
            page.goto(other.url + "/")
    finally:
        context.close()
