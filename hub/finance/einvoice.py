"""The hub's part of e-invoices on request (docs/einvoice.md): the receipt's QR link and its token.

The customer's phone is on the internet, not on the store LAN, so the invoice page is the central's. The receipt
carries ``<finance.einvoice_url>/invoice/<store>/<receipt code>?t=<token>``; the token is an HMAC-SHA256 of the
store id and receipt code under a key only the hub and the central can derive, so a guessed receipt code does not
open someone else's invoice.

The key: the hub holds its store secret (``sync.json``), the central only the secret's SHA-256 digest
(``sync.protocol.secret_digest``). Both derive the purpose-specific key from that digest with HKDF-SHA256
(salt ``storehub-einvoice-v1``, info ``receipt-token|<store id>``), so the sync credential itself is never used
as a MAC key and the two sides need no new secret. Rotating the store secret changes the key: receipts printed
before a rotation no longer open the page (the office issues those by hand)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.kernel import settings

SALT = b"storehub-einvoice-v1"
TOKEN_BYTES = 16  # 128 bits of the HMAC, 22 base64url characters on the receipt
URL_SETTING = "finance.einvoice_url"
CREDENTIAL_FILE = "sync.json"  # hub.synclink.state.CREDENTIAL_FILE (read here without importing the domain)


def token_key(secret_digest_hex: str, store_id: str) -> bytes:
    """The receipt-token key from the store credential's SHA-256 digest (hex, as the central stores it)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=b"receipt-token|" + store_id.encode()).derive(
        bytes.fromhex(secret_digest_hex)
    )


def receipt_token(key: bytes, store_id: str, receipt_code: str) -> str:
    mac = hmac.new(key, f"{store_id}\x1f{receipt_code}".encode(), hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_matches(key: bytes, store_id: str, receipt_code: str, token: str) -> bool:
    return hmac.compare_digest(receipt_token(key, store_id, receipt_code), token or "")


def invoice_link(base_url: str, store_id: str, receipt_code: str, key: bytes) -> str:
    return f"{base_url.rstrip('/')}/invoice/{store_id}/{receipt_code}?t={receipt_token(key, store_id, receipt_code)}"


def _credentials(conn: sqlite3.Connection) -> dict | None:
    db_file = conn.execute("PRAGMA database_list").fetchone()[2]
    if not db_file:
        return None
    p = Path(db_file).parent / CREDENTIAL_FILE
    try:
        cred = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return cred if cred.get("store_id") and cred.get("secret") else None


def receipt_link(conn: sqlite3.Connection, receipt_code: str) -> str | None:
    """The invoice link for a receipt, or None when e-invoices are off (no ``finance.einvoice_url``) or the hub is
    not enrolled with a central (no store credential)."""
    base = settings.get(conn, URL_SETTING)
    if not base:
        return None
    cred = _credentials(conn)
    if cred is None:
        return None
    digest = hashlib.sha256(cred["secret"].encode()).hexdigest()  # = sync.protocol.secret_digest
    return invoice_link(base, cred["store_id"], receipt_code, token_key(digest, cred["store_id"]))
