"""Item pictures: validated with Pillow, normalised, stored content-addressed with their thumbnails.

An upload (the handheld's camera, a file, a catalog CSV's ``picture`` column) goes through :func:`prepare`, which
reads no database: it accepts JPEG, PNG and WebP only (by content, never by name), at most
:data:`MAX_BYTES`, refuses a decompression bomb from its header before decoding a pixel (:data:`MAX_PIXELS`),
turns the picture upright by its EXIF orientation, drops every piece of metadata (EXIF with GPS position, XMP,
ICC, comments) by re-encoding the pixels alone, and makes the variants of :data:`SIZES` as WebP (alpha kept).
The picture is named by the SHA-256 of its normalised (1024 px) copy, so the same photo uploaded twice, or given
to several items, is stored once. Decoding happens before the write transaction (a phone photo takes a moment on
a Pi; the write lock must not wait for it): :func:`attach` then stores and links it in the caller's transaction.

The bytes live in the hub's SQLite database (migration 0060), so a backup carries them and a restore serves them.
A picture no item shows any more is deleted in the transaction that let it go."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import warnings
from dataclasses import dataclass, field
from typing import Any

from hub.inventory import catalog
from hub.kernel import audit, outbox
from hub.kernel.errors import NotFound, ValidationError
from hub.protocol.timeutil import now_iso

FORMATS = ("JPEG", "PNG", "WEBP")
MEDIA_TYPE = "image/webp"
SIZES = (96, 320, 1024)  # longest side of each variant; 1024 is the normalised copy the picture is named by
FULL = SIZES[-1]
MAX_BYTES = 10 * 1024 * 1024
# Pixels a picture may have. A JPEG is decoded at a reduced scale (DCT scaling, ``Image.draft``) straight to about
# the size we keep, so a 48-64 MP phone photo costs a few MB; PNG and WebP decode whole (4 bytes a pixel).
MAX_PIXELS = {"JPEG": 64_000_000, "PNG": 24_000_000, "WEBP": 24_000_000}
QUALITY = {96: 75, 320: 78, 1024: 82}
SHA_PATTERN = "^[0-9a-f]{64}$"


class PictureRefused(ValidationError):
    """The bytes are not a picture the hub keeps (code says why)."""

    code = "picture_not_image"


class PictureTooLarge(ValidationError):
    status = 413
    code = "picture_too_large"


@dataclass(frozen=True)
class Variant:
    size: int
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Prepared:
    """A picture ready to store: its name, the normalised copy's dimensions and every variant."""

    sha256: str
    width: int
    height: int
    source_format: str
    source_bytes: int
    variants: tuple[Variant, ...] = field(default=())


def _encode(img: Any, size: int) -> Variant:
    from PIL import Image  # see prepare()

    v = img.copy()
    if max(v.size) > size:
        v.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # a fresh save of the pixels only: no exif=, icc_profile= or xmp= given, so none is written
    v.info = {}
    # method 2 of 0-6: ~40 % faster than the default 4 on a 1024 px photo for ~3 % more bytes (a Pi encodes it)
    v.save(out, "WEBP", quality=QUALITY[size], method=2)
    return Variant(size=size, width=v.width, height=v.height, data=out.getvalue())


def prepare(data: bytes) -> Prepared:
    """Check ``data`` is a JPEG, PNG or WebP picture and make its stored variants. Raises PictureRefused
    (``picture_not_image``, ``picture_damaged``, ``picture_too_many_pixels``) or PictureTooLarge."""
    # Pillow (~4 MB) is imported on the upload path only: every web worker imports this module with its routes
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > MAX_BYTES:
        raise PictureTooLarge(
            f"the picture is {len(data)} bytes; at most {MAX_BYTES} are taken",
            details={"max_bytes": MAX_BYTES, "bytes": len(data)},
        )
    if not data:
        raise PictureRefused("no picture was sent", details={"formats": list(FORMATS)})
    with warnings.catch_warnings():
        # Pillow's own bomb check warns first and raises only at twice its limit: every warning is a refusal here
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(io.BytesIO(data), formats=FORMATS)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            if isinstance(exc, UnidentifiedImageError):
                raise PictureRefused("not a JPEG, PNG or WebP picture", details={"formats": list(FORMATS)}) from None
            raise PictureRefused(str(exc), code="picture_too_many_pixels", details={}) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise PictureRefused(f"the picture cannot be read: {exc}", code="picture_damaged") from None
        fmt = img.format or ""
        pixels = img.width * img.height
        if pixels > MAX_PIXELS[fmt]:
            raise PictureRefused(
                f"the picture is {img.width}×{img.height} pixels; at most {MAX_PIXELS[fmt]:,} pixels are taken",
                code="picture_too_many_pixels",
                details={"width": img.width, "height": img.height, "max_pixels": MAX_PIXELS[fmt]},
            )
        try:
            if fmt == "JPEG":
                img.draft("RGB", (FULL, FULL))  # decode at 1/2, 1/4 or 1/8 scale, still >= 1024 px
            img.load()
            img = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise PictureRefused(f"the picture is damaged or cut short: {exc}", code="picture_damaged") from None
    alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    try:
        img = img.convert("RGBA" if alpha else "RGB")
        if alpha and img.getchannel("A").getextrema() == (255, 255):
            img = img.convert("RGB")  # an alpha channel that is opaque everywhere is dropped
        variants = tuple(_encode(img, s) for s in reversed(SIZES))
    except (OSError, ValueError) as exc:  # a pixel format Pillow reads but cannot turn into RGB
        raise PictureRefused(
            f"a {fmt} picture of a kind the hub cannot convert ({img.mode}): {exc}", details={"formats": list(FORMATS)}
        ) from None
    full = variants[0]
    return Prepared(
        sha256=hashlib.sha256(full.data).hexdigest(),
        width=full.width,
        height=full.height,
        source_format=fmt,
        source_bytes=len(data),
        variants=variants,
    )


