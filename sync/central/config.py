"""Central configuration: database URL, cookie key, where the embedded SQLite lives."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def default_dir() -> Path:
    return Path(os.environ.get("STOREHUB_CENTRAL_DIR") or "storehub-central").resolve()


@dataclass
class CentralConfig:
    data_dir: Path = field(default_factory=default_dir)
    db_url: str | None = None          # default: $STOREHUB_CENTRAL_DB, else SQLite in data_dir
    secure_cookies: bool = False
    testing: bool = False
    token_ttl_hours: int = 12

    def __post_init__(self):
        self.data_dir = Path(self.data_dir)
        if not self.db_url:
            self.db_url = os.environ.get("STOREHUB_CENTRAL_DB") or f"sqlite:///{self.data_dir / 'central.db'}"

    def secret_key(self) -> bytes:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        p = self.data_dir / "central-secret.key"
        if not p.exists():
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        return p.read_bytes()
