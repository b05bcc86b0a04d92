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
        """Create the data directory private to the hub's user (0700: it holds the secret key, staff data and
        backups of them) with a ``.gitignore`` of everything, so a data directory created inside a checkout is
        never committed by accident."""
        new = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if new:
            os.chmod(self.data_dir, 0o700)
        ignore = self.data_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# StoreHub data directory: secrets and store data, never committed\n*\n")

    def secret_key(self) -> bytes:
        self.ensure_dirs()
        p = self.secret_key_path
        if not p.exists():
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        return p.read_bytes()
