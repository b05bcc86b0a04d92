"""Item pictures: real image bytes made with Pillow through the hub's HTTP API — upright by EXIF orientation,
metadata stripped, thumbnails by size, content-addressed, strong ETag and 304, refusals with their codes, the
item.upsert fact and audit entry, and a backup restored on another data directory still serving the picture."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib

import pytest
from PIL import Image

from hub.inventory import pictures
from tests.support.common import login

# ------------------------------------------------------------------------------------------------ image bytes


def jpeg_rotated(width: int = 1600, height: int = 1200) -> bytes:
    """A landscape JPEG whose pixels are stored sideways: EXIF Orientation 6 says 'rotate 90° clockwise to view',
    plus a GPS position that must not survive. Left half red, right half blue as stored."""
    img = Image.new("RGB", (width, height), (220, 20, 20))
    img.paste((20, 20, 220), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def png_alpha(size: int = 400) -> bytes:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    img.paste((0, 160, 0, 255), (size // 4, size // 4, 3 * size // 4, 3 * size // 4))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG whose header claims 3.6 gigapixels (a decompression bomb): a real tiny PNG with its IHDR rewritten."""
    out = io.BytesIO()
    Image.new("L", (8, 8), 0).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (1, 2, 3)).save(out, "GIF")
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ helpers


def item_id(hubctx, sku: str) -> str:
    return hubctx.db.read().execute("SELECT id FROM items WHERE sku = ?", (sku,)).fetchone()[0]


def put(client, headers, iid: str, data: bytes, media: str = "image/jpeg"):
    return client.put(f"/api/v1/items/{iid}/picture", data=data, headers={**headers, "Content-Type": media})


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# ------------------------------------------------------------------------------------------------ tests


def test_jpeg_upright_stripped_and_thumbnailed(client, auth, hubctx, sample):
    iid = item_id(hubctx, "MILK-1L")
    r = put(client, auth("supervisor"), iid, jpeg_rotated())
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    sha = body["sha256"]
    # stored upright: 1600×1200 sideways → 1200×1600 → at most 1024 px: 768×1024
    assert (body["width"], body["height"]) == (768, 1024)
    full = client.get(f"/api/v1/pictures/{sha}/1024", headers=auth())
    assert full.status_code == 200 and full.mimetype == "image/webp"
    assert hashlib.sha256(full.data).hexdigest() == sha  # named by its content
    img = decoded(full.data)
    assert img.size == (768, 1024)
    # rotated 90° clockwise: the stored left (red) is now the top, the stored right (blue) the bottom
    r_top, _, b_top = img.convert("RGB").getpixel((384, 100))
    r_bot, _, b_bot = img.convert("RGB").getpixel((384, 920))
    assert r_top > 150 and b_top < 80 and b_bot > 150 and r_bot < 80
    # no metadata left: no EXIF (no GPS, no orientation to apply twice), no XMP, no ICC
    assert not img.getexif() and "exif" not in img.info and "xmp" not in img.info and "icc_profile" not in img.info
    assert b"GPS" not in full.data and b"PhoneMaker" not in full.data
    for size, longest in ((320, 320), (96, 96)):
        v = client.get(f"/api/v1/pictures/{sha}/{size}", headers=auth())
        assert v.status_code == 200
        assert max(decoded(v.data).size) == longest and decoded(v.data).size[0] < decoded(v.data).size[1]
    # the item carries it, the fact says so, the change is audited
    item = client.get(f"/api/v1/items/{iid}", headers=auth()).get_json()
    assert item["picture_sha256"] == sha
    conn = hubctx.db.read()
    fact = json.loads(
        conn.execute("SELECT payload FROM outbox WHERE kind = 'item.upsert' ORDER BY seq DESC LIMIT 1").fetchone()[0]
    )
    assert fact["id"] == iid and fact["picture_sha256"] == sha
    entry = conn.execute("SELECT actor, details FROM audit_log WHERE action = 'item.picture.set'").fetchone()
    supervisor = conn.execute("SELECT id FROM users WHERE username = 'supervisor'").fetchone()[0]
    assert entry["actor"] == supervisor and json.loads(entry["details"])["sha256"] == sha


def test_png_alpha_kept(client, auth, hubctx, sample):
    iid = item_id(hubctx, "RICE-5KG")
    r = put(client, auth("manager"), iid, png_alpha(), "image/png")
    assert r.status_code == 200, r.get_json()
    img = decoded(client.get(f"/api/v1/pictures/{r.get_json()['sha256']}/320", headers=auth()).data)
    assert img.mode == "RGBA" and img.size == (320, 320)
    assert img.getpixel((5, 5))[3] == 0 and img.getpixel((160, 160))[3] == 255


def test_same_picture_twice_is_kept_once_and_released_when_unused(client, auth, hubctx, sample):
    milk, rice = item_id(hubctx, "MILK-1L"), item_id(hubctx, "RICE-5KG")
    data = jpeg_rotated(800, 600)
    a = put(client, auth("manager"), milk, data).get_json()["sha256"]
    b = put(client, auth("manager"), rice, data).get_json()["sha256"]
    assert a == b
    conn = hubctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM picture_variants").fetchone()[0] == 3
    # uploading the same picture again changes nothing (no second fact)
    n = conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'item.upsert'").fetchone()[0]
    assert put(client, auth("manager"), milk, data).status_code == 200
    assert conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'item.upsert'").fetchone()[0] == n
    # one item lets go: still kept for the other; the other lets go: deleted
    assert client.delete(f"/api/v1/items/{milk}/picture", headers=auth("manager")).get_json()["removed"] == a
    assert conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0] == 1
    assert client.delete(f"/api/v1/items/{rice}/picture", headers=auth("manager")).status_code == 200
    assert conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM picture_variants").fetchone()[0] == 0
    assert client.get(f"/api/v1/pictures/{a}/96", headers=auth()).status_code == 404
    assert client.get(f"/api/v1/items/{milk}", headers=auth()).get_json()["picture_sha256"] is None
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'item.picture.%'")]
    assert actions.count("item.picture.set") == 2 and actions.count("item.picture.remove") == 2


