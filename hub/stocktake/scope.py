"""A count session's scope: which locations (as subtrees) and which items (categories or an item list) it
counts. Sessions store it (``sessions.create``); expected quantities, scans, RFID ingest and the sweep view
test membership with :class:`Scope`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.inventory import catalog, locations
from hub.kernel.errors import NotFound, ValidationError


def clean_scope(conn: sqlite3.Connection, scope: dict | None) -> dict[str, list[str]]:
    scope = scope or {}
    out = {"location_ids": [], "categories": [], "item_ids": []}
    for loc_id in scope.get("location_ids") or []:
        locations.get(conn, loc_id)
        out["location_ids"].append(loc_id)
    known = set(catalog.categories(conn))
    for cat in scope.get("categories") or []:
        if cat not in known:
            raise ValidationError(f"no item has category {cat!r}", code="unknown_category", details={"category": cat})
        out["categories"].append(cat)
    for item_id in scope.get("item_ids") or []:
        if conn.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
            raise NotFound(f"no item {item_id}", code="item_not_found")
        out["item_ids"].append(item_id)
    return out


def is_whole_store(scope: dict | None) -> bool:
    """An empty scope counts every item in every location: the one kind of count where "not found" can mean
    "gone" (see ``sessions.create`` for who may ask for that)."""
    scope = scope or {}
    return not (scope.get("location_ids") or scope.get("categories") or scope.get("item_ids"))


def describe(conn: sqlite3.Connection, scope: dict) -> dict[str, Any]:
    """What people read of a scope: the location codes, the categories and how many listed items."""
    ids = scope.get("location_ids") or []
    codes: list[str] = []
    if ids:
        found = dict(
            conn.execute(f"SELECT id, code FROM locations WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
        )
        codes = [found[i] for i in ids if i in found]
    return {
        "whole_store": is_whole_store(scope),
        "location_codes": codes,
        "categories": list(scope.get("categories") or []),
        "items": len(scope.get("item_ids") or []),
    }


class Scope:
    """Membership tests for a session's scope (locations as subtrees; categories OR item list)."""

    def __init__(self, conn: sqlite3.Connection, scope: dict[str, list[str]]):
        self.location_ids: set[str] | None = None
        if scope.get("location_ids"):
            ids: set[str] = set()
            for loc in scope["location_ids"]:
                ids.update(locations.subtree_ids(conn, loc))
            self.location_ids = ids
        self.categories = set(scope.get("categories") or [])
        self.item_ids = set(scope.get("item_ids") or [])

    def has_location(self, location_id: str) -> bool:
        return self.location_ids is None or location_id in self.location_ids

    def has_item(self, item: dict | sqlite3.Row) -> bool:
        if not self.categories and not self.item_ids:
            return True
        return item["id"] in self.item_ids or item["category"] in self.categories

    def item_sql(self) -> tuple[str, list[Any]]:
        """A WHERE fragment over ``items i`` selecting in-scope items."""
        if not self.categories and not self.item_ids:
            return "1", []
        parts, args = [], []
        if self.categories:
            parts.append(f"i.category IN ({','.join('?' * len(self.categories))})")
            args += sorted(self.categories)
        if self.item_ids:
            parts.append(f"i.id IN ({','.join('?' * len(self.item_ids))})")
            args += sorted(self.item_ids)
        return "(" + " OR ".join(parts) + ")", args


def scope_of(conn: sqlite3.Connection, session_id: str) -> Scope:
    """The scope of a count session (NotFound when there is no such session)."""
    row = conn.execute("SELECT scope FROM count_sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(f"no count session {session_id}", code="count_session_not_found")
    return Scope(conn, json.loads(row[0]))
