"""The store certificate authority and the hub's TLS certificate: pure functions over the data directory.

``<data dir>/pki/`` (mode 0700) holds

- ``store-ca.key`` (0600) and ``store-ca.crt`` — the store CA: ECDSA P-256, valid 20 years, name-constrained to
  LAN names (:mod:`hub.pki.rules`). Its certificate is what handhelds and tills install; its key never leaves
  the hub (a backup of the data directory carries it, so keep backups as safe as the hub).
- ``hub.pem`` (0600) — the hub's private key and certificate in one file, so a renewal replaces both in one
  atomic rename and a TLS worker never reads a key of one issue with the certificate of another.
- ``names.json`` — the extra names the store configured (``storehub init --tls-name``), kept across renewals.
- ``brokers.json`` — the directories holding a broker certificate (:func:`install_broker`): Mosquitto's TLS
  listener runs as another user, cannot read ``hub.pem`` and must not hold the hub's HTTPS key, so it gets its
  own key and certificate for the same names, issued by the same CA and renewed whenever the hub's is.

Everything uses the ``cryptography`` library; nothing here opens a socket or reads the clock (callers pass
``now``), so renewal is tested by moving ``now``.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.pki import rules
from hub.pki.rules import clean_name


@dataclass(frozen=True)
class PkiFiles:
    """Where a hub keeps its certificates (``<data dir>/pki``)."""

    root: Path

    @classmethod
    def in_data_dir(cls, data_dir: Path | str) -> PkiFiles:
        return cls(Path(data_dir) / "pki")

    @property
    def ca_key(self) -> Path:
        return self.root / "store-ca.key"

    @property
    def ca_cert(self) -> Path:
        return self.root / "store-ca.crt"

    @property
    def hub_pem(self) -> Path:
        return self.root / "hub.pem"

    @property
    def names_file(self) -> Path:
        return self.root / "names.json"

    @property
    def brokers_file(self) -> Path:
        return self.root / "brokers.json"

    def ensure_dir(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)


@dataclass
class Outcome:
    """What :func:`ensure` did: created the CA, (re)issued the hub certificate (and why), left names out."""

    ca_created: bool = False
    hub_issued: str | None = None  # rules.renewal_reason, or "forced"
    names: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    brokers_issued: list[str] = field(default_factory=list)  # broker directories given a new certificate


# --- files -----------------------------------------------------------------------------------------------------


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` atomically with ``mode`` from the first byte (a key is never readable by others, even
    for an instant)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _locked(files: PkiFiles) -> Iterator[None]:
    """One issuer at a time (``storehub serve``'s renewal and a ``storehub pki renew`` may run together)."""
    files.ensure_dir()
    fd = os.open(files.root / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def extra_names(files: PkiFiles) -> list[str]:
    """The names the store added (``--tls-name``): kept in ``names.json`` so every renewal carries them."""
    try:
        data = json.loads(files.names_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [clean_name(n) for n in data.get("extra", [])]


def change_extra_names(files: PkiFiles, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> list[str]:
    """Add and remove extra names (validated); returns the new list."""
    names = extra_names(files)
    for n in (clean_name(x) for x in add):
        if n not in names:
            names.append(n)
    dropped = {clean_name(x) for x in remove}
    names = [n for n in names if n not in dropped]
    files.ensure_dir()
    _write(files.names_file, json.dumps({"extra": names}, indent=1).encode() + b"\n", 0o644)
    return names


def load_ca(files: PkiFiles) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    except FileNotFoundError:
        return None


def load_hub(files: PkiFiles) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(files.hub_pem.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, as colon-separated hex: what a person compares on the phone's screen."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def ca_bytes(files: PkiFiles, fmt: str) -> bytes:
    """The store CA certificate as ``der`` (Android and iOS install a ``.crt`` in DER) or ``pem``."""
    ca = load_ca(files)
    if ca is None:
        raise FileNotFoundError(f"no store CA in {files.root} (run storehub init)")
    return ca.public_bytes(serialization.Encoding.DER if fmt == "der" else serialization.Encoding.PEM)


def common_name(cert: x509.Certificate) -> str:
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cn[0].value) if cn else cert.subject.rfc4514_string()


def sans(cert: x509.Certificate) -> list[str]:
    """The names a certificate carries (DNS names and IP addresses, as :func:`rules.clean_name` writes them)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        g.value if isinstance(g, x509.DNSName) else str(g.value)
        for g in ext
        if isinstance(g, (x509.DNSName, x509.IPAddress))
    ]


def ca_dns_subtrees(ca: x509.Certificate) -> list[str]:
    """The DNS subtrees a store CA may certify (its name constraints)."""
    try:
        nc = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return list(rules.PERMITTED_DNS_SUFFIXES)
    return [g.value for g in nc.permitted_subtrees or () if isinstance(g, x509.DNSName)]


# --- issuing ---------------------------------------------------------------------------------------------------


def create_ca(files: PkiFiles, *, store_id: str, names: list[str], now: datetime) -> x509.Certificate:
    """Create the store CA (refuses to replace one: that would make every enrolled handheld refuse the hub).

    ``names`` are the hub's names at creation: a single-label host name or a configured name outside the LAN
    suffixes is added to the CA's permitted DNS subtrees exactly."""
    files.ensure_dir()
    if files.ca_cert.exists():
        raise FileExistsError(f"{files.ca_cert} exists: the store CA is created once")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "StoreHub"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, store_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"StoreHub store CA {store_id}"),
        ]
    )
    constraints = x509.NameConstraints(
        permitted_subtrees=[
            *(x509.DNSName(d) for d in rules.permitted_dns(names)),
            *(x509.IPAddress(ipaddress.ip_network(n)) for n in rules.PERMITTED_NETWORKS),
        ],
        excluded_subtrees=None,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - rules.BACKDATE)
        .not_valid_after(now + rules.CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(constraints, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(
        files.ca_key,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        0o600,
    )
    _write(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert


def _issue_server(
    files: PkiFiles, names: list[str], *, now: datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, list[str]]:
    """A new key and a server certificate from the store CA for every name the CA may certify (the hub's HTTPS
    certificate and the broker's are the same profile); returns the key, the certificate and the names left
    out."""
    ca = load_ca(files)
    if ca is None:
        raise FileNotFoundError(f"no store CA in {files.root} (run storehub init)")
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{files.ca_key} is not the store CA's EC key")
    inside, outside = rules.split_by_constraints(names, ca_dns_subtrees(ca))
    if not inside:
        raise ValueError("none of the hub's names is within the store CA's name constraints")
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.IPAddress(ipaddress.ip_address(n)) if rules.is_ip(n) else x509.DNSName(n) for n in inside]
    dns = [n for n in inside if not rules.is_ip(n)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "StoreHub"),
                    x509.NameAttribute(NameOID.COMMON_NAME, (dns or inside)[0]),
                ]
            )
        )
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - rules.BACKDATE)
        .not_valid_after(now + rules.HUB_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert, outside


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def issue_hub(files: PkiFiles, names: list[str], *, now: datetime) -> tuple[x509.Certificate, list[str]]:
    """Issue the hub's certificate for every name the CA may certify; returns it and the names left out."""
    key, cert, outside = _issue_server(files, names, now=now)
    _write(files.hub_pem, _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM), 0o600)
    return cert, outside


