"""Item pictures benchmark (issue 12, "Day one in a real store").

In-process figures, no HTTP server (the variant route is served through Flask's test client):
* ``prepare_12mp_jpeg_ms`` (median of 5): :func:`hub.inventory.pictures.prepare` on a 4000×3000 phone-like JPEG
  (decode at reduced DCT scale, EXIF orientation, 1024/320/96 px WebP) — the work an upload costs before its write
  transaction; target ≤ 1500 ms on a Pi-class box, where it is about 3× slower than a desktop core.
* ``prepare_2mp_jpeg_ms``: the same for what the handheld sends after shrinking a photo (2048×1536).
* ``variant_bytes_1024`` / ``_320`` / ``_96``: the stored sizes of that photo's variants (SD card budget).
* ``serve_thumb_per_s``: ``GET /api/v1/pictures/<sha>/96`` answered (200) per second, and ``serve_304_per_s`` with
  ``If-None-Match``.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from hub.app import create_app  # noqa: E402
from hub.auth import users  # noqa: E402
from hub.inventory import catalog, pictures  # noqa: E402
from hub.kernel.config import HubConfig  # noqa: E402
from hub.store import initialise  # noqa: E402


def photo(width: int, height: int) -> bytes:
    """A photo-like JPEG: soft shapes plus sensor noise, stored sideways (EXIF orientation 6)."""
    img = Image.new("RGB", (width, height), (180, 190, 200))
    d = ImageDraw.Draw(img)
    for i in range(60):
        x, y = (i * 7919) % width, (i * 104729) % height
        r = 40 + (i * 37) % (width // 6)
        d.ellipse((x - r, y - r, x + r, y + r), fill=((i * 53) % 256, (i * 97) % 256, (i * 151) % 256))
    img = img.filter(ImageFilter.GaussianBlur(3))
    # sensor noise: what makes a real photo 2-4 MB at this size rather than a few hundred KB
    noise = Image.merge("RGB", [Image.effect_noise((width, height), 18) for _ in range(3)])
    img = Image.blend(img, noise, 0.25)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def timed(fn, n: int) -> float:
    runs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(runs), 1)


def main() -> None:
    big, small = photo(4000, 3000), photo(2048, 1536)
    result: dict[str, float | int] = {
        "source_12mp_bytes": len(big),
        "prepare_12mp_jpeg_ms": timed(lambda: pictures.prepare(big), 5),
        "prepare_2mp_jpeg_ms": timed(lambda: pictures.prepare(small), 5),
    }
    prepared = pictures.prepare(big)
    for v in prepared.variants:
        result[f"variant_bytes_{v.size}"] = len(v.data)

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(HubConfig(data_dir=Path(tmp), testing=True))
        ctx = app.extensions["storehub"]
        initialise(ctx.db, store_id="bench-store", currency="CNY")
        with ctx.db.write() as conn:
            users.create(conn, username="bench", role="associate", pin="4321", secret_key=ctx.secret_key)
            item = catalog.create_item(conn, {"sku": "PIC-1", "name_en": "Pictured", "price_minor": 100}, actor="b")
            pictures.attach(conn, item["id"], prepared, actor="bench")
        client = app.test_client()
        token = client.post("/api/v1/auth/login", json={"user": "bench", "pin": "4321"}).get_json()["token"]
        hdr = {"Authorization": f"Bearer {token}"}
        url = f"/api/v1/pictures/{prepared.sha256}/96"
        etag = client.get(url, headers=hdr).headers["ETag"]
        for name, headers, status in (
            ("serve_thumb_per_s", hdr, 200),
            ("serve_304_per_s", {**hdr, "If-None-Match": etag}, 304),
        ):
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < 2.0:
                assert client.get(url, headers=headers).status_code == status
                n += 1
            result[name] = round(n / (time.perf_counter() - t0))
        ctx.db.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
