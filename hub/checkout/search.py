"""Item search at the till: by name (English or Chinese), SKU, and pinyin — initials (``xhs`` finds 西红柿)
or whole syllables (``xihongshi``).

The pinyin of every active item's Chinese name is computed once with ``pypinyin`` and kept in memory per
hub database; the index is rebuilt when the catalog changes (its row count or newest ``updated_at`` moves).
A search is then a scan over plain strings in memory: a few milliseconds for 50,000 items."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

_LOCK = threading.Lock()
_INDEXES: OrderedDict[str, tuple[tuple[int, str], list[_Entry]]] = OrderedDict()
_KEEP = 8


@dataclass(frozen=True, slots=True)
class _Entry:
    item_id: str
    sku: str
    name: str  # English name, lower case
    name_zh: str
    initials: str  # "xhs"
    spelled: str  # "xihongshi"


def pinyin_keys(name_zh: str) -> tuple[str, str]:
    """(initials, whole pinyin) of a Chinese name, lower case, letters and digits only."""
    if not name_zh:
        return "", ""
    # pypinyin loads its phrase dictionary (~55 MB RSS) on import: only a process that searches by name pays it,
    # not every web worker and bus at start (issue 12, footprint)
    from pypinyin import lazy_pinyin

    syllables = [s.strip().lower() for s in lazy_pinyin(name_zh) if s.strip()]
    initials = "".join(s[0] for s in syllables if s[0].isalnum())
    spelled = "".join(ch for ch in "".join(syllables) if ch.isalnum())
    return initials, spelled


def _index(conn: sqlite3.Connection) -> list[_Entry]:
    db_file = conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
    stamp = tuple(conn.execute("SELECT COUNT(*), COALESCE(MAX(updated_at), '') FROM items").fetchone())
    with _LOCK:
        found = _INDEXES.get(db_file)
        if found is not None and found[0] == stamp:
            _INDEXES.move_to_end(db_file)
            return found[1]
    entries = []
    for r in conn.execute("SELECT id, sku, name_en, name_zh FROM items WHERE active = 1 ORDER BY sku"):
        initials, spelled = pinyin_keys(r[3])
        entries.append(_Entry(r[0], r[1].lower(), (r[2] or "").lower(), r[3] or "", initials, spelled))
    with _LOCK:
        _INDEXES[db_file] = (stamp, entries)  # type: ignore[assignment]
        while len(_INDEXES) > _KEEP:
            _INDEXES.popitem(last=False)
    return entries


def search(conn: sqlite3.Connection, q: str, *, limit: int = 20) -> list[str]:
    """Item ids matching ``q``, best first: exact SKU, then prefixes (SKU, initials, pinyin, name), then
    anything containing it."""
    text = " ".join((q or "").split()).lower()
    if not text:
        return []
    compact = text.replace(" ", "")
    ranked: list[tuple[int, str, str]] = []
    for e in _index(conn):
        if e.sku == text:
            rank = 0
        elif (
            e.sku.startswith(text)
            or e.initials.startswith(compact)
            or e.spelled.startswith(compact)
            or e.name.startswith(text)
            or e.name_zh.startswith(q.strip())
        ):
            rank = 1
        elif (
            text in e.sku
            or text in e.name
            or (q.strip() and q.strip() in e.name_zh)
            or (len(compact) >= 2 and (compact in e.initials or compact in e.spelled))
        ):
            rank = 2
        else:
            continue
        ranked.append((rank, e.sku, e.item_id))
    ranked.sort()
    return [item_id for _r, _s, item_id in ranked[:limit]]


def results(conn: sqlite3.Connection, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The matching items as the till shows them (name in both languages, unit, list price, PLU)."""
    ids = search(conn, q, limit=limit)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = {
        r["id"]: dict(r)
        for r in conn.execute(
            f"SELECT id, sku, name_en, name_zh, unit, price_minor, plu FROM items WHERE id IN ({marks})", ids
        )
    }
    return [rows[i] for i in ids if i in rows]
