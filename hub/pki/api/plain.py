"""The hub's plain-HTTP listener: the enrolment page and the CA downloads, and a redirect to HTTPS for
everything else. It never serves the app or the API, so no PIN, session cookie or stock figure crosses the store
Wi-Fi in clear; a phone that types the hub's address without ``https://`` lands on the HTTPS app.

``storehub serve`` runs it in a child process (``storehub pki serve-http``) on ``--http-port``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, redirect, request

from hub.pki.api import enrol


def create_plain_app(
    data_dir: Path, *, https_port: int, http_port: int | None = None, store: str = "StoreHub"
) -> Flask:
    app = Flask(__name__, static_folder=None)
    enrol.configure(app, data_dir, http_port=http_port, https_port=https_port, store=store)
    app.register_blueprint(enrol.bp)

    @app.before_request
    def _to_https():
        if request.path == "/enrol" or request.path.startswith("/enrol/"):
            return None
        try:
            target = enrol.url("https", https_port, request.full_path if request.query_string else request.path)
        except ValueError:
            return Response("bad Host header\n", status=400, mimetype="text/plain")
        # 308 keeps the method and body (a POST from an old bookmark is not turned into a GET)
        return redirect(target, code=308)

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        return resp

    return app