def _store(conn: sqlite3.Connection, p: Prepared) -> None:
    if conn.execute("SELECT 1 FROM pictures WHERE sha256 = ?", (p.sha256,)).fetchone():
        return  # the same picture is already kept
    conn.execute(
        "INSERT INTO pictures(sha256, width, height, source_format, source_bytes, created_at) VALUES (?,?,?,?,?,?)",
        (p.sha256, p.width, p.height, p.source_format, p.source_bytes, now_iso()),
    )
    conn.executemany(
        "INSERT INTO picture_variants(sha256, size, media_type, width, height, data) VALUES (?,?,?,?,?,?)",
        [(p.sha256, v.size, MEDIA_TYPE, v.width, v.height, v.data) for v in p.variants],
    )


def _release(conn: sqlite3.Connection, sha256: str | None) -> None:
    """Delete a picture (and its variants) that no item shows any more."""
    if sha256:
        conn.execute(
            "DELETE FROM pictures WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM items WHERE picture_sha256 = ?)",
            (sha256, sha256),
        )


def info(conn: sqlite3.Connection, sha256: str) -> dict[str, Any]:
    row = conn.execute("SELECT sha256, width, height FROM pictures WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        raise NotFound(f"no picture {sha256}", code="picture_not_found", details={"sha256": sha256})
    return {
        "sha256": row["sha256"],
        "width": row["width"],
        "height": row["height"],
        "sizes": list(SIZES),
        "urls": {str(s): f"/api/v1/pictures/{sha256}/{s}" for s in SIZES},
    }


def attach(
    conn: sqlite3.Connection, item_id: str, picture: Prepared, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Give the item ``picture`` (made by :func:`prepare`), in the caller's write transaction. Records the item's
    ``item.upsert`` fact (it carries ``picture_sha256``) and an audit entry; the previous picture is released."""
    before = catalog.get_item(conn, item_id)
    previous = before.get("picture_sha256")
    _store(conn, picture)
    if previous != picture.sha256:
        conn.execute(
            "UPDATE items SET picture_sha256 = ?, updated_at = ? WHERE id = ?", (picture.sha256, now_iso(), item_id)
        )
        _release(conn, previous)
        outbox.record(conn, "item.upsert", catalog.get_item(conn, item_id))
        audit.log(
            conn,
            actor=actor,
            device=device,
            action="item.picture.set",
            target=item_id,
            details={"sku": before["sku"], "sha256": picture.sha256, "previous": previous},
        )
    return {"item_id": item_id, **info(conn, picture.sha256)}


def detach(conn: sqlite3.Connection, item_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """Take the item's picture away (nothing to do when it has none)."""
    before = catalog.get_item(conn, item_id)
    previous = before.get("picture_sha256")
    if previous:
        conn.execute("UPDATE items SET picture_sha256 = NULL, updated_at = ? WHERE id = ?", (now_iso(), item_id))
        _release(conn, previous)
        outbox.record(conn, "item.upsert", catalog.get_item(conn, item_id))
        audit.log(
            conn,
            actor=actor,
            device=device,
            action="item.picture.remove",
            target=item_id,
            details={"sku": before["sku"], "previous": previous},
        )
    return {"item_id": item_id, "removed": previous}


def variant(conn: sqlite3.Connection, sha256: str, size: int) -> tuple[bytes, str]:
    """The bytes and media type of one variant of a picture."""
    if size not in SIZES:
        raise ValidationError(f"size is one of {SIZES}", code="picture_size", details={"sizes": list(SIZES)})
    row = conn.execute(
        "SELECT data, media_type FROM picture_variants WHERE sha256 = ? AND size = ?", (sha256, size)
    ).fetchone()
    if row is None:
        raise NotFound(f"no picture {sha256}", code="picture_not_found", details={"sha256": sha256})
    return bytes(row["data"]), row["media_type"]


def item_picture(conn: sqlite3.Connection, item_id: str) -> str:
    """The sha256 of the item's picture; NotFound ``no_picture`` when it has none."""
    row = conn.execute("SELECT picture_sha256 FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no item {item_id}", code="item_not_found")
    if not row[0]:
        raise NotFound("this item has no picture", code="no_picture", details={"item_id": item_id})
    return str(row[0])


def etag(sha256: str, size: int) -> str:
    """The strong entity tag of a variant: its bytes never change under its name."""
    return f'"{sha256}-{size}"'


def unreferenced(conn: sqlite3.Connection) -> int:
    """Pictures no item shows (0 unless something let one go without releasing it)."""
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM pictures p WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.picture_sha256 = p.sha256)"
        ).fetchone()[0]
    )
