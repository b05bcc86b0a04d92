"""Single-use coupons on the hub (hub/promotions/coupons.py, docs/coupons.md): the check character, codes from the
downlink, the offline rules, the redemption written with its fact in the sale's transaction, and the engine
pricing with an issued code."""

from __future__ import annotations

import json
import random

import pytest

from hub.kernel import outbox
from hub.promotions import coupons
from hub.promotions.coupons import (
    ALPHABET,
    CouponMalformed,
    CouponMemberMismatch,
    CouponOfflineRefused,
    CouponRefused,
    CouponUnknown,
    CouponUsed,
)
from hub.synclink import downlink
from tests.support.promotions import applied, basket, line, promo, run


def _sample(n: int = 300, seed: int = 14) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = "".join(rng.choice(ALPHABET) for _ in range(coupons.BODY_LEN))
        out.append(body + coupons.check_char(body))
    return out


def test_check_character_catches_every_substitution_and_adjacent_transposition():
    sample = _sample() + [coupons.new_code() for _ in range(50)]
    subs = swaps = 0
    for code in sample:
        assert coupons.well_formed(code) == code
        for i, ch in enumerate(code):
            for other in ALPHABET:
                if other != ch:
                    bad = code[:i] + other + code[i + 1 :]
                    with pytest.raises(CouponMalformed):
                        coupons.well_formed(bad)
                    subs += 1
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                bad = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                with pytest.raises(CouponMalformed):
                    coupons.well_formed(bad)
                swaps += 1
    assert subs == len(sample) * coupons.CODE_LEN * (len(ALPHABET) - 1) and swaps > len(sample) * 10


def test_codes_are_typed_loosely_but_refused_when_malformed():
    code = coupons.new_code()
    assert coupons.well_formed(" " + coupons.printed(code).lower() + " ") == code
    assert coupons.printed(code).count("-") == 3
    for bad in ("", "ABC", code + "A", code[:-1] + "*", code[:-1] + "O", code[:-1] + "0", None, 42):
        with pytest.raises(CouponMalformed) as exc:
            coupons.well_formed(bad)
        assert exc.value.code == "coupon_malformed"


def test_new_codes_are_distinct_and_random():
    got = coupons.new_codes(5000)
    assert len(set(got)) == 5000 and all(coupons.well_formed(c) == c for c in got)
    # every position uses the whole alphabet (a secrets-drawn body, not a counter)
    for i in range(coupons.BODY_LEN):
        assert len({c[i] for c in got}) == len(ALPHABET)


def _deliver(db, codes, *, offline=False, issuer=None, member=None, batch="b1", pid="P-CPN"):
    changes = [
        {
            "version": downlink.version(db.read()) + 1,
            "kind": "coupon",
            "key": batch,
            "payload": {
                "batch_id": batch,
                "promotion_id": pid,
                "member_id": member,
                "offline": offline,
                "issuer_store": issuer,
                "codes": codes,
            },
        }
    ]
    res = downlink.apply_page(db, changes, changes[0]["version"])
    assert res["applied"] == 1, res


