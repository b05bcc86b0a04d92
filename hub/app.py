"""The hub's Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, jsonify, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from hub import domains
from hub.domain import load
from hub.http.framework import API_PREFIX, check_all_declared
from hub.kernel.config import HubConfig
from hub.kernel.errors import StoreHubError
from hub.kernel.events import EventHub
from hub.pki.api import enrol
from hub.store import database

log = logging.getLogger(__name__)
UI_DIR = Path(__file__).resolve().parent.parent / "handheld_ui"


class NoFlaskSession(SecureCookieSessionInterface):
    """The hub keeps its own sessions (:mod:`hub.auth.sessions`: hashed tokens, CSRF); Flask's signed-cookie
    session is never used, so it is not opened on every request."""

    def open_session(self, app, request):
        return self.make_null_session(app)


class HubContext:
    """What a running hub app holds: its config, database and live-event fan-out."""

    def __init__(self, config: HubConfig):
        self.config = config
        config.ensure_dirs()
        self.db = database(config.db_path)
        self.db.migrate()
        self.secret_key = config.secret_key()
        self.events = EventHub(self.db)


def create_app(config: HubConfig | None = None) -> Flask:
    config = config or HubConfig()
    app = Flask(__name__, static_folder=None)
    app.config["TESTING"] = config.testing
    app.config["JSON_SORT_KEYS"] = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    ctx = HubContext(config)
    app.extensions["storehub"] = ctx
    app.secret_key = ctx.secret_key
    app.session_interface = NoFlaskSession()

    for ref in domains.route_refs():
        app.register_blueprint(load(ref), url_prefix=API_PREFIX)
    check_all_declared(app)
    screens = _screens()
    # HTTPS: /enrol (the store CA and how to install it), handhelds seen over HTTPS recorded as enrolled, HSTS
    app.register_blueprint(enrol.bp)
    app.before_request(enrol.note_enrolled_device)
    app.after_request(enrol.strict_transport)

    @app.errorhandler(StoreHubError)
    def _domain_error(exc: StoreHubError):
        return jsonify(exc.to_dict()), exc.status, exc.headers()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": exc.description, "details": None}}), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"error": {"code": "internal_error", "message": "internal error", "details": None}}), 500

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith(API_PREFIX):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.get("/")
    def _index():
        return send_from_directory(UI_DIR, "index.html")

    @app.get("/screens.json")
    def _screens_json():
        """The handheld's screens in domain order (the app imports each; its service worker caches them)."""
        resp = jsonify({"screens": screens})
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    @app.get("/display/<till>")
    def _till_display(till: str):
        """A till's customer display (handheld_ui/display.html reads the till from its path; hub.checkout)."""
        return send_from_directory(UI_DIR, "display.html")

    @app.get("/<path:name>")
    def _ui_file(name: str):
        if name.startswith("api/"):
            return jsonify({"error": {"code": "not_found", "message": f"no route /{name}", "details": None}}), 404
        resp = send_from_directory(UI_DIR, name)
        if name in ("sw.js", "index.html"):
            resp.headers["Cache-Control"] = "no-cache"
        return resp

    return app


def _screens() -> list[str]:
    """Every screen the domains declare; each must be a module in handheld_ui/screens/ (checked at start)."""
    names = domains.screens()
    missing = [n for n in names if not (UI_DIR / "screens" / f"{n}.js").is_file()]
    if missing:
        raise RuntimeError(f"declared handheld screens without a module in {UI_DIR / 'screens'}: {missing}")
    return names


def hub_context(app: Flask) -> HubContext:
    return app.extensions["storehub"]
