"""Item pictures: upload (the request body is the image itself), removal, and the variants by content hash.

The variant URL ``/pictures/<sha256>/<size>`` names bytes that never change, so it is served with a strong ETag and
``Cache-Control: public, max-age=31536000, immutable`` (304 on ``If-None-Match``); the handheld's service worker
keeps those for offline use. ``/items/<id>/picture/<size>`` redirects to the item's current picture (for screens
that know only the item id: the count's last scan, the current pick) and is revalidated every time."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request

from hub.http.context import actor, db, device
from hub.http.framework import API_PREFIX, BodyTooLarge, endpoint
from hub.inventory import pictures

bp = Blueprint("pictures", __name__)

_SHA = {"type": "string", "pattern": pictures.SHA_PATTERN}
_SIZE = {"type": "integer", "enum": list(pictures.SIZES)}
_PICTURE = {
    "type": "object",
    "properties": {
        "item_id": {"type": "string"},
        "sha256": _SHA,
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "sizes": {"type": "array", "items": {"type": "integer"}},
        "urls": {"type": "object"},
    },
}
_UPLOAD_DOC = (
    "The body is the picture itself (Content-Type image/jpeg, image/png or image/webp; at most 10 MB). It is "
    "checked by its content, turned upright by its EXIF orientation, stripped of metadata (GPS position included), "
    "kept at most 1024 px with 320 px and 96 px thumbnails, and named by its SHA-256 (the same picture is kept "
    "once). Refusals: picture_not_image, picture_damaged, picture_too_many_pixels (a decompression bomb), "
    "body_too_large."
)


@endpoint(
    bp,
    "PUT",
    "/items/<item_id>/picture",
    summary="Give an item a picture (the body is a JPEG, PNG or WebP image)",
    description=_UPLOAD_DOC,
    role="supervisor",
    statuses=[400, 404, 413],
    max_body=pictures.MAX_BYTES,
    response=_PICTURE,
)
def put_picture(item_id):
    # decoded and resized before the write transaction: the write lock never waits for Pillow
    try:
        data = request.get_data(cache=False)
    except Exception as exc:  # werkzeug's RequestEntityTooLarge (domains import no werkzeug): a chunked body cut off
        if getattr(exc, "code", None) == 413:
            raise BodyTooLarge(pictures.MAX_BYTES) from None
        raise
    prepared = pictures.prepare(data)
    with db().write() as conn:
        return pictures.attach(conn, item_id, prepared, actor=actor(), device=device())


@endpoint(
    bp,
    "DELETE",
    "/items/<item_id>/picture",
    summary="Remove an item's picture",
    role="supervisor",
    statuses=[404],
)
def delete_picture(item_id):
    with db().write() as conn:
        return pictures.detach(conn, item_id, actor=actor(), device=device())


@endpoint(
    bp,
    "GET",
    "/items/<item_id>/picture/<int:size>",
    summary="Redirect to the item's current picture at a size (404 no_picture when it has none)",
    role="associate",
    statuses=[302, 404],
    path={"size": _SIZE},
)
def item_picture(item_id, size):
    sha = pictures.item_picture(db().read(), item_id)
    resp = redirect(f"{API_PREFIX}/pictures/{sha}/{size}", code=302)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@endpoint(
    bp,
    "GET",
    "/pictures/<sha256>/<int:size>",
    summary="One variant of a picture (WebP), by its content hash; immutable",
    role="associate",
    statuses=[304, 404],
    path={"sha256": _SHA, "size": _SIZE},
)
def get_picture(sha256, size):
    tag = pictures.etag(sha256, size)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=31536000, immutable"}
    if request.if_none_match.contains_weak(f"{sha256}-{size}"):
        # the name is the content: a client holding this tag holds these bytes (the picture must still exist)
        pictures.variant(db().read(), sha256, size)
        return Response(status=304, headers=headers)
    data, media = pictures.variant(db().read(), sha256, size)
    return Response(data, mimetype=media, headers=headers)
