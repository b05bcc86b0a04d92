"""Store registration and store credentials on the central."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.protocol.timeutil import now_iso
from sync.central import schema as t
from sync.protocol import new_store_secret, secret_digest, secret_matches

STORE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class StoreExists(Exception):
    pass


def add_store(engine: Engine, store_id: str, name: str = "", *, secret: str | None = None) -> str:
    """Register a store; returns its secret (shown once — the central keeps only a digest)."""
    if not STORE_ID_RE.match(store_id or ""):
        raise ValueError("store id: letters, digits, '-', '_' or '.', at most 64")
    secret = secret or new_store_secret()
    try:
        with engine.begin() as conn:
            conn.execute(
                t.stores.insert().values(
                    store_id=store_id,
                    name=name or store_id,
                    secret_digest=secret_digest(secret),
                    created_at=now_iso(),
                    active=True,
                    hw_seq=0,
                    max_seq=0,
                    events_total=0,
                    duplicates_total=0,
                    downlink_version=0,
                )
            )
    except IntegrityError as exc:
        raise StoreExists(store_id) from exc
    return secret


def rotate_secret(engine: Engine, store_id: str) -> str:
    secret = new_store_secret()
    with engine.begin() as conn:
        n = conn.execute(
            update(t.stores).where(t.stores.c.store_id == store_id).values(secret_digest=secret_digest(secret))
        ).rowcount
    if not n:
        raise KeyError(store_id)
    _AUTH_CACHE.pop((str(engine.url), store_id), None)
    return secret


_AUTH_CACHE: dict[tuple[str, str], tuple[str, float]] = {}
AUTH_CACHE_S = 30.0


def authenticate(engine: Engine, store_id: str, secret: str) -> bool:
    """Check a store credential. A success is remembered for ``AUTH_CACHE_S`` seconds per
    process (rotation or deactivation takes effect within that; ingest re-checks ``active``)."""
    key = (str(engine.url), store_id)
    hit = _AUTH_CACHE.get(key)
    if hit and hit[1] > time.monotonic() and secret_matches(secret, hit[0]):
        return True
    with engine.connect() as conn:
        row = conn.execute(
            select(t.stores.c.secret_digest, t.stores.c.active).where(t.stores.c.store_id == store_id)
        ).first()
    if row is None:
        secret_matches(secret, "0" * 64)  # same work either way
        return False
    ok = bool(row.active) and secret_matches(secret, row.secret_digest)
    if ok:
        _AUTH_CACHE[key] = (row.secret_digest, time.monotonic() + AUTH_CACHE_S)
    return ok


def list_stores(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t.stores).order_by(t.stores.c.store_id)).mappings()]


def get_store(engine: Engine, store_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        r = conn.execute(select(t.stores).where(t.stores.c.store_id == store_id)).mappings().first()
    return dict(r) if r else None
