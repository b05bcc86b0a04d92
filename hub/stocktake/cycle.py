"""Cycle counting: ABC classification and the schedule that creates count tasks.

Classification ranks items by annual consumption value (units sold over the
look-back window, scaled to a year, × cost) — or by velocity (units sold) — and
cuts the cumulative share at 80% (A) and 95% (B); the rest, and everything that
did not sell, is C. Sold units are ``sale`` movements minus ``return``s.

Schedule: each class has an interval in days (setting ``cycle_count_days``,
default A 30 / B 91 / C 365). An item's next count is due one interval after its
last approved count. Items never counted are spread evenly over their first
interval (the k-th of n gets day ⌊k·interval/n⌋) so the work is level rather
than everything falling due on day one. ``schedule`` creates a task for every
item due within the horizon that has no open task.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Any

from hub.kernel import audit, settings
from hub.kernel.errors import ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso, utcnow

DEFAULT_INTERVALS = {"A": 30, "B": 91, "C": 365}
CUTS = (0.80, 0.95)


def intervals(conn: sqlite3.Connection) -> dict[str, int]:
    v = settings.get(conn, "cycle_count_days") or {}
    out = dict(DEFAULT_INTERVALS)
    out.update({k: int(v[k]) for k in ("A", "B", "C") if k in v})
    return out


def classify(
    conn: sqlite3.Connection, *, days: int = 90, basis: str = "value", actor: str, today: date | None = None
) -> dict[str, Any]:
    if basis not in ("value", "velocity"):
        raise ValidationError("basis is value or velocity", code="invalid_basis")
    if not 7 <= days <= 730:
        raise ValidationError("days must be 7..730", code="invalid_days")
    today = today or utcnow().date()
    since = (today - timedelta(days=days)).isoformat()
    sold = {
        r[0]: int(r[1])
        for r in conn.execute(
            "SELECT item_id, -SUM(qty_delta) FROM movements WHERE kind IN ('sale', 'return') AND ts >= ? GROUP BY item_id",
            (since,),
        )
    }
    items = conn.execute("SELECT id, unit, cost_minor FROM items WHERE active = 1").fetchall()
    scale = 365.0 / days
    ranked = []
    for it in items:
        units = max(sold.get(it["id"], 0), 0)
        per_unit = it["cost_minor"] / 1000 if it["unit"] == "kg" else it["cost_minor"]
        value = int(round(units * scale * per_unit))
        ranked.append((it["id"], value, units))
    key = (lambda x: x[1]) if basis == "value" else (lambda x: x[2])
    ranked.sort(key=lambda x: (-key(x), x[0]))
    total = sum(key(x) for x in ranked) or 0
    cum = 0
    ts = now_iso()
    counts = {"A": 0, "B": 0, "C": 0}
    rows = []
    for item_id, value, units in ranked:
        metric = key((item_id, value, units))
        if total and metric > 0:
            share_before = cum / total
            cum += metric
            cls = "A" if share_before < CUTS[0] else "B" if share_before < CUTS[1] else "C"
        else:
            cls = "C"
        counts[cls] += 1
        rows.append((item_id, cls, value, units, ts))
    conn.execute("DELETE FROM cycle_classes")
    conn.executemany(
        "INSERT INTO cycle_classes(item_id, abc_class, annual_value_minor, units_sold, classified_at)"
        " VALUES (?,?,?,?,?)",
        rows,
    )
    audit.log(conn, actor=actor, action="cycle.classify", details={"days": days, "basis": basis, **counts})
    return {"classes": counts, "items": len(rows), "basis": basis, "days": days}


def last_counted(conn: sqlite3.Connection) -> dict[str, str]:
    """Item → date (YYYY-MM-DD) of its last approved count."""
    return {
        r[0]: r[1][:10]
        for r in conn.execute(
            "SELECT l.item_id, MAX(s.approved_at) FROM count_lines l JOIN count_sessions s ON s.id = l.session_id"
            " WHERE s.status = 'approved' AND l.final_source IS NOT NULL GROUP BY l.item_id"
        )
    }


def schedule(
    conn: sqlite3.Connection, *, actor: str, today: date | None = None, horizon_days: int = 7
) -> dict[str, Any]:
    today = today or utcnow().date()
    iv = intervals(conn)
    last = last_counted(conn)
    open_tasks = {r[0] for r in conn.execute("SELECT item_id FROM count_tasks WHERE status IN ('open', 'in_session')")}
    classes = conn.execute(
        "SELECT c.item_id, c.abc_class FROM cycle_classes c JOIN items i ON i.id = c.item_id"
        " WHERE i.active = 1 ORDER BY c.abc_class, c.annual_value_minor DESC, c.item_id"
    ).fetchall()
    never: dict[str, list[str]] = {"A": [], "B": [], "C": []}
    due: list[tuple[str, str, date]] = []
    for item_id, cls in classes:
        if item_id in last:
            due.append((item_id, cls, date.fromisoformat(last[item_id]) + timedelta(days=iv[cls])))
        else:
            never[cls].append(item_id)
    for cls, ids in never.items():
        n = len(ids)
        for k, item_id in enumerate(ids):
            due.append((item_id, cls, today + timedelta(days=(k * iv[cls]) // n if n else 0)))
    limit = today + timedelta(days=horizon_days)
    ts = now_iso()
    created = []
    for item_id, cls, d in due:
        if item_id in open_tasks or d > limit:
            continue
        due_d = max(d, today).isoformat()
        cur = conn.execute(
            "INSERT OR IGNORE INTO count_tasks(id, item_id, abc_class, due_date, status, created_at)"
            " VALUES (?,?,?,?,'open',?)",
            (new_id(), item_id, cls, due_d, ts),
        )
        if cur.rowcount:
            created.append({"item_id": item_id, "abc_class": cls, "due_date": due_d})
    if created:
        audit.log(
            conn, actor=actor, action="cycle.schedule", details={"created": len(created), "horizon_days": horizon_days}
        )
    return {"created": len(created), "tasks": created[:200]}


def tasks(
    conn: sqlite3.Connection,
    *,
    status: str | None = "open",
    due_by: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict], int]:
    where, args = ["1"], []
    if status:
        where.append("t.status = ?")
        args.append(status)
    if due_by:
        where.append("t.due_date <= ?")
        args.append(due_by)
    w = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM count_tasks t WHERE {w}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT t.*, i.sku, i.name_en, i.name_zh FROM count_tasks t JOIN items i ON i.id = t.item_id WHERE {w}"
        " ORDER BY t.due_date, t.abc_class, i.sku LIMIT ? OFFSET ?",
        args + [limit, offset],
    ).fetchall()
    return [dict(r) for r in rows], total


def session_from_tasks(
    conn: sqlite3.Connection,
    *,
    task_ids: list[str] | None = None,
    due_by: str | None = None,
    name: str | None = None,
    mode: str = "blind",
    uncounted: str | None = None,
    actor: str,
    role: str = "associate",
    device: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[dict, bool]:
    """Open a cycle count whose scope is the items of the chosen open tasks.

    Uncounted lines are excluded unless a manager asks for ``zero`` (``sessions.create`` decides): a task's item
    booked in a bin nobody walked to is not lost, just not counted."""
    from hub.stocktake import sessions

    if idempotency_key:
        row = conn.execute("SELECT id FROM count_sessions WHERE create_key = ?", (idempotency_key,)).fetchone()
        if row:
            return sessions.get(conn, row[0]), False
    if task_ids:
        marks = ",".join("?" * len(task_ids))
        rows = conn.execute(
            f"SELECT id, item_id FROM count_tasks WHERE id IN ({marks}) AND status = 'open'", task_ids
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT id, item_id FROM count_tasks WHERE status = 'open' AND due_date <= ?",
            (due_by or utcnow().date().isoformat(),),
        ).fetchall()
    if not rows:
        raise ValidationError("no open count tasks chosen", code="no_tasks")
    return sessions.create(
        conn,
        name=name or f"Cycle count {utcnow().date().isoformat()}",
        kind="cycle",
        mode=mode,
        uncounted=uncounted,
        scope={"item_ids": sorted({r[1] for r in rows})},
        task_ids=[r[0] for r in rows],
        actor=actor,
        role=role,
        device=device,
        idempotency_key=idempotency_key,
    )
