"""Browser-test support for the handheld UI: a real hub over HTTP and a phone-sized Chromium page.

Its fixtures are registered for every folder by ``tests/conftest.py``; import only the helpers::

    from tests.support.ui import login, scan

Fixtures
- ``hub_server`` — the conftest ``app`` (temp data dir, users associate/1111, supervisor/2222, manager,
  admin, badges ``BADGE-<role>``) plus the ``sample`` store, served by a real threaded WSGI server on a free
  port in a background thread. ``hub_server.stop()`` makes the hub unreachable (listening socket closed AND
  every open connection cut, so keep-alive and SSE connections die too); ``hub_server.start()`` brings it
  back on the same port. ``hub_server.url``, ``.app``, ``.db``, ``.sample``.
- ``ui_browser`` — one headless Debian Chromium per test module.
- ``phone`` — a fresh context + page at a handheld viewport (360×740, DPR 2, touch), ``base_url`` = the hub.
  Uncaught page errors and console errors (except Chromium's 'Failed to load resource' lines for HTTP
  errors the app handles) are collected in ``phone.errors`` (list of str).

Helpers
- ``login(page, user="associate", pin="1111")`` — opens the app and logs in through the PIN pad.
- ``login_badge(page, badge)`` — logs in by scanning a staff badge.
- ``scan(page, code, per_key_ms=3, suffix="Enter")`` — types ``code`` the way a DataWedge/Honeywell wedge does:
  trusted key events through Chromium's input pipeline, stamped ``per_key_ms`` apart (deterministic on a busy
  machine). GS (``\\x1d``) is sent as Ctrl+] (what a wedge in keyboard mode emits for FNC1); ``gs="event"``
  sends a key whose value is the raw 0x1D character (DataWedge "send control characters" on Android).
- ``human_type(page, text, per_key_ms=140)`` — a person typing.
- ``shot(page, name)`` — screenshot to ``test-artifacts/screens/<name>.png``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screens"
CHROMIUM = os.environ.get("STOREHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "has_touch": True,
    "is_mobile": True,
    "locale": "en-US",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep test output readable
        pass


class _TrackingServer(ThreadedWSGIServer):
    """A threaded WSGI server that remembers its open client sockets so ``cut()`` can kill them."""

    def __init__(self, *a, **kw):
        self.open_sockets: set[socket.socket] = set()
        self._sock_lock = threading.Lock()
        super().__init__(*a, **kw)

    def process_request(self, request, client_address):
        with self._sock_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._sock_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def cut(self) -> None:
        with self._sock_lock:
            socks = list(self.open_sockets)
            self.open_sockets.clear()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HubServer:
    """A real hub app behind a real HTTP server that can be switched off and on again."""

    def __init__(self, app, port: int | None = None, host: str = "127.0.0.1"):
        self.app = app
        self.host = host
        self.port = port or _free_port()
        self._server: _TrackingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def db(self):
        return self.app.extensions["storehub"].db

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> HubServer:
        if self._server is not None:
            return self
        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = _TrackingServer(self.host, self.port, self.app, handler=_QuietHandler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"hub-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Make the hub unreachable: stop accepting, close the port and cut every open connection."""
        srv, self._server = self._server, None
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        srv.cut()
        if self._thread is not None:
            self._thread.join(timeout=5)


@pytest.fixture
def hub_server(app, sample):
    srv = HubServer(app).start()
    srv.sample = sample
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ui_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM} (scripts/bootstrap dev installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(ui_browser, hub_server):
    context = ui_browser.new_context(base_url=hub_server.url, **PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    # HTTP errors the app handles (401 before login, refused connections while the hub is "down") are logged
    # by Chromium as "Failed to load resource"; everything else logged as an error is a bug.
    page.on(
        "console",
        lambda msg: (
            page.errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield page
    context.close()


def open_app(page, path: str = "/") -> None:
    page.goto(path)
    page.wait_for_selector("html[data-ready='1']")


def login(page, user: str = "associate", pin: str = "1111", *, open_first: bool = True) -> None:
    """Log in through the PIN pad the way a person would: username, then the digits on the pad."""
    if open_first:
        open_app(page)
    page.get_by_test_id("login-user").fill(user)
    for digit in pin:
        page.get_by_test_id(f"pin-{digit}").click()
    page.get_by_test_id("pin-ok").click()
    page.wait_for_selector("[data-screen='home']")


def login_badge(page, badge: str, *, open_first: bool = True) -> None:
    if open_first:
        open_app(page)
    page.wait_for_selector("[data-screen='login']")
    scan(page, badge)


KEY_UP_AFTER_S = 0.0005  # a wedge releases each key about half a millisecond after pressing it


def _cdp(page):
    session = getattr(page, "_storehub_cdp", None)
    if session is None:
        session = page.context.new_cdp_session(page)
        page._storehub_cdp = session  # type: ignore[attr-defined]
    return session


def _key(
    cdp,
    ts: float,
    key: str,
    *,
    text: str | None = None,
    code: str | None = None,
    vk: int | None = None,
    modifiers: int = 0,
) -> None:
    ev = {"key": key, "modifiers": modifiers}
    if code:
        ev["code"] = code
    if vk:
        ev["windowsVirtualKeyCode"] = vk
    down = dict(ev, type="keyDown" if text else "rawKeyDown", timestamp=ts)
    if text:
        down.update(text=text, unmodifiedText=text)
    cdp.send("Input.dispatchKeyEvent", down)
    cdp.send("Input.dispatchKeyEvent", dict(ev, type="keyUp", timestamp=ts + KEY_UP_AFTER_S))


def scan(page, code: str, per_key_ms: float = 3, suffix: str = "Enter", gs: str = "ctrl") -> None:
    """Type ``code`` like a keyboard-wedge scanner: a burst of real (trusted) key events ``per_key_ms`` apart,
    then the suffix key (Enter or Tab).

    The events go through Chromium's input pipeline (``Input.dispatchKeyEvent``: they reach the page as
    trusted keydown/keypress/input/keyup and type into a focused field) carrying the scanner's own timestamps,
    so the burst has wedge timing even when the test machine is slow. GS (0x1D) is sent as Ctrl+]
    (``gs="ctrl"``, a wedge in keyboard mode) or as a key whose value is the raw 0x1D character
    (``gs="event"``, DataWedge "send control characters")."""
    cdp = _cdp(page)
    gap = per_key_ms / 1000.0
    ts = time.time()
    for ch in code:
        if ch == "\x1d":
            if gs == "ctrl":
                _key(cdp, ts, "]", code="BracketRight", vk=221, modifiers=2)
            else:
                _key(cdp, ts, "\x1d")
        else:
            vk = ord(ch.upper()) if ch.isascii() and ch.isalnum() else None
            _key(cdp, ts, ch, text=ch, vk=vk)
        ts += gap
    if suffix == "Enter":
        _key(cdp, ts, "Enter", text="\r", code="Enter", vk=13)
    elif suffix == "Tab":
        _key(cdp, ts, "Tab", code="Tab", vk=9)
    elif suffix:
        raise ValueError(f"suffix must be Enter, Tab or empty, not {suffix!r}")
    # never leave the page's clock behind the burst's last timestamp (later real keys must come after it)
    wait = ts - time.time()
    if wait > 0:
        time.sleep(wait)


def human_type(page, text: str, per_key_ms: float = 140) -> None:
    page.keyboard.type(text, delay=per_key_ms)


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
