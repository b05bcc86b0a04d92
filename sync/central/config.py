"""Central configuration: database URL, cookie key, where the embedded SQLite lives."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


def _env_float(name: str, default: float) -> float:
    v = os.environ.get(name)
    return float(v) if v else default


def _env_date(name: str, default: str) -> date:
    return date.fromisoformat(os.environ.get(name) or default)


def default_dir() -> Path:
    return Path(os.environ.get("STOREHUB_CENTRAL_DIR") or "storehub-central").resolve()


@dataclass
class CentralConfig:
    data_dir: Path = field(default_factory=default_dir)
    db_url: str | None = None  # default: $STOREHUB_CENTRAL_DB, else SQLite in data_dir
    secure_cookies: bool = False
    testing: bool = False
    token_ttl_hours: int = 12
    # Accepted hub event times: not after now + max_event_future_hours, not before earliest_event_date.
    # Outside that an event is refused (kept in rejected_events), so no store can make the central
    # create partitions for arbitrary months.
    max_event_future_hours: float = field(
        default_factory=lambda: _env_float("STOREHUB_CENTRAL_MAX_EVENT_FUTURE_HOURS", 48.0)
    )
    earliest_event_date: date = field(
        default_factory=lambda: _env_date("STOREHUB_CENTRAL_EARLIEST_EVENT_DATE", "2020-01-01")
    )

    def __post_init__(self):
        self.data_dir = Path(self.data_dir)
        if not self.db_url:
            self.db_url = os.environ.get("STOREHUB_CENTRAL_DB") or f"sqlite:///{self.data_dir / 'central.db'}"

    def event_bounds(self):
        from sync.central.ingest import EventBounds

        return EventBounds(earliest=self.earliest_event_date, max_future_hours=self.max_event_future_hours)

    def secret_key(self) -> bytes:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        p = self.data_dir / "central-secret.key"
        if not p.exists():
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        return p.read_bytes()
