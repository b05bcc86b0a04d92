"""Opening and initialising a hub data directory (shared by the CLI, server and bus)."""

from __future__ import annotations

from pathlib import Path

from . import locations, settings
from .config import HubConfig
from .db import Database


def open_db(data_dir: Path | str | None = None) -> tuple[HubConfig, Database]:
    cfg = HubConfig(data_dir=Path(data_dir).resolve()) if data_dir else HubConfig()
    cfg.ensure_dirs()
    db = Database(cfg.db_path)
    db.migrate()
    return cfg, db


def initialise(db: Database, *, store_id: str, store_name: str | None = None, currency: str | None = None,
               language: str | None = None, region: str | None = None) -> dict:
    """Write the store's settings and its root location. Safe to run again."""
    with db.write() as conn:
        settings.put(conn, "store_id", store_id)
        if store_name:
            settings.put(conn, "store_name", store_name)
        if currency:
            settings.put(conn, "currency", currency)
        if language:
            settings.put(conn, "language", language)
        if region:
            settings.put(conn, "barcode_region", region)
        if locations.get_by_code(conn, "STORE") is None:
            locations.create(conn, code="STORE", name=store_name or store_id, kind="store", actor="system:init")
        return settings.get_all(conn)
