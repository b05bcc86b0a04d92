"""Pictures named by a catalog CSV's ``picture`` column (``storehub catalog import FILE --pictures DIR``).

A cell is either a file name relative to the folder given to the import (``milk.jpg``, ``dairy/milk.png``; a path
that leaves the folder is refused) or an ``http://`` / ``https://`` URL, e.g. a supplier's picture server on the
store's LAN, fetched with a timeout and at most :data:`hub.inventory.pictures.MAX_BYTES`. Each picture is read
and checked like an upload (:func:`hub.inventory.pictures.prepare`) before any write transaction; one that cannot
be read or is refused is reported with its row and reason and the rest are attached — the items themselves were
imported all or nothing by :mod:`hub.inventory.catalog_csv` before."""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.inventory import catalog, pictures
from hub.inventory.catalog_csv import RowError
from hub.kernel.errors import StoreHubError

FETCH_TIMEOUT_S = 10.0
FIELD = "picture"


class SourceError(Exception):
    """A picture cell that names nothing readable (the message says why)."""


@dataclass
class PicturePlan:
    ready: list[tuple[int, str, pictures.Prepared]] = field(default_factory=list)  # (row, sku, picture)
    errors: list[RowError] = field(default_factory=list)


def _fetch(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "StoreHub catalog import", "Accept": "image/*"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only, checked by read()
            if resp.status != 200:
                raise SourceError(f"{url} answered HTTP {resp.status}")
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > pictures.MAX_BYTES:
                raise SourceError(f"{url} is {int(length)} bytes; at most {pictures.MAX_BYTES} are taken")
            data: bytes = resp.read(pictures.MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"{url} could not be fetched: {reason}") from None
    if len(data) > pictures.MAX_BYTES:
        raise SourceError(f"{url} is larger than {pictures.MAX_BYTES} bytes")
    return data


def read(ref: str, folder: Path | None, *, timeout: float = FETCH_TIMEOUT_S) -> bytes:
    """The bytes a picture cell names."""
    low = ref.lower()
    if low.startswith(("http://", "https://")):
        return _fetch(ref, timeout)
    if "://" in ref:
        raise SourceError(f"{ref}: only http:// and https:// URLs are fetched")
    if folder is None:
        raise SourceError(f"{ref} is a file name: give the folder of the pictures (--pictures DIR)")
    base = folder.resolve()
    path = (base / ref).resolve()
    if not path.is_relative_to(base):
        raise SourceError(f"{ref} is outside the pictures folder {folder}")
    if not path.is_file():
        raise SourceError(f"no file {ref} in {folder}")
    size = path.stat().st_size
    if size > pictures.MAX_BYTES:
        raise SourceError(f"{ref} is {size} bytes; at most {pictures.MAX_BYTES} are taken")
    return path.read_bytes()


def plan(
    refs: list[tuple[int, str, str]],
    folder: Path | None,
    *,
    timeout: float = FETCH_TIMEOUT_S,
    progress: Callable[[int], None] | None = None,
) -> PicturePlan:
    """Read and check every (row, sku, cell); writes nothing. The same cell on several rows is read once."""
    out = PicturePlan()
    seen: dict[str, pictures.Prepared | str] = {}
    for row, sku, ref in refs:
        got = seen.get(ref)
        if got is None:
            try:
                got = pictures.prepare(read(ref, folder, timeout=timeout))
            except SourceError as exc:
                got = str(exc)
            except StoreHubError as exc:
                got = f"{ref}: {exc.message}"
            seen[ref] = got
        if isinstance(got, str):
            out.errors.append(RowError(row, FIELD, got))
        else:
            out.ready.append((row, sku, got))
        if progress:
            progress(1)
    return out


def attach(conn: sqlite3.Connection, todo: PicturePlan, *, actor: str, device: str | None = None) -> int:
    """Give each item of ``todo.ready`` its picture, in the caller's write transaction. Returns how many items
    got a new picture (an item already showing the same picture is left as it is)."""
    changed = 0
    for _row, sku, picture in todo.ready:
        item = catalog.get_item_by_sku(conn, sku)
        if item is None:  # the import created or kept every planned SKU; only a concurrent change gets here
            todo.errors.append(RowError(_row, FIELD, f"item {sku} is gone"))
            continue
        if item.get("picture_sha256") != picture.sha256:
            pictures.attach(conn, item["id"], picture, actor=actor, device=device)
            changed += 1
    todo.errors.sort(key=lambda e: e.row)
    return changed