def test_offline_rules_and_single_use(hub_db):
    db = hub_db
    store = "store-1"
    online_only, offline_ok, own, bound = (coupons.new_code() for _ in range(4))
    _deliver(db, [online_only], batch="b1")
    _deliver(db, [offline_ok], offline=True, batch="b2")
    _deliver(db, [own], issuer=store, batch="b3")
    _deliver(db, [bound], member="M1", offline=True, batch="b4")
    conn = db.read()
    with pytest.raises(CouponUnknown):
        coupons.lookup(conn, coupons.new_code())
    with pytest.raises(CouponMalformed):  # malformed before unknown: nothing else is looked at
        coupons.lookup(conn, online_only[:-1] + ("0" if online_only[-1] != "0" else "1"))
    with pytest.raises(CouponMemberMismatch):
        coupons.lookup(conn, bound, member_id="M2")
    assert coupons.lookup(conn, bound, member_id="M1")["promotion_id"] == "P-CPN"

    row = coupons.lookup(conn, online_only)
    with pytest.raises(CouponOfflineRefused):
        coupons.decide(row, store_id=store, reservation=None)
    with pytest.raises(CouponOfflineRefused):  # issued for another store: not this store's own
        coupons.decide({**coupons.lookup(conn, own), "issuer_store": "store-2"}, store_id=store, reservation=None)
    assert coupons.decide(coupons.lookup(conn, offline_ok), store_id=store, reservation=None) is False
    assert coupons.decide(coupons.lookup(conn, own), store_id=store, reservation=None) is False
    assert coupons.decide(row, store_id=store, reservation={"status": "reserved"}) is True
    with pytest.raises(CouponRefused) as exc:
        coupons.decide(row, store_id=store, reservation={"status": "refused", "reason": "budget_redemptions"})
    assert exc.value.details["reason"] == "budget_redemptions"

    with db.write() as w:
        fact = coupons.redeem(
            w, coupons.lookup(w, offline_ok), sale_id="S1", store_id=store, discount_minor=500, reservation=None
        )
    assert fact["online"] is False and fact["discount_minor"] == 500
    rows = db.read().execute("SELECT kind, payload FROM outbox WHERE kind = 'coupon.redeemed'").fetchall()
    assert [json.loads(p)["sale_id"] for _, p in rows] == ["S1"]
    with pytest.raises(CouponUsed):
        coupons.lookup(db.read(), offline_ok)
    with pytest.raises(CouponUsed), db.write() as w:  # a second sale, even with the row read before
        coupons.redeem(
            w,
            {"code": offline_ok, "promotion_id": "P-CPN", "offline_ok": 1, "issuer_store": None},
            sale_id="S2",
            store_id=store,
            discount_minor=500,
            reservation=None,
        )
    got = db.read().execute("SELECT redeemed_sale_id FROM coupon_codes WHERE code = ?", (offline_ok,)).fetchone()
    assert tuple(got) == ("S1",)


def test_refused_redemption_records_nothing(hub_db):
    code = coupons.new_code()
    _deliver(hub_db, [code])
    before = hub_db.read().execute("SELECT COUNT(*) FROM outbox WHERE kind = 'coupon.redeemed'").fetchone()[0]
    with pytest.raises(CouponOfflineRefused), hub_db.write() as w:
        coupons.redeem(w, coupons.lookup(w, code), sale_id="S9", store_id="s", discount_minor=1, reservation=None)
    conn = hub_db.read()
    assert conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'coupon.redeemed'").fetchone()[0] == before
    assert tuple(conn.execute("SELECT redeemed_sale_id FROM coupon_codes WHERE code = ?", (code,)).fetchone()) == (
        None,
    )


def test_a_malformed_batch_is_rejected_whole(hub_db):
    good = coupons.new_code()
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    v = downlink.version(hub_db.read()) + 1
    res = downlink.apply_page(
        hub_db,
        [
            {
                "version": v,
                "kind": "coupon",
                "key": "bx",
                "payload": {"batch_id": "bx", "promotion_id": "P", "codes": [good, bad]},
            }
        ],
        v,
    )
    assert res["applied"] == 0 and len(res["rejected"]) == 1
    assert hub_db.read().execute("SELECT COUNT(*) FROM coupon_codes WHERE batch_id = 'bx'").fetchone()[0] == 0


def test_the_engine_prices_with_an_issued_code():
    code = coupons.new_code()
    p = promo("P-CPN", "percent_off", {"percent": 20}, coupon="SPRING", phase="item")
    b = basket(line("A", 1, 1000), coupons=[code])
    assert applied(run([p], b, issued_codes={code: "P-CPN"})) == {"P-CPN": (200, 1)}
    res = run([p], b)
    assert applied(res) == {} and res["rejected_coupons"] == [{"code": code, "reason": "unknown"}]


def test_the_redeemed_fact_is_declared_with_its_schema(hub_db):
    import jsonschema

    from hub.domains import facts

    code = coupons.new_code()
    _deliver(hub_db, [code], offline=True)
    with hub_db.write() as w:
        coupons.redeem(w, coupons.lookup(w, code), sale_id="S5", store_id="s", discount_minor=300, reservation=None)
        seq = w.execute("SELECT MAX(seq) FROM outbox WHERE kind = 'coupon.redeemed'").fetchone()[0]
    payload = json.loads(hub_db.read().execute("SELECT payload FROM outbox WHERE seq = ?", (seq,)).fetchone()[0])
    jsonschema.validate(payload, facts()["coupon.redeemed"].schema)
    assert outbox.record is not None
