"""How a device agent trusts the hub's broker over ``mqtts://``: the store CA only, the host name checked.

An agent must not take a broker on the word of the system's public CAs (any site can buy a certificate) nor
skip the name check (another store's hub carries a certificate from another store CA for the same kind of
names): the context built here trusts exactly the CA ``storehub devices provision`` handed the device and has
OpenSSL check that the broker's certificate carries the host name or address the agent dialled.

paho reports a failed TLS connection only as "connection failed"; :class:`BrokerTrust` keeps the last handshake
error so the agent can say in its log *why* it refused a broker (another CA, a wrong name, an expired
certificate). Lives in ``hub.protocol`` because agents may import nothing else of the hub.
"""

from __future__ import annotations

import ssl
import threading


class _RecordingSocket(ssl.SSLSocket):
    """An SSL socket that leaves its handshake error on the :class:`BrokerTrust` that made it."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except ssl.SSLError as exc:
            trust = getattr(self.context, "storehub_trust", None)
            if trust is not None:
                trust._record(exc)
            raise


class BrokerTrust:
    """A client SSL context trusting only the store CA (``ca_file`` path or ``ca_pem`` text), TLS ≥ 1.2,
    certificate and host name required; remembers the last handshake failure (:meth:`take_failure`)."""

    def __init__(self, *, ca_file: str | None = None, ca_pem: str | None = None):
        if not ca_file and not ca_pem:
            raise ValueError("an mqtts:// broker needs the store CA (ca_file, or ca_pem in the provisioned config)")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = True
        # no load_default_certs(): a certificate from a public CA is not the store's broker
        ctx.load_verify_locations(cafile=ca_file or None, cadata=ca_pem or None)
        ctx.sslsocket_class = _RecordingSocket
        ctx.storehub_trust = self  # type: ignore[attr-defined]
        self.context = ctx
        self._lock = threading.Lock()
        self._failure: ssl.SSLError | None = None

    def _record(self, exc: ssl.SSLError) -> None:
        with self._lock:
            self._failure = exc

    def take_failure(self) -> ssl.SSLError | None:
        """The handshake error since the last call (None: the last attempt failed before TLS, or did not)."""
        with self._lock:
            exc, self._failure = self._failure, None
            return exc


def describe(exc: ssl.SSLError) -> str:
    """One line for a person: what was wrong with the broker's certificate."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {exc.verify_message} (verify code {exc.verify_code})"
    return f"TLS handshake failed: {exc.reason or exc}"
