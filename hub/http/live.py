"""Live updates for the handheld UI: Server-Sent Events at ``GET /api/v1/events``.

The stream follows the outbox (``hub.kernel.events.EventHub``): every event carries the outbox sequence as its SSE
``id``, so a browser's automatic reconnect (``Last-Event-ID``) resumes exactly where it stopped, across
gunicorn workers and hub restarts. The stream only reads (autocommit SELECTs, no transaction is held open), so
it never blocks writers. Only fact kinds declared ``live=True`` by their domain are sent (associates see the
stream): audit entries, user records and personal data stay out. Comments (``: hb``) keep proxies and the client's liveness check happy; a stream ends after
``MAX_STREAM_S`` so worker threads are recycled, and the client reconnects with ``Last-Event-ID``.
Events are unnamed (``message``) with ``{"seq","kind","ts","payload"}`` as data, so a client needs one
handler whatever kinds other modules add."""

from __future__ import annotations

import json
import sqlite3
import time

from flask import Blueprint, Response, request

from hub import domains
from hub.auth import sessions
from hub.http.context import hub
from hub.http.framework import current_credential, endpoint

bp = Blueprint("live", __name__)

POLL_S = 0.5
HEARTBEAT_S = 15.0
SESSION_CHECK_S = 30.0
MAX_STREAM_S = 300.0
RETRY_MS = 2000


def is_live_kind(kind: str) -> bool:
    return kind in domains.live_kinds()


def format_event(ev: dict) -> str:
    data = json.dumps(
        {"seq": ev["seq"], "kind": ev["kind"], "ts": ev["ts"], "payload": ev["payload"]},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"id: {ev['seq']}\ndata: {data}\n\n"


def _start_seq(events) -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("after")
    if raw is not None:
        try:
            seq = int(raw)
        except ValueError:
            seq = -1
        if seq >= 0:
            # an id from the future (the hub's database was restored from a backup) resumes from now
            return min(seq, events.latest_seq())
    return events.latest_seq()


def stream(
    ctx,
    token: str,
    start_seq: int,
    *,
    poll_s: float = POLL_S,
    heartbeat_s: float = HEARTBEAT_S,
    max_s: float = MAX_STREAM_S,
):
    """Yield SSE text for every live outbox row after ``start_seq`` until ``max_s`` or the session ends."""
    seq = start_seq
    started = last_write = last_check = time.monotonic()
    # A first event tells the client where the stream starts, so a later reconnect (?after= or Last-Event-ID)
    # resumes from here even if nothing happened in between.
    hello = json.dumps({"seq": seq, "kind": "live.hello", "ts": None, "payload": {}}, separators=(",", ":"))
    yield f"retry: {RETRY_MS}\nid: {seq}\ndata: {hello}\n\n"
    while True:
        now = time.monotonic()
        if now - started >= max_s:
            return
        if now - last_check >= SESSION_CHECK_S:
            last_check = now
            try:
                alive = sessions.resolve(ctx.db.read(), token) is not None
            except sqlite3.ProgrammingError:
                return
            if not alive:
                yield "event: session_ended\ndata: {}\n\n"
                return
        try:
            rows = ctx.events.since(seq)
        except sqlite3.ProgrammingError:
            return  # the hub is shutting down (database closed): end the stream, the client reconnects
        out = []
        for ev in rows:
            seq = ev["seq"]
            if is_live_kind(ev["kind"]):
                out.append(format_event(ev))
        if rows and not out:
            out.append(f"id: {seq}\n: skipped to {seq}\n\n")  # advance Last-Event-ID past private kinds
        if out:
            last_write = now
            yield "".join(out)
            if len(rows) >= 200:
                continue  # more waiting: no sleep
        elif now - last_write >= heartbeat_s:
            last_write = now
            yield ": hb\n\n"
        time.sleep(poll_s)


@endpoint(
    bp,
    "GET",
    "/events",
    summary="Live hub events (Server-Sent Events following the outbox)",
    role="associate",
    tags=["live"],
    query={
        "after": {"type": "integer", "minimum": 0, "maximum": 2**62},
        "heartbeat": {"type": "integer", "minimum": 1, "maximum": 60, "default": 15},
    },
)
def events(query):
    ctx = hub()
    token, _via = current_credential()
    start = _start_seq(ctx.events)
    gen = stream(ctx, token, start, heartbeat_s=float(query["heartbeat"]))
    resp = Response(gen, mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
