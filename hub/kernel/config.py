"""Where the hub keeps its files, and process-level configuration.

The data directory comes from ``--data-dir``, else ``STOREHUB_DATA_DIR``, else
``./storehub-data``. It holds ``hub.db`` and ``secret.key`` (HMAC / cookie key)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir() -> Path:
    return Path(os.environ.get("STOREHUB_DATA_DIR") or "storehub-data").resolve()


@dataclass
class HubConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    mqtt_url: str | None = None
    secure_cookies: bool = False
    testing: bool = False

    @property
    def db_path(self) -> Path:
        return self.data_dir / "hub.db"

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret.key"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def secret_key(self) -> bytes:
        self.ensure_dirs()
        p = self.secret_key_path
        if not p.exists():
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        return p.read_bytes()
