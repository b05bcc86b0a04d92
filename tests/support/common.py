"""Plain helpers every test folder may use: ports, logins, idempotency keys, the repository's test vectors."""

from __future__ import annotations

import socket
from pathlib import Path

from hub.inventory.ledger import new_key

ROOT = Path(__file__).resolve().parents[2]
PINS = {"associate": "1111", "supervisor": "2222"}
PASSWORDS = {"manager": "manager-pass-123", "admin": "admin-pass-1234"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Public test vectors (GS1 barcodes, EPC tags, scale replies, ESC/POS bytes), each naming its source.
VECTORS_FILE = ROOT / "tests" / "vectors" / "vectors.json"


def login(client, role: str) -> str:
    body = {"user": role, "pin": PINS[role]} if role in PINS else {"user": role, "password": PASSWORDS[role]}
    r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def key() -> str:
    return new_key()
