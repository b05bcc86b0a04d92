"""Members benchmark (issue 15 "Members and loyalty").

Figures (targets from the issue):

- member_lookup_p99_ms (<= 5): on a hub holding 200,000 members (enrolled through the real path: phone validated,
  hashed and encrypted), find a member by phone through the keyed hash and build the till view (masked phone,
  tier, balance) — what the till does when a cashier keys a phone;
- balance_p99_ms (<= 5): the balance view of a member with 10,000 ledger entries (the projection, not a scan);
- points_merge_per_s (>= 5,000): points entries merged at the central on PostgreSQL from 100 stores, every batch
  pushed twice (a replay after a lost acknowledgement), through the real ingest (``apply_batch``: events,
  projections, the members merge and the balances published down); the merged balances are checked against the
  fold of what the stores sent (``merged_equals_fold``);
- central_lookup_p99_ms (<= 10): a member and their balance by card number at the central with 1,000,000 members
  on PostgreSQL.

``--small`` runs a tenth of every size (a quick check). Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from hub.kernel import pii  # noqa: E402
from hub.members import identity, points, rules  # noqa: E402
from hub.protocol.ids import new_id  # noqa: E402
from hub.store import initialise, open_db  # noqa: E402
from sync.central import ingest, stores  # noqa: E402
from sync.central import members as central_members  # noqa: E402
from sync.central.db import make_engine, migrate  # noqa: E402
from tests.support.sync import PgSchema  # noqa: E402

CONSENT = {"purpose": "loyalty", "granted": True}


def p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[98]


def phone_of(i: int) -> str:
    return f"139{i:08d}"


def bulk_load(db, numbers) -> None:
    """The rest of the members, written as enrolment writes them (E.164 phone hashed under the ring's key and
    encrypted with the member id as context; masked phone; card number) without the per-enrolment audit entry
    and facts, which would only make loading slow."""
    with db.write() as conn:
        ring = pii.for_connection(conn)
        rows = []
        for i in numbers:
            e164 = rules.normalise_phone(phone_of(i), "CN")
            mid = new_id()
            rows.append(
                (
                    mid,
                    f"{i:011d}" + rules.luhn_digit(f"{i:011d}"),
                    ring.lookup_hash(e164, purpose=rules.PHONE_PURPOSE),
                    rules.mask_phone(e164),
                    ring.encrypt(e164, context=f"members.phone_enc|{mid}"),
                    "standard",
                    "2026-01-01T00:00:00Z",
                    "bench-store",
                    "2026-01-01T00:00:00Z",
                    "bench",
                )
            )
        conn.executemany(
            "INSERT INTO members(id, card_no, phone_hash, phone_masked, phone_enc, tier, tier_since, home_store,"
            " enrolled_at, enrolled_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.executemany("INSERT INTO member_points(member_id) VALUES (?)", [(r[0],) for r in rows])


def hub_figures(n_members: int, n_entries: int, work: Path) -> dict:
    _cfg, db = open_db(work / "hub")
    initialise(db, store_id="bench-store")
    real = min(2000, n_members)
    t0 = time.perf_counter()
    with db.write() as conn:
        ids = [identity.enrol(conn, phone=phone_of(i), consent=CONSENT, actor="bench")[0]["id"] for i in range(real)]
    enrol_s = time.perf_counter() - t0
    bulk_load(db, range(real, n_members))
    conn = db.read()
    rng = random.Random(7)
    lookups = []
    for _ in range(3000):
        i = rng.randrange(n_members)
        t = time.perf_counter()
        mid = identity.find_by_phone(conn, phone_of(i))
        identity.till_view(conn, mid)
        lookups.append((time.perf_counter() - t) * 1000)
    heavy = ids[0]
    with db.write() as conn:
        for k in range(n_entries):
            points.append(conn, heavy, "earn" if k % 4 else "adjust", 10, spend_minor=1000, ref=f"s{k}", actor="bench")
    bal = []
    for _ in range(3000):
        t = time.perf_counter()
        points.view(conn, heavy)
        bal.append((time.perf_counter() - t) * 1000)
    entries = conn.execute("SELECT COUNT(*) FROM points_entries WHERE member_id = ?", (heavy,)).fetchone()[0]
    db.close()
    return {
        "member_lookup_p99_ms": round(p99(lookups), 3),
        "member_lookup_p50_ms": round(statistics.median(lookups), 3),
        "balance_p99_ms": round(p99(bal), 3),
        "hub_members": n_members,
        "balance_entries": entries,
        "enrol_per_s": round(real / enrol_s),
    }


def merge_figures(engine, n_stores: int, per_store: int, n_members: int, batch: int) -> dict:
    sids = [f"bench-{i:03d}" for i in range(n_stores)]
    for sid in sids:
        stores.add_store(engine, sid)
    rng = random.Random(11)
    members = [new_id() for _ in range(n_members)]
    with engine.begin() as conn:  # the members are known at the central, so every merge publishes their balances down
        conn.execute(
            central_members.members.insert(),
            [
                {
                    "member_id": m,
                    "home_store": sids[i % n_stores],
                    "card_no": f"9{i:011d}",
                    "phone_masked": "139****0000",
                    "birthday_month": None,
                    "tier": "standard",
                    "tier_since": "2026-01-01T00:00:00Z",
                    "enrolled_at": "2026-01-01T00:00:00Z",
                }
                for i, m in enumerate(members)
            ],
        )
    expected: dict[str, int] = defaultdict(int)
    pushes = []
    now = "2026-06-03T04:00:00Z"
    for sid in sids:
        evs = []
        seq = 0
        for _ in range(per_store):
            seq += 1
            mid = rng.choice(members)
            pts = rng.choice([rng.randint(1, 500), -rng.randint(1, 200)])
            expected[mid] += pts
            evs.append(
                {
                    "seq": seq,
                    "id": new_id(),
                    "kind": "points.entry",
                    "ts": now,
                    "payload": {
                        "id": new_id(),
                        "member_id": mid,
                        "kind": "earn" if pts > 0 else "burn",
                        "points": pts,
                        "spend_minor": max(pts, 0) * 100,
                        "ref": None,
                        "lot_id": None,
                        "reason": None,
                        "approver": None,
                        "store_id": sid,
                        "at": now,
                    },
                }
            )
        for i in range(0, len(evs), batch):
            chunk = evs[i : i + batch]
            pushes.append((sid, {"after": chunk[0]["seq"] - 1, "through": chunk[-1]["seq"], "events": chunk}))
    t0 = time.perf_counter()
    applied = duplicates = 0
    for sid, b in pushes:
        for _ in range(2):  # the push and its replay
            ack = ingest.apply_batch(engine, sid, b)
            applied += ack["applied"]
            duplicates += ack["duplicates"]
    took = time.perf_counter() - t0
    with engine.connect() as conn:
        merged = dict(
            conn.execute(
                select(central_members.member_points.c.member_id, central_members.member_points.c.balance)
            ).all()
        )
        n_entries = conn.execute(select(func.count()).select_from(central_members.points_entries)).scalar()
        folded = dict(
            conn.execute(
                select(
                    central_members.points_entries.c.member_id, func.sum(central_members.points_entries.c.points)
                ).group_by(central_members.points_entries.c.member_id)
            ).all()
        )
    ok = merged == dict(expected) == {k: int(v) for k, v in folded.items()}
    return {
        "points_merge_per_s": round(n_entries / took),
        "merge_entries": n_entries,
        "merge_pushes": len(pushes) * 2,
        "merge_duplicates": duplicates,
        "merge_stores": n_stores,
        "merged_equals_fold": ok,
    }


def central_lookup(engine, n: int) -> dict:
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO members(member_id, home_store, card_no, phone_hash, phone_masked, birthday_month, tier,"
                " tier_since, enrolled_at) SELECT 'm' || g, 'bench-000', lpad(g::text, 12, '0'), NULL, '139****0000',"
                " 1 + g % 12, 'standard', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM generate_series(1, :n) g"
            ),
            {"n": n},
        )
        conn.execute(
            text(
                "INSERT INTO member_points(member_id, balance, entries, updated_at) SELECT 'm' || g, g % 5000,"
                " 1, '2026-01-01T00:00:00Z' FROM generate_series(1, :n) g ON CONFLICT DO NOTHING"
            ),
            {"n": n},
        )
        conn.execute(text("ANALYZE members"))
        conn.execute(text("ANALYZE member_points"))
    load_s = time.perf_counter() - t0
    rng = random.Random(3)
    xs = []
    with engine.connect() as conn:
        for _ in range(3000):
            card = f"{rng.randint(1, n):012d}"
            t = time.perf_counter()
            r = central_members.lookup(conn, card_no=card)
            xs.append((time.perf_counter() - t) * 1000)
            assert r is not None
    return {"central_lookup_p99_ms": round(p99(xs), 3), "central_members": n, "central_load_s": round(load_s, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a tenth of every size")
    args = ap.parse_args()
    scale = 10 if args.small else 1
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        out.update(hub_figures(200_000 // scale, 10_000 // scale, Path(tmp)))
    schema = PgSchema("benchmembers")
    engine = make_engine(schema.url)
    try:
        migrate(engine)
        out.update(merge_figures(engine, 100, 600 // scale, 20_000 // scale, 100))
        out.update(central_lookup(engine, 1_000_000 // scale))
    finally:
        engine.dispose()
        schema.drop()
    out["targets"] = {
        "member_lookup_p99_ms": 5,
        "balance_p99_ms": 5,
        "points_merge_per_s": 5000,
        "central_lookup_p99_ms": 10,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
