"""Personal data at rest: field encryption and keyed lookup hashes, with keys kept outside the database.

Why: a hub database file leaves the store in backups, on a replaced SD card or attached to a support ticket. A
phone number or a name in it must be unreadable without a key that never travels with it, and the hub must still
find a member by phone without a plain phone column. So:

* **Keys** live in ``pii.keys`` in the data directory (mode 0600, written by atomic rename), never in the database.
  Each key has an id; the file names the current one. A key is two random 256-bit secrets: one for AES-GCM, one
  for HMAC-SHA256 (separate keys for separate jobs).
* **Field encryption** (``encrypt``/``decrypt``): AES-256-GCM from ``cryptography`` (no hand-rolled cipher), a
  fresh 96-bit nonce per value, and the *context* (table, column and row id) as associated data, so a ciphertext
  copied into another row or column does not decrypt. A value is the text ``pii1:<key id>:<base64url(nonce|ct)>``:
  the key id travels with the value, which is what lets rotation proceed row by row and a reader pick the key.
* **Lookup hashes** (``lookup_hash``): ``<key id>:<hex HMAC-SHA256(mac key, purpose | value)>``. Equality lookups
  go through the hash; ``lookup_hashes`` gives the value's hash under every key in the ring (current first), so a
  lookup made while a rotation is half done still finds rows hashed under the old key.
* **Rotation** (``add_key``, then ``rotate``: every domain holding encrypted columns re-encrypts and re-hashes its
  rows inside one write transaction, then keys no stored value uses are retired — ``storehub pii rotate-key``;
  docs/security.md). A running server notices the new file (inode and mtime are checked on every
  use) before it encrypts anything else, and an old key is only dropped once nothing stored uses it.
* **Signatures** (``sign``/``verify``) with the current HMAC key, for short-lived codes (a member's dynamic code).
* **Sealing to the central** (``seal``, ``SealKeys``, ``seal_for_central``): see the section below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from hub.protocol.timeutil import now_iso

KEY_FILE = "pii.keys"
PREFIX = "pii1"
_NONCE = 12
_log = logging.getLogger(__name__)


class PiiError(Exception):
    """A value that cannot be decrypted: unknown key id (the key file is not this hub's, or was lost), a
    ciphertext moved to another row, or tampering."""


@dataclass(frozen=True)
class _Key:
    kid: str
    enc: bytes
    mac: bytes
    created_at: str


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _new_key() -> _Key:
    return _Key("k" + secrets.token_hex(4), secrets.token_bytes(32), secrets.token_bytes(32), now_iso())


class KeyRing:
    """The keys of one data directory. Use :func:`keyring` to get the process's shared, self-refreshing ring."""

    def __init__(self, path: Path, current: str, keys: dict[str, _Key]):
        self.path = path
        self.current = current
        self.keys = keys

    # --- file ----------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> KeyRing:
        doc = json.loads(path.read_text(encoding="utf-8"))
        keys = {
            kid: _Key(kid, _unb64(k["enc"]), _unb64(k["mac"]), k.get("created_at", ""))
            for kid, k in doc["keys"].items()
        }
        if doc["current"] not in keys:
            raise PiiError(f"{path}: the current key {doc['current']!r} is not in the file")
        return cls(path, doc["current"], keys)

    @classmethod
    def create(cls, path: Path) -> KeyRing:
        k = _new_key()
        ring = cls(path, k.kid, {k.kid: k})
        ring._write(exclusive=True)
        return ring

    def _write(self, *, exclusive: bool = False) -> None:
        doc = {
            "format": 1,
            "current": self.current,
            "keys": {
                k.kid: {"enc": _b64(k.enc), "mac": _b64(k.mac), "created_at": k.created_at} for k in self.keys.values()
            },
        }
        data = json.dumps(doc, indent=1).encode("utf-8")
        if exclusive:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def add_key(self) -> str:
        """Make a new key current (the old ones stay to read what they encrypted). Returns its id."""
        k = _new_key()
        self.keys = {**self.keys, k.kid: k}
        self.current = k.kid
        self._write()
        return k.kid

    def retire_unused(self, in_use: set[str]) -> list[str]:
        """Drop every non-current key that no stored value uses (``in_use``: the key ids still found). Call it
        inside the write transaction that counted ``in_use``, so no writer can add a value in between."""
        gone = [kid for kid in self.keys if kid != self.current and kid not in in_use]
        if gone:
            self.keys = {kid: k for kid, k in self.keys.items() if kid not in gone}
            self._write()
        return gone

    # --- values --------------------------------------------------------------------------------------------
    def encrypt(self, plaintext: str, *, context: str) -> str:
        k = self.keys[self.current]
        nonce = secrets.token_bytes(_NONCE)
        ct = AESGCM(k.enc).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{PREFIX}:{k.kid}:{_b64(nonce + ct)}"

    def decrypt(self, token: str, *, context: str) -> str:
        kid = key_id(token)
        k = self.keys.get(kid)
        if k is None:
            raise PiiError(f"no key {kid!r} in {self.path} (another hub's data, or a lost key file)")
        raw = _unb64(token.split(":", 2)[2])
        try:
            return AESGCM(k.enc).decrypt(raw[:_NONCE], raw[_NONCE:], context.encode("utf-8")).decode("utf-8")
        except InvalidTag:
            raise PiiError(f"value does not decrypt for {context} (moved from another row, or altered)") from None

    def reencrypt(self, token: str, *, context: str) -> str:
        """The value under the current key (unchanged if it already is)."""
        if key_id(token) == self.current:
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def _hash(self, k: _Key, value: str, purpose: str) -> str:
        return f"{k.kid}:" + hmac.new(k.mac, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()

    def lookup_hash(self, value: str, *, purpose: str) -> str:
        return self._hash(self.keys[self.current], value, purpose)

    def lookup_hashes(self, value: str, *, purpose: str) -> list[str]:
        ordered = [self.keys[self.current]] + [k for kid, k in self.keys.items() if kid != self.current]
        return [self._hash(k, value, purpose) for k in ordered]

    def sign(self, data: str, *, purpose: str) -> bytes:
        return hmac.new(self.keys[self.current].mac, f"sign|{purpose}|{data}".encode(), hashlib.sha256).digest()

    def verify(self, data: str, signature: bytes, *, purpose: str, length: int) -> bool:
        """True when ``signature`` (truncated to ``length`` bytes) was made by any key of the ring."""
        return any(
            hmac.compare_digest(
                hmac.new(k.mac, f"sign|{purpose}|{data}".encode(), hashlib.sha256).digest()[:length], signature
            )
            for k in self.keys.values()
        )


def rotate(conn: sqlite3.Connection, holders: dict[str, Any]) -> dict[str, Any]:
    """Re-encrypt every encrypted column of every domain under the ring's current key (call after ``add_key``,
    inside one write transaction), then drop the keys nothing stored uses any more. ``holders``: name → a module
    with ``reencrypt(conn, ring) -> int`` and ``keys_in_use(conn) -> set`` (the domains holding personal data;
    listed by ``hub/auth/cli.py``, the kernel imports no domain)."""
    ring = for_connection(conn)
    counts = {name: int(h.reencrypt(conn, ring)) for name, h in holders.items()}
    in_use: set[str] = set()
    for h in holders.values():
        in_use |= h.keys_in_use(conn)
    retired = ring.retire_unused(in_use)
    return {"current": ring.current, "reencrypted": counts, "retired": retired}


def key_id(token: str) -> str:
    parts = token.split(":", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != PREFIX:
        raise PiiError("not an encrypted value")
    return parts[1]


def hash_key_id(digest: str) -> str:
    return digest.split(":", 1)[0]


def describe(ring: KeyRing) -> dict[str, Any]:
    """What ``storehub pii keys`` shows: ids and dates, never key material."""
    return {
        "file": str(ring.path),
        "current": ring.current,
        "keys": [{"id": k.kid, "created_at": k.created_at} for k in ring.keys.values()],
    }


_rings: dict[Path, tuple[tuple[int, int], KeyRing]] = {}
_lock = threading.Lock()


def keyring(data_dir: Path | str) -> KeyRing:
    """The data directory's key ring, created on first use (0600). Re-read whenever the file was replaced, so a
    server picks up a rotation made by ``storehub pii rotate-key`` before its next write."""
    path = (Path(data_dir) / KEY_FILE).resolve()
    with _lock:
        try:
            st = path.stat()
        except FileNotFoundError:
            try:
                KeyRing.create(path)
            except FileExistsError:
                pass
            st = path.stat()
        stamp = (st.st_ino, st.st_mtime_ns)
        cached = _rings.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        ring = KeyRing.load(path)
        _rings[path] = (stamp, ring)
        return ring


def for_connection(conn: sqlite3.Connection) -> KeyRing:
    """The key ring of the data directory holding the database ``conn`` is open on (``pii.keys`` sits beside
    ``hub.db``), so domain functions need nothing but their connection."""
    return keyring(_data_dir(conn))


# --- sealing to the central ---------------------------------------------------------------------------------------
# A personal field a fact carries to the central (a member's phone, a staff member's name) is *sealed*: encrypted to
# the central's X25519 public key, so the outbox row on the hub — and every copy of it on the way — is unreadable
# without the central's private key, which never leaves the central (``pii-seal.keys`` beside its config, 0600).
# Construction (all from ``cryptography``): a fresh ephemeral X25519 key pair per value; the shared secret through
# HKDF-SHA256 (salt = ephemeral public key | recipient public key, info = SEAL_INFO) gives a one-time AES-256-GCM key;
# the value's context (fact kind, field, row id) is the associated data, so a sealed value moved to another fact or
# field does not open. A sealed value is ``seal1:<recipient key id>:<base64url(ephemeral public | nonce | ct)>``;
# the key id (``s`` + 8 hex digits of SHA-256 of the public key) lets the central keep old key pairs for a rotation.
SEAL_PREFIX = "seal1"
SEAL_INFO = b"storehub personal data sealed to the central v1"
CENTRAL_KEY_FILE = "central-pii.pub"  # on a hub: the central's public key (not secret), beside hub.db
SEAL_KEY_FILE = "pii-seal.keys"  # at the central: its key pairs (secret, 0600)


def _raw_public(pub: X25519PublicKey) -> bytes:
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def seal_key_id(public_raw: bytes) -> str:
    return "s" + hashlib.sha256(public_raw).hexdigest()[:8]


def _seal_aead_key(shared: bytes, eph_raw: bytes, recipient_raw: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=eph_raw + recipient_raw, info=SEAL_INFO).derive(shared)


def parse_public_key(text: str) -> bytes:
    """A central's public key as hubs hold it: base64url of the 32 raw X25519 bytes."""
    try:
        raw = _unb64(text.strip())
    except (ValueError, TypeError):
        raise PiiError("not a personal-data public key (base64url of 32 bytes)") from None
    if len(raw) != 32:
        raise PiiError("not a personal-data public key (base64url of 32 bytes)")
    return raw


def seal(public_key: str, plaintext: str, *, context: str) -> str:
    """``plaintext`` sealed to the holder of ``public_key``'s private key (see above)."""
    recipient_raw = parse_public_key(public_key)
    eph = X25519PrivateKey.generate()
    eph_raw = _raw_public(eph.public_key())
    key = _seal_aead_key(eph.exchange(X25519PublicKey.from_public_bytes(recipient_raw)), eph_raw, recipient_raw)
    nonce = secrets.token_bytes(_NONCE)
    ct = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return f"{SEAL_PREFIX}:{seal_key_id(recipient_raw)}:{_b64(eph_raw + nonce + ct)}"


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEAL_PREFIX + ":")


class SealKeys:
    """The central's key pairs for sealed personal data (``pii-seal.keys``, 0600, outside the database). The
    current pair's public key is what hubs seal to; older pairs stay to open what was sealed to them."""

    def __init__(self, path: Path, current: str, private: dict[str, X25519PrivateKey], created: dict[str, str]):
        self.path, self.current, self.private, self.created = path, current, private, created

    @classmethod
    def open(cls, directory: Path | str) -> SealKeys:
        """The directory's key pairs, created (one pair) on first use."""
        path = Path(directory) / SEAL_KEY_FILE
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            k = X25519PrivateKey.generate()
            kid = seal_key_id(_raw_public(k.public_key()))
            ring = cls(path, kid, {kid: k}, {kid: now_iso()})
            try:
                ring._write(exclusive=True)
            except FileExistsError:
                pass
            else:
                return ring
        doc = json.loads(path.read_text(encoding="utf-8"))
        private = {kid: X25519PrivateKey.from_private_bytes(_unb64(k["private"])) for kid, k in doc["keys"].items()}
        if doc["current"] not in private:
            raise PiiError(f"{path}: the current key {doc['current']!r} is not in the file")
        return cls(path, doc["current"], private, {kid: k.get("created_at", "") for kid, k in doc["keys"].items()})

    def _write(self, *, exclusive: bool = False) -> None:
        doc = {
            "format": 1,
            "current": self.current,
            "keys": {
                kid: {
                    "private": _b64(k.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
                    "created_at": self.created.get(kid, ""),
                }
                for kid, k in self.private.items()
            },
        }
        data = json.dumps(doc, indent=1).encode("utf-8")
        target = self.path if exclusive else self.path.with_name(self.path.name + ".tmp")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if not exclusive:
            os.replace(target, self.path)

    def public_key(self) -> str:
        """The current public key, as hubs hold it (base64url of 32 raw bytes)."""
        return _b64(_raw_public(self.private[self.current].public_key()))

    def add_pair(self) -> str:
        """A new current key pair (hubs must be given its public key; the old pairs still open older values)."""
        k = X25519PrivateKey.generate()
        kid = seal_key_id(_raw_public(k.public_key()))
        self.private = {**self.private, kid: k}
        self.created = {**self.created, kid: now_iso()}
        self.current = kid
        self._write()
        return kid

    def unseal(self, token: str, *, context: str) -> str:
        parts = token.split(":", 2) if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != SEAL_PREFIX:
            raise PiiError("not a sealed value")
        k = self.private.get(parts[1])
        if k is None:
            raise PiiError(f"sealed to key {parts[1]!r}, which is not in {self.path}")
        raw = _unb64(parts[2])
        if len(raw) < 32 + _NONCE + 16:
            raise PiiError("sealed value too short")
        eph_raw, nonce, ct = raw[:32], raw[32 : 32 + _NONCE], raw[32 + _NONCE :]
        own_raw = _raw_public(k.public_key())
        key = _seal_aead_key(k.exchange(X25519PublicKey.from_public_bytes(eph_raw)), eph_raw, own_raw)
        try:
            return AESGCM(key).decrypt(nonce, ct, context.encode("utf-8")).decode("utf-8")
        except InvalidTag:
            raise PiiError(f"sealed value does not open for {context} (moved, altered or another key)") from None


def set_central_key(data_dir: Path | str, public_key: str) -> Path:
    """Give a hub the central's public key (at provisioning); from then on its facts carry sealed personal data."""
    parse_public_key(public_key)
    path = Path(data_dir) / CENTRAL_KEY_FILE
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(public_key.strip() + "\n")
    os.replace(tmp, path)
    return path


def central_key(data_dir: Path | str) -> str | None:
    path = Path(data_dir) / CENTRAL_KEY_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def _data_dir(conn: sqlite3.Connection) -> Path:
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main" and row[2]:
            return Path(row[2]).parent
    raise PiiError("personal data needs a database file (its key file sits beside it)")


def seal_for_central(
    conn: sqlite3.Connection, values: dict[str, str | None], *, context: str
) -> dict[str, str | None] | None:
    """``values`` (field → plaintext or None) sealed to the central, each bound to ``context|field``; None when
    this hub has no central key yet (not provisioned for sync): the caller's fact then goes without them, and a
    warning says so."""
    pub = central_key(_data_dir(conn))
    if pub is None:
        _log.warning("no central personal-data key on this hub: %s goes without its personal fields", context)
        return None
    return {f: (seal(pub, v, context=f"{context}|{f}") if v is not None else None) for f, v in values.items()}
