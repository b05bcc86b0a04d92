"""The sale journal: append-only (SQLite triggers refuse UPDATE and DELETE) and hash-chained.

Every entry — sale, return, shift open/close, paid-in/out, safe drop, no-sale, Z report — carries the SHA-256
of the previous entry over everything it says (``rules.entry_hash``), so an edited, removed or reordered entry
breaks the chain from there on, and ``storehub checkout verify-journal`` finds it. Entries are written only
inside the caller's write transaction, next to the change they record."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from hub.checkout import rules
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso


def append(
    conn: sqlite3.Connection,
    kind: str,
    *,
    till_id: str,
    business_date: str,
    body: Mapping[str, Any],
    receipt_no: int | None = None,
    ts: str | None = None,
) -> dict[str, Any]:
    """Add one entry after the last; returns ``{seq, id, hash, ts}``."""
    if not conn.in_transaction:
        raise RuntimeError("journal.append outside a write transaction")
    last = conn.execute("SELECT seq, hash FROM checkout_journal ORDER BY seq DESC LIMIT 1").fetchone()
    prev = last["hash"] if last else rules.GENESIS
    # AUTOINCREMENT never reuses a number, so the next seq is the sequence counter + 1, not MAX(seq) + 1
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'checkout_journal'").fetchone()
    seq = (row["seq"] if row else 0) + 1
    ts = ts or now_iso()
    text = rules.canonical(body)
    digest = rules.entry_hash(prev, seq, kind, till_id, business_date, receipt_no, ts, text)
    eid = new_id()
    conn.execute(
        "INSERT INTO checkout_journal(seq, id, kind, till_id, business_date, receipt_no, ts, body,"
        " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (seq, eid, kind, till_id, business_date, receipt_no, ts, text, prev, digest),
    )
    return {"seq": seq, "id": eid, "hash": digest, "ts": ts}


def entry(conn: sqlite3.Connection, seq: int) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM checkout_journal WHERE seq = ?", (seq,)).fetchone()
    out = dict(r)
    out["body"] = json.loads(out["body"])
    return out


def last_hash(conn: sqlite3.Connection) -> tuple[int, str]:
    r = conn.execute("SELECT seq, hash FROM checkout_journal ORDER BY seq DESC LIMIT 1").fetchone()
    return (r["seq"], r["hash"]) if r else (0, rules.GENESIS)


def verify(conn: sqlite3.Connection, *, batch: int = 5000) -> dict[str, Any]:
    """Walk the whole chain: each entry's ``prev_hash`` is the hash before it and its own hash is what its
    content hashes to. Returns ``{ok, entries, last_seq, last_hash, problems: [{seq, problem}]}``."""
    prev = rules.GENESIS
    count, last_seq, problems = 0, 0, []
    after = 0
    while True:
        rows = conn.execute(
            "SELECT seq, kind, till_id, business_date, receipt_no, ts, body, prev_hash, hash"
            " FROM checkout_journal WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, batch),
        ).fetchall()
        if not rows:
            break
        for r in rows:
            seq = r[0]
            if r[7] != prev:
                problems.append({"seq": seq, "problem": "prev_hash is not the hash of the entry before"})
            digest = rules.entry_hash(r[7], seq, r[1], r[2], r[3], r[4], r[5], r[6])
            if digest != r[8]:
                problems.append({"seq": seq, "problem": "the entry does not hash to its stored hash"})
            prev = r[8]
            count += 1
            last_seq = seq
        after = rows[-1][0]
        if len(problems) > 100:
            break
    return {"ok": not problems, "entries": count, "last_seq": last_seq, "last_hash": prev, "problems": problems}
