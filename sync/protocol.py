"""The sync wire protocol, shared by the hub worker and the central.

Uplink  ``POST {central}/sync/v1/stores/{store_id}/events``
    body: gzip-compressed JSON ``{"store_id", "after", "through", "events": [...], "downlink_version", "timezone"}``
    where the hub asserts that ``events`` are *all* of its outbox rows with
    ``after < seq <= through`` (a seq missing from that range never existed).
    reply: ``{"acked_through": H, "applied": n, "duplicates": d, "rejected": [...]}`` — ``H`` is
    the central's contiguous high-water mark for the store: every seq ``<= H`` is stored
    (``rejected``: the events of the range refused for their time, each with seq, id, kind,
    ts, code and message; they are covered by ``H`` and kept by the central, never folded).
    ``timezone`` is the store's IANA zone (hub setting ``timezone``): the central's daily
    figures use the store's local day.

Downlink ``GET {central}/sync/v1/stores/{store_id}/downlink?after=V&limit=N``
    reply: ``{"changes": [{"version", "kind", "key", "payload"}...], "latest": L}``
``POST {central}/sync/v1/stores/{store_id}/downlink/applied`` ``{"version": V}``

Every request carries ``Authorization: Bearer <store secret>`` and
``X-StoreHub-Store: <store_id>``. The central keeps only the SHA-256 digest of the
secret (it is 256 random bits, so a plain digest is not guessable), compared in
constant time. Over ``https://`` URLs the worker verifies the server against the
system CAs or a configured CA bundle.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import secrets
from typing import Any

PROTOCOL_VERSION = 1
MAX_BATCH_EVENTS = 5000
MAX_BODY_BYTES = 32 * 1024 * 1024  # decompressed
STORE_HEADER = "X-StoreHub-Store"


class ProtocolError(ValueError):
    """A malformed sync message (the central answers 400 with ``code``)."""

    def __init__(self, message: str, code: str = "bad_batch"):
        super().__init__(message)
        self.code = code


def new_store_secret() -> str:
    return "shs_" + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, digest: str | None) -> bool:
    return bool(digest) and hmac.compare_digest(secret_digest(secret), digest)


def auth_headers(store_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", STORE_HEADER: store_id}


def encode(obj: Any) -> bytes:
    return gzip.compress(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), compresslevel=5)


def decode(body: bytes, content_encoding: str | None) -> Any:
    if (content_encoding or "").lower() == "gzip":
        try:
            d = gzip.GzipFile(fileobj=__import__("io").BytesIO(body))
            body = d.read(MAX_BODY_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise ProtocolError(f"body is not valid gzip: {exc}", "bad_encoding") from exc
        if len(body) > MAX_BODY_BYTES:
            raise ProtocolError("batch too large", "too_large")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"body is not JSON: {exc}", "bad_json") from exc


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_batch(doc: Any, store_id: str) -> dict[str, Any]:
    """Check an uplink batch; returns it with events sorted by seq."""
    if not isinstance(doc, dict):
        raise ProtocolError("batch must be a JSON object")
    if doc.get("store_id") != store_id:
        raise ProtocolError("batch store_id does not match the credential", "store_mismatch")
    after, through, events = doc.get("after"), doc.get("through"), doc.get("events")
    if not _is_int(after) or not _is_int(through) or after < 0 or through < after:
        raise ProtocolError("after/through must be integers with 0 <= after <= through")
    if not isinstance(events, list) or len(events) > MAX_BATCH_EVENTS:
        raise ProtocolError(f"events must be a list of at most {MAX_BATCH_EVENTS}")
    seen = set()
    for e in events:
        if not isinstance(e, dict):
            raise ProtocolError("each event must be an object")
        seq = e.get("seq")
        if not _is_int(seq) or not after < seq <= through:
            raise ProtocolError(f"event seq {seq!r} outside ({after}, {through}]", "seq_out_of_range")
        if seq in seen:
            raise ProtocolError(f"event seq {seq} twice in one batch", "seq_duplicate")
        seen.add(seq)
        if not isinstance(e.get("id"), str) or not isinstance(e.get("kind"), str) or not e["kind"]:
            raise ProtocolError(f"event {seq}: id and kind are required strings")
        if not isinstance(e.get("ts"), str):
            raise ProtocolError(f"event {seq}: ts is required")
        if not isinstance(e.get("payload"), dict):
            raise ProtocolError(f"event {seq}: payload must be an object")
    tz = doc.get("timezone")
    if tz is not None and (not isinstance(tz, str) or not 0 < len(tz) <= 64):
        raise ProtocolError("timezone must be an IANA zone name (e.g. Asia/Shanghai)")
    dv = doc.get("downlink_version")
    if dv is not None and (not _is_int(dv) or dv < 0):
        raise ProtocolError("downlink_version must be a non-negative integer")
    return {**doc, "events": sorted(events, key=lambda e: e["seq"])}
