"""Members: enrolment, identification (phone, card, dynamic code), tiers, the points ledger and its projection."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from hub.identify import resolve as resolver
from hub.kernel import settings
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.members import downlink, identity, points, rules, tiers, workflow
from hub.protocol.timeutil import now_iso, utcnow
from hub.synclink import state as sync_state


def _online(conn):
    sync_state.put(conn, "last_ack_at", "2999-01-01T00:00:00Z")  # the central acknowledged "just now"


def test_enrol_finds_the_same_phone_and_never_duplicates(hubctx, enrol):
    a = enrol("138 1234 5678", name="王小明", birthday="1990-05-17")
    b = enrol("+86 138-1234-5678")
    assert a["id"] == b["id"] and a["phone_masked"] == "138****5678" and a["birthday_month"] == 5
    assert a["tier"] == "standard" and a["points"]["balance"] == 0
    conn = hubctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 1
    consent = conn.execute("SELECT purpose, terms_version, granted FROM member_consents").fetchall()
    assert [tuple(r) for r in consent] == [("loyalty", "2025-01", 1)]
    with pytest.raises(ValidationError) as e:
        enrol("12345")
    assert e.value.code == "invalid_phone"
    with pytest.raises(ValidationError) as e:
        enrol("139 0000 1111", consent={"purpose": "loyalty", "granted": False})
    assert e.value.code == "consent_required"
    with pytest.raises(Conflict) as e:
        enrol("139 0000 1111", consent={"purpose": "loyalty", "granted": True, "terms_version": "2019-01"})
    assert e.value.code == "terms_changed"


def test_personal_data_decrypts_for_a_manager_only_through_the_ring(hubctx, enrol):
    m = enrol("13812345678", name="Li Lei", birthday="--02-29")
    with hubctx.db.write() as conn:
        full = identity.personal(conn, m["id"], actor="manager")
    assert full["phone"] == "+8613812345678" and full["name"] == "Li Lei" and full["birthday"] == "1904-02-29"
    conn = hubctx.db.read()
    row = conn.execute("SELECT phone_enc, name_enc FROM members").fetchone()
    other = enrol("13912345678")
    with hubctx.db.write() as conn:  # a ciphertext moved to another row does not decrypt there
        conn.execute("UPDATE members SET name_enc = ? WHERE id = ?", (row["name_enc"], other["id"]))
        with pytest.raises(Exception) as e:
            identity.personal(conn, other["id"], actor="manager")
        assert "does not decrypt" in str(e.value)
        conn.execute("UPDATE members SET name_enc = NULL WHERE id = ?", (other["id"],))


def test_identify_by_phone_card_and_single_use_dynamic_code(hubctx, enrol):
    m = enrol("13812345678")
    with hubctx.db.write() as conn:
        assert identity.identify(conn, phone="138 1234 5678", actor="t")["identified_by"] == "phone"
        card = identity.card_code(conn, m["id"])
        assert identity.identify(conn, code=card, actor="t")["id"] == m["id"]
        code = identity.issue_code(conn, m["id"])["code"]
        assert identity.identify(conn, code=code, actor="t")["identified_by"] == "dynamic_code"
        with pytest.raises(Conflict) as e:  # the screenshot shown again
            identity.identify(conn, code=code, actor="t")
        assert e.value.code == "member_code_used"
        old = identity.issue_code(conn, m["id"], now_s=int(time.time()) - 61)["code"]
        with pytest.raises(ValidationError) as e:
            identity.identify(conn, code=old, actor="t")
        assert e.value.code == "member_code_expired"
        fresh = identity.issue_code(conn, m["id"])["code"]
        forged = fresh[:-1] + ("0" if fresh[-1] != "0" else "1")
        with pytest.raises(ValidationError) as e:
            identity.identify(conn, code=forged, actor="t")
        assert e.value.code == "member_code_forged"
        other_card = fresh.replace(m["card_no"], rules.new_card_no())  # a valid code's signature on another card
        with pytest.raises(ValidationError) as e:
            identity.identify(conn, code=other_card, actor="t")
        assert e.value.code == "member_code_forged"
        with pytest.raises(NotFound):
            identity.identify(conn, phone="13900001111", actor="t")


def test_the_scan_resolver_recognises_member_cards_and_codes(hubctx, enrol):
    m = enrol("13812345678")
    conn = hubctx.db.read()
    opts = settings.get_all(conn)
    card = rules.CARD_PREFIX + m["card_no"]
    r = resolver.resolve(conn, card, settings=opts)
    assert r.kind == "member" and r.member["id"] == m["id"] and r.to_dict()["member"]["phone_masked"] == "138****5678"
    code = identity.issue_code(conn, m["id"])["code"]
    assert resolver.resolve(conn, code, settings=opts).member["id"] == m["id"]
    with hubctx.db.write() as c:  # resolving did not use the code up
        identity.identify(c, code=code, actor="t")
    with pytest.raises(ValidationError) as e:
        resolver.resolve(conn, card[:-1] + str((int(card[-1]) + 1) % 10), settings=opts)
    assert e.value.code == "member_card_invalid"
    assert (
        resolver.resolve(conn, "5901234123457", settings=opts, with_stock=False).kind != "member"
        if conn.execute("SELECT 1 FROM item_gtins LIMIT 1").fetchone()
        else True
    )


def _sale(sale_id, *amounts, category="grocery"):
    return {
        "id": sale_id,
        "lines": [{"sku": f"S{i}", "category": category, "net_minor": a} for i, a in enumerate(amounts)],
    }


def test_earn_once_per_sale_upgrade_at_once_downgrade_at_period_end(hubctx, enrol):
    m = enrol("13812345678")
    with hubctx.db.write() as conn:
        first = workflow.earn_for_sale(conn, m["id"], _sale("sale-1", 150_000))
        again = workflow.earn_for_sale(conn, m["id"], _sale("sale-1", 150_000))
        assert first["entry"]["points"] == 1500 and again["entry"]["id"] == first["entry"]["id"]
        assert points.balance(conn, m["id"]) == 1500 and first["tier_change"] is None
        up = workflow.earn_for_sale(conn, m["id"], _sale("sale-2", 60_000))
        assert up["tier_change"]["to_tier"] == "silver"  # crossed 2,000.00: at once
        workflow.reverse_for_return(conn, sale_id="sale-2", return_id="ret-1", refund_minor=60_000)
        assert identity.till_view(conn, m["id"])["tier"] == "silver"  # no downgrade mid-period
        before = tiers.review(conn, actor="t", today=date(2026, 6, 1))
        assert before["ran"] is False
        ran = tiers.review(conn, actor="t", today=date(2026, 12, 31))
        assert ran["ran"] and ran["downgraded"] == 1
        assert tiers.review(conn, actor="t", today=date(2027, 1, 3))["ran"] is False  # once per period
        assert [h["reason"] for h in tiers.history(conn, m["id"])] == ["enrol", "upgrade", "period_end"]
        assert identity.till_view(conn, m["id"])["tier"] == "standard"


def test_burn_minimum_balance_offline_cap_and_idempotent_ref(hubctx, enrol, monkeypatch):
    m = enrol("13812345678")
    with hubctx.db.write() as conn:
        _online(conn)
        workflow.earn_for_sale(conn, m["id"], _sale("s1", 200_000))  # 2,000 points
        for pts, code in ((50, "burn_below_minimum"), (2001, "insufficient_points")):
            with pytest.raises(Conflict) as e:
                workflow.burn(conn, m["id"], pts, f"cart-{pts}")
            assert e.value.code == code
        b = workflow.burn(conn, m["id"], 1000, "cart-A")
        assert b["balance"] == 1000 and b["value_minor"] == 1000
        assert workflow.burn(conn, m["id"], 1000, "cart-A")["entry"]["id"] == b["entry"]["id"]  # retried tap
        with pytest.raises(Conflict) as e:
            workflow.burn(conn, m["id"], 200, "cart-A")
        assert e.value.code == "burn_ref_conflict"
        sync_state.put(conn, "last_ack_at", now_iso())  # the central took cart-A's burn …
        time.sleep(0.01)
        later = utcnow() + timedelta(hours=1)
        monkeypatch.setattr(points, "utcnow", lambda: later)  # … and then was unreachable for an hour
        assert points.offline(conn)
        workflow.burn(conn, m["id"], 400, "cart-B")  # within the offline cap of 500
        with pytest.raises(Conflict) as e:
            workflow.burn(conn, m["id"], 200, "cart-C")
        assert e.value.code == "offline_burn_cap" and e.value.details["unsynced_burns"] == 400
        assert points.balance(conn, m["id"]) == 600


def test_return_after_spending_shows_a_negative_balance(hubctx, enrol):
    m = enrol("13812345678")
    with hubctx.db.write() as conn:
        _online(conn)
        workflow.earn_for_sale(conn, m["id"], _sale("s1", 50_000))
        workflow.burn(conn, m["id"], 500, "c1")
        r = workflow.reverse_for_return(conn, sale_id="s1", return_id="r1", refund_minor=50_000)
        assert r["entry"]["points"] == -500 and r["balance"] == -500
        assert (
            workflow.reverse_for_return(conn, sale_id="s1", return_id="r1", refund_minor=50_000)["entry"]["id"]
            == r["entry"]["id"]
        )
        assert (
            workflow.reverse_for_return(conn, sale_id="s1", return_id="r2", refund_minor=50_000)["entry"]["points"] == 0
        )
        assert workflow.reverse_for_return(conn, sale_id="no-such-sale", return_id="r3", refund_minor=1) is None


def test_adjust_needs_reason_and_a_supervisors_badge(hubctx, enrol):
    m = enrol("13812345678")
    with hubctx.db.write() as conn:
        with pytest.raises(Exception) as e:
            workflow.adjust(
                conn,
                m["id"],
                50,
                reason="goodwill",
                approval_badge="BADGE-associate",
                secret_key=hubctx.secret_key,
                actor="t",
            )
        assert getattr(e.value, "code", "") == "approval_refused"
        out = workflow.adjust(
            conn,
            m["id"],
            50,
            reason="goodwill",
            approval_badge="BADGE-supervisor",
            secret_key=hubctx.secret_key,
            actor="t",
        )
        assert out["balance"] == 50 and out["entry"]["approver"] and out["entry"]["reason"] == "goodwill"


def test_the_ledger_is_append_only(hubctx, enrol):
    m = enrol("13812345678")
    with hubctx.db.write() as conn:
        workflow.earn_for_sale(conn, m["id"], _sale("s1", 1000))
    with pytest.raises(Exception, match="append-only"):
        with hubctx.db.write() as conn:
            conn.execute("UPDATE points_entries SET points = 999999")
    with pytest.raises(Exception, match="append-only"):
        with hubctx.db.write() as conn:
            conn.execute("DELETE FROM points_entries")


OPS = st.lists(
    st.tuples(
        st.sampled_from(["earn", "burn", "adjust", "reverse", "central"]), st.integers(min_value=1, max_value=300_000)
    ),
    min_size=1,
    max_size=25,
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_balance_equals_the_fold_of_entries_at_all_times(hubctx, enrol, ops):
    """After every operation: the projection's balance is the central's figure less this store's part of it plus
    the fold of this store's entries, and member_points.local_points is that fold."""
    m = enrol("13812345678")
    mid = m["id"]
    version = [int(time.time() * 1000)]
    with hubctx.db.write() as conn:
        _online(conn)
        store = settings.get(conn, "store_id")
        for i, (op, n) in enumerate(ops):
            tag = f"{version[0]}-{i}"
            if op == "earn":
                workflow.earn_for_sale(conn, mid, _sale(f"sale-{tag}", n))
            elif op == "burn":
                try:
                    workflow.burn(conn, mid, n % 3000 + 100, f"ref-{tag}")
                except Conflict:
                    pass
            elif op == "adjust":
                workflow.adjust(
                    conn,
                    mid,
                    (n % 500) - 250 or 1,
                    reason="test",
                    approval_badge="BADGE-supervisor",
                    secret_key=hubctx.secret_key,
                    actor="t",
                )
            elif op == "reverse":
                earned = conn.execute(
                    "SELECT ref FROM points_entries WHERE member_id = ? AND kind = 'earn' ORDER BY at DESC LIMIT 1",
                    (mid,),
                ).fetchone()
                if earned:
                    workflow.reverse_for_return(conn, sale_id=earned[0], return_id=f"ret-{tag}", refund_minor=n)
            else:  # the central's figure arrives: some of this store's entries merged, plus another store's
                fold_now = conn.execute(
                    "SELECT COALESCE(SUM(points),0) FROM points_entries WHERE member_id = ?", (mid,)
                ).fetchone()[0]
                mine = fold_now - (n % 7)
                version[0] += 1
                downlink.apply(
                    conn,
                    {
                        "member_id": mid,
                        "card_no": m["card_no"],
                        "phone_masked": m["phone_masked"],
                        "tier": m["tier"],
                        "tier_since": m["tier_since"],
                        "home_store": store,
                        "enrolled_at": m["enrolled_at"],
                        "balance": mine + n,
                        "spend_12m_minor": 0,
                        "stores": {
                            store: {"points": mine, "spend_12m_minor": 0},
                            "other": {"points": n, "spend_12m_minor": 0},
                        },
                    },
                    version[0],
                )
            fold = conn.execute(
                "SELECT COALESCE(SUM(points),0) FROM points_entries WHERE member_id = ?", (mid,)
            ).fetchone()[0]
            f = points.figures(conn, mid)
            assert f["local_points"] == fold
            assert points.balance(conn, mid) == f["central_balance"] - f["central_mine"] + fold
        conn.execute("DELETE FROM member_points")
        conn.execute("DELETE FROM member_tier_history")
        conn.execute("DELETE FROM member_consents")
        conn.execute("DROP TRIGGER points_entries_no_delete")
        conn.execute("DELETE FROM points_entries")
        conn.execute("DELETE FROM member_carts")
        conn.execute("DELETE FROM members")
        conn.execute(
            "CREATE TRIGGER points_entries_no_delete BEFORE DELETE ON points_entries"
            " BEGIN SELECT RAISE(ABORT, 'points_entries is append-only'); END"
        )
