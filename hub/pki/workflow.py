"""Store certificates: the steps that go together — checking and renewing what a data directory needs to
serve TLS, what the status shows, recording a device that reached the hub over HTTPS. The only module of the
domain that sequences other modules' steps (routes, the CLI and ``tls`` call it; ``certs``, ``model``,
``rules`` and ``names`` never import it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from hub.kernel.db import Database
from hub.pki import certs, model
from hub.pki.names import wanted_names
from hub.protocol.timeutil import iso

log = logging.getLogger(__name__)


def current_names(files: certs.PkiFiles, names: Callable[[list[str]], list[str]] | None = None) -> list[str]:
    """The names the hub answers to now: this box's host names and addresses plus the configured extra names
    (``names(extra)`` replaces the discovery, for tests and for a hub told its names explicitly)."""
    extra = certs.extra_names(files)
    return names(extra) if names else wanted_names(extra=extra)


def check(
    data_dir: Path,
    store_id: str,
    *,
    now: datetime | None = None,
    force: bool = False,
    names: Callable[[list[str]], list[str]] | None = None,
) -> certs.Outcome:
    """Create or renew what ``data_dir`` needs to serve TLS, for the names the hub answers to right now.

    ``names(extra)`` gives those names (default: this box's host names and addresses, :func:`wanted_names`)."""
    files = certs.PkiFiles.in_data_dir(data_dir)
    wanted = current_names(files, names)
    out = certs.ensure(files, store_id=store_id, names=wanted, now=now or datetime.now(UTC), force=force)
    if out.ca_created:
        log.warning("created the store CA in %s: enrol every handheld with it (see /enrol)", files.root)
    if out.hub_issued:
        log.warning("issued the hub certificate (%s) for %s", out.hub_issued, ", ".join(out.names))
    if out.left_out:
        log.warning("names outside the store CA's constraints, not in the certificate: %s", ", ".join(out.left_out))
    for d in out.brokers_issued:
        log.warning("issued the broker certificate in %s: reload Mosquitto (SIGHUP) so new connections get it", d)
    return out


def install_broker(
    data_dir: Path,
    store_id: str,
    broker_dir: Path,
    *,
    now: datetime | None = None,
    names: Callable[[list[str]], list[str]] | None = None,
) -> x509.Certificate | None:
    """Give the Mosquitto directory ``broker_dir`` a certificate from the store CA for the names the hub answers to
    (the CA and the hub certificate are made first if missing), renewed from then on with the hub's."""
    now = now or datetime.now(UTC)
    check(data_dir, store_id, now=now, names=names)
    files = certs.PkiFiles.in_data_dir(data_dir)
    reason, cert = certs.install_broker(files, broker_dir, current_names(files, names), now=now)
    if reason is not None and cert is not None:
        log.warning("issued the broker certificate (%s) in %s for %s", reason, broker_dir, ", ".join(certs.sans(cert)))
    return cert


def enrolment_url(data_dir: Path, http_port: int, names: list[str] | None = None) -> str:
    """The address to print for people: the plain-HTTP enrolment page under the first name the store added
    (``--tls-name``), else the ``.local`` mDNS name the hub advertises."""
    files = certs.PkiFiles.in_data_dir(data_dir)
    hub = certs.load_hub(files)
    carried = names or (certs.sans(hub) if hub is not None else current_names(files))
    extra = [n for n in certs.extra_names(files) if n in carried]
    host = (extra or [n for n in carried if n.endswith(".local")] or carried or ["localhost"])[0]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}{'' if http_port == 80 else f':{http_port}'}/enrol"


def status(
    data_dir: Path, *, now: datetime | None = None, names: Callable[[list[str]], list[str]] | None = None
) -> dict[str, Any]:
    """The CA, the hub certificate, the names wanted and whether a renewal is due."""
    files = certs.PkiFiles.in_data_dir(data_dir)
    return certs.status(files, names=current_names(files, names), now=now or datetime.now(UTC))


def note_device(
    db: Database,
    *,
    device_id: str,
    ca_fingerprint: str,
    user_agent: str | None,
    address: str | None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Record a device seen over HTTPS under the current CA, writing only the first time (a read decides, so
    the many requests of an enrolled handheld never take the write lock)."""
    if model.is_enrolled(db.read(), device_id, ca_fingerprint):
        return None
    with db.write() as conn:
        return model.record_enrolment(
            conn,
            device_id=device_id,
            ca_fingerprint=ca_fingerprint,
            now=iso(now or datetime.now(UTC)),
            user_agent=user_agent,
            address=address,
        )