# --- the broker's certificate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerFiles:
    """What Mosquitto's TLS listener reads (``cafile``, ``certfile``, ``keyfile`` of the shipped config), in the
    directory ``storehub devices provision`` writes the password and ACL files to."""

    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "ca.crt"

    @property
    def cert(self) -> Path:
        return self.root / "server.crt"

    @property
    def key(self) -> Path:
        return self.root / "server.key"

    def tls_files(self) -> dict[str, Path]:
        """As :func:`hub.bus.mosquitto.render` takes them."""
        return {"cafile": self.ca, "certfile": self.cert, "keyfile": self.key}


def broker_dirs(files: PkiFiles) -> list[Path]:
    """The broker directories this CA keeps a certificate in (renewed with the hub's)."""
    try:
        data = json.loads(files.brokers_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [Path(d) for d in data.get("dirs", [])]


def load_broker(broker: BrokerFiles) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(broker.cert.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def issue_broker(files: PkiFiles, broker: BrokerFiles, names: list[str], *, now: datetime) -> x509.Certificate:
    """Issue Mosquitto's certificate (same names and validity as the hub's, a key of its own) into ``broker``.

    The key is written 0640 (Mosquitto reads it as its own user through the directory's group, like the password
    file); ``ca.crt`` is the store CA, what the devices are handed."""
    key, cert, _outside = _issue_server(files, names, now=now)
    broker.root.mkdir(parents=True, exist_ok=True)
    _write(broker.key, _key_pem(key), 0o640)
    _write(broker.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(broker.ca, files.ca_cert.read_bytes(), 0o644)
    return cert


def _broker_reason(broker: BrokerFiles, ca: x509.Certificate, wanted: set[str], now: datetime) -> str | None:
    cert = load_broker(broker)
    if cert is not None and cert.issuer != ca.subject:
        return "issuer"
    return rules.renewal_reason(
        set(sans(cert)) if cert is not None else None,
        cert.not_valid_after_utc if cert is not None else None,
        wanted,
        now,
    )


def install_broker(
    files: PkiFiles, broker_dir: Path, names: list[str], *, now: datetime
) -> tuple[str | None, x509.Certificate | None]:
    """Give the broker directory ``broker_dir`` a certificate for ``names`` (when it has none, or a stale one) and
    register it, so every later :func:`ensure` renews it together with the hub's. Returns why it was issued (None:
    the current one is still good) and the certificate."""
    broker = BrokerFiles(Path(broker_dir).resolve())
    with _locked(files):
        ca = load_ca(files)
        if ca is None:
            raise FileNotFoundError(f"no store CA in {files.root} (run storehub init)")
        inside, _outside = rules.split_by_constraints(names, ca_dns_subtrees(ca))
        reason = _broker_reason(broker, ca, set(inside), now)
        cert = issue_broker(files, broker, names, now=now) if reason is not None else load_broker(broker)
        dirs = [str(d) for d in broker_dirs(files)]
        if str(broker.root) not in dirs:
            dirs.append(str(broker.root))
            _write(files.brokers_file, json.dumps({"dirs": dirs}, indent=1).encode() + b"\n", 0o644)
        return reason, cert  # reason None: renewal_reason found a current certificate, so cert is not None


def ensure(files: PkiFiles, *, store_id: str, names: list[str], now: datetime, force: bool = False) -> Outcome:
    """Make the data directory serve TLS for ``names``: create the CA if there is none, (re)issue the hub
    certificate when it is missing, expiring or its names differ from what the hub answers to (or ``force``)."""
    out = Outcome()
    with _locked(files):
        ca = load_ca(files)
        if ca is None or not files.ca_key.exists():
            files.ca_cert.unlink(missing_ok=True)  # a key without a certificate is a half-made CA
            ca = create_ca(files, store_id=store_id, names=names, now=now)
            out.ca_created = True
        inside, out.left_out = rules.split_by_constraints(names, ca_dns_subtrees(ca))
        hub = load_hub(files)
        reason = (
            "forced"
            if force
            else rules.renewal_reason(
                set(sans(hub)) if hub is not None else None,
                hub.not_valid_after_utc if hub is not None else None,
                set(inside),
                now,
            )
        )
        if hub is not None and hub.issuer != ca.subject:
            reason = "issuer"  # issued by a CA this hub no longer has
        if out.ca_created or reason is not None:
            hub, _outside = issue_hub(files, names, now=now)
            out.hub_issued = "missing" if out.ca_created and reason is None else reason
        out.names = sans(hub) if hub is not None else []
        for d in broker_dirs(files):
            broker = BrokerFiles(d)
            # renewed with the hub's: same moment, same names, so a device reaches the broker by any name a
            # handheld reaches the hub by, and both certificates come due together
            if out.hub_issued or _broker_reason(broker, ca, set(inside), now) is not None:
                issue_broker(files, broker, names, now=now)
                out.brokers_issued.append(str(d))
    return out


def status(files: PkiFiles, *, names: list[str], now: datetime) -> dict[str, Any]:
    """What ``storehub pki status`` and ``GET /api/v1/pki/status`` show."""
    ca, hub = load_ca(files), load_hub(files)
    out: dict[str, Any] = {"ca": None, "hub": None, "wanted": names, "left_out": [], "renewal_due": "missing"}
    if ca is None:
        return out
    out["ca"] = {
        "subject": ca.subject.rfc4514_string(),
        "fingerprint_sha256": fingerprint(ca),
        "not_after": ca.not_valid_after_utc.isoformat(),
        "permitted_dns": ca_dns_subtrees(ca),
    }
    inside, out["left_out"] = rules.split_by_constraints(names, ca_dns_subtrees(ca))
    if hub is not None:
        out["hub"] = {
            "names": sans(hub),
            "not_after": hub.not_valid_after_utc.isoformat(),
            "fingerprint_sha256": fingerprint(hub),
        }
    out["renewal_due"] = rules.renewal_reason(
        set(sans(hub)) if hub else None, hub.not_valid_after_utc if hub else None, set(inside), now
    )
    return out
