"""The demo store seeds pictures for a handful of items: drawn with Pillow, stored through the upload path (WebP
variants, content-addressed), served by the hub, and seeding twice draws nothing new."""

from __future__ import annotations

import io

from PIL import Image

from hub.demo.pictures import DEMO_PICTURES, SIZE
from hub.demo.runner import seed_store
from hub.inventory import pictures
from hub.store import open_db


def test_demo_items_have_pictures(tmp_path):
    seed_store(tmp_path / "demo", "demo-store")
    _cfg, db = open_db(tmp_path / "demo")
    try:
        conn = db.read()
        rows = {
            r["sku"]: r["picture_sha256"]
            for r in conn.execute("SELECT sku, picture_sha256 FROM items WHERE picture_sha256 IS NOT NULL")
        }
        assert set(rows) == {p[0] for p in DEMO_PICTURES}
        assert len(set(rows.values())) == len(rows)  # each its own drawing
        for sha in rows.values():
            for size in pictures.SIZES:
                data, media = pictures.variant(conn, sha, size)
                img = Image.open(io.BytesIO(data))
                assert (
                    media == "image/webp" and img.format == "WEBP" and max(img.size) == min(size, SIZE)
                )  # never enlarged
        n = conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0]
        seed_store(tmp_path / "demo", "demo-store")  # the demo started again: nothing drawn twice
        assert conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0] == n
    finally:
        db.close()