def test_etag_and_304(app, client, auth, hubctx, sample):
    iid = item_id(hubctx, "MILK-1L")
    sha = put(client, auth("manager"), iid, png_alpha(), "image/png").get_json()["sha256"]
    r = client.get(f"/api/v1/pictures/{sha}/96", headers=auth())
    assert r.headers["ETag"] == f'"{sha}-96"' and not r.headers["ETag"].startswith("W/")
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get(f"/api/v1/pictures/{sha}/96", headers={**auth(), "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == r.headers["ETag"]
    other = client.get(f"/api/v1/pictures/{sha}/96", headers={**auth(), "If-None-Match": f'"{sha}-320"'})
    assert other.status_code == 200 and other.data == r.data
    # the item's picture by item id redirects to the immutable URL and is itself revalidated
    red = client.get(f"/api/v1/items/{iid}/picture/320", headers=auth())
    assert red.status_code == 302 and red.headers["Location"].endswith(f"/api/v1/pictures/{sha}/320")
    assert red.headers["Cache-Control"] == "no-cache"
    # reads need a session like every item read
    assert app.test_client().get(f"/api/v1/pictures/{sha}/96").status_code == 401  # no cookie from a login
    assert client.get(f"/api/v1/pictures/{sha}/97", headers=auth()).status_code in (400, 404)


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"SKU,price\nMILK,12\n", 400, "picture_not_image"),
        (b"", 400, "picture_not_image"),
        (None, 400, "picture_not_image"),  # a GIF: not one of the formats kept
        ("truncated", 400, "picture_damaged"),
        ("bomb", 400, "picture_too_many_pixels"),
        (b"\xff\xd8" + b"\0" * (pictures.MAX_BYTES + 10), 413, "body_too_large"),
    ],
)
def test_refusals(client, auth, hubctx, sample, data, status, code):
    iid = item_id(hubctx, "MILK-1L")
    if data is None:
        data = gif()
    elif data == "truncated":
        whole = jpeg_rotated()
        data = whole[: len(whole) // 2]
    elif data == "bomb":
        data = png_bomb()
    r = put(client, auth("manager"), iid, data)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["code"] == code
    conn = hubctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0] == 0
    assert conn.execute("SELECT picture_sha256 FROM items WHERE id = ?", (iid,)).fetchone()[0] is None


def test_domain_refusals_without_http():
    with pytest.raises(pictures.PictureTooLarge):
        pictures.prepare(b"x" * (pictures.MAX_BYTES + 1))
    with pytest.raises(pictures.PictureRefused) as exc:
        pictures.prepare(png_bomb(9000, 9000))  # 81 MP of PNG: above its limit, refused before decoding
    assert exc.value.code == "picture_too_many_pixels" and exc.value.details["width"] == 9000


def test_roles_and_missing(client, auth, hubctx, sample):
    iid = item_id(hubctx, "MILK-1L")
    assert put(client, auth("associate"), iid, png_alpha(), "image/png").status_code == 403
    assert client.delete(f"/api/v1/items/{iid}/picture", headers=auth("associate")).status_code == 403
    r = put(client, auth("manager"), "no-such-item", png_alpha(), "image/png")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "item_not_found"
    r = client.get(f"/api/v1/items/{iid}/picture/96", headers=auth())
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_picture"
    # removing a picture an item does not have is not an error (the handheld may retry)
    assert client.delete(f"/api/v1/items/{iid}/picture", headers=auth("manager")).get_json()["removed"] is None


def test_backup_restore_serves_the_picture(client, auth, hubctx, sample, tmp_path):
    from hub.app import create_app
    from hub.kernel.config import HubConfig
    from hub.store import backup, restore

    iid = item_id(hubctx, "MILK-1L")
    sha = put(client, auth("manager"), iid, jpeg_rotated(), "image/jpeg").get_json()["sha256"]
    original = client.get(f"/api/v1/pictures/{sha}/320", headers=auth()).data
    dest = tmp_path / "hub-backup.db"
    backup(hubctx.config, hubctx.db, dest)

    other_dir = tmp_path / "restored"
    other_dir.mkdir()
    cfg = HubConfig(data_dir=other_dir, testing=True)
    assert restore(cfg, dest) is True
    restored = create_app(cfg)
    try:
        c2 = restored.test_client()
        tok = login(c2, "associate")
        h = {"Authorization": f"Bearer {tok}"}
        assert c2.get(f"/api/v1/items/{iid}", headers=h).get_json()["picture_sha256"] == sha
        got = c2.get(f"/api/v1/pictures/{sha}/320", headers=h)
        assert got.status_code == 200 and got.data == original
        assert c2.get(f"/api/v1/items/{iid}/picture/96", headers=h).status_code == 302
    finally:
        restored.extensions["storehub"].db.close()
