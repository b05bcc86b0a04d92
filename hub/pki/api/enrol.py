"""The enrolment page and the store CA downloads (``/enrol``), and the two hooks the hub app runs on every
request: recording a handheld seen over HTTPS, and HSTS on HTTPS answers.

The page is served by the hub app (HTTPS) and by the plain-HTTP listener (:mod:`hub.pki.api.plain`), because a
phone that does not trust the store CA yet can only reach the hub over plain HTTP.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request

from hub.http.framework import device_id
from hub.pki import certs, page, rules, workflow

bp = Blueprint("enrol", __name__)

EXTENSION = "storehub.pki"
# HSTS: a browser that reached the hub over HTTPS never tries plain HTTP for it again (for a year). Browsers
# ignore the header on a connection whose certificate they do not trust, so only enrolled devices keep it.
HSTS = "max-age=31536000"
# Android and iOS offer to install a CA certificate served as application/x-x509-ca-cert (DER, ``.crt``);
# computers and tills take PEM.
CA_TYPES = {"der": ("application/x-x509-ca-cert", "crt"), "pem": ("application/x-pem-file", "pem")}
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::\d{1,5})?$")


@dataclass
class Site:
    """What the enrolment routes of one app know: the certificate files, the two ports, the devices already
    recorded by this worker (so an enrolled handheld costs one read per worker, not one per request)."""

    files: certs.PkiFiles
    store: str = "StoreHub"
    http_port: int | None = None
    https_port: int | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)
    _ca: tuple[tuple[int, int], str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ca(self) -> tuple[str, str] | None:
        """(SHA-256 fingerprint, common name) of the store CA, re-read only when its file changes."""
        try:
            st = os.stat(self.files.ca_cert)
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns)
        with self._lock:
            if self._ca is None or self._ca[0] != stamp:
                cert = certs.load_ca(self.files)
                if cert is None:
                    return None
                self._ca = (stamp, certs.fingerprint(cert), certs.common_name(cert))
            return self._ca[1], self._ca[2]


def configure(
    app: Flask, data_dir: Path, *, http_port: int | None = None, https_port: int | None = None, store: str = "StoreHub"
) -> Site:
    """Tell an app where its certificates are and which ports the plain and TLS listeners use (for the
    enrolment URL in the QR code and the link to the app)."""
    site = Site(certs.PkiFiles.in_data_dir(data_dir), store=store, http_port=http_port, https_port=https_port)
    app.extensions[EXTENSION] = site
    return site


def site() -> Site:
    found = current_app.extensions.get(EXTENSION)
    if found is None:  # the hub app served without ``storehub serve`` (tests, loopback development)
        found = configure(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            current_app.extensions["storehub"].config.data_dir,
        )
    return found


def host_name() -> str:
    """The name the visitor used for the hub, without the port (refused if it is not a plain host name)."""
    m = _HOST.match(request.host or "")
    if m is None:
        raise ValueError(f"bad Host header {request.host!r}")
    return m.group(1)


def url(scheme: str, port: int | None, path: str) -> str:
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host_name()}{'' if port in (None, default) else f':{port}'}{path}"


@bp.get("/enrol")
def enrol_page():
    s = site()
    ca = s.ca()
    try:
        host_name()
    except ValueError:
        return Response("bad Host header\n", status=400, mimetype="text/plain")
    enrol_url = url("http", s.http_port, "/enrol") if s.http_port else request.url_root + "enrol"
    app_url = url("https", s.https_port, "/") if s.https_port else request.url_root
    body = page.render(
        rules.pick_language(request.headers.get("Accept-Language")),
        store=s.store,
        fingerprint=ca[0] if ca else None,
        ca_name=ca[1] if ca else "",
        enrol_url=enrol_url,
        app_url=app_url,
    )
    return Response(body, mimetype="text/html", headers={"Cache-Control": "no-cache", "Vary": "Accept-Language"})


@bp.get("/enrol/store-ca.<fmt>")
def download_ca(fmt: str):
    kind = {"crt": "der", "pem": "pem"}.get(fmt)
    if kind is None:
        return Response("not found\n", status=404, mimetype="text/plain")
    try:
        data = certs.ca_bytes(site().files, kind)
    except FileNotFoundError:
        return Response("this hub has no store CA yet (storehub init)\n", status=404, mimetype="text/plain")
    mimetype, ext = CA_TYPES[kind]
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="storehub-store-ca.{ext}"', "Cache-Control": "no-cache"},
    )


def note_enrolled_device() -> None:
    """``before_request`` of the hub app: a handheld whose app calls the API over HTTPS (X-Device-Id header)
    trusts the store CA — record it as enrolled the first time."""
    if not request.is_secure:
        return
    dev = device_id()
    if dev is None:
        return
    s = site()
    ca = s.ca()
    if ca is None or (dev, ca[0]) in s.seen:
        return
    workflow.note_device(
        current_app.extensions["storehub"].db,
        device_id=dev,
        ca_fingerprint=ca[0],
        user_agent=request.headers.get("User-Agent"),
        address=request.remote_addr,
    )
    s.seen.add((dev, ca[0]))


def strict_transport(resp: Response) -> Response:
    """``after_request`` of the hub app: HSTS on every HTTPS answer (never on plain HTTP, where it means nothing)."""
    if request.is_secure:
        resp.headers.setdefault("Strict-Transport-Security", HSTS)
    return resp
