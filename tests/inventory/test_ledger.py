import sqlite3
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel.errors import Conflict, ValidationError
from hub.store import database
from tests.support.common import key


def mv(sample, kind, qty, item="milk", loc="bin1", k=None):
    return MovementRequest(kind, sample[item]["id"], sample[loc]["id"], qty, "test", "tester", k or key())


def test_receive_sale_and_projection(hubctx, sample):
    with hubctx.db.write() as c:
        ledger.post(c, mv(sample, "receive", 10))
        m = ledger.post(c, mv(sample, "sale", 3))
    assert m["on_hand"] == 7 and m["qty_delta"] == -3
    assert ledger.fold(hubctx.db.read()) == ledger.projection(hubctx.db.read())


def test_same_key_twice_is_one_movement(hubctx, sample):
    k = key()
    with hubctx.db.write() as c:
        a = ledger.post(c, mv(sample, "receive", 5, k=k))
        b = ledger.post(c, mv(sample, "receive", 5, k=k))
    assert a["id"] == b["id"] and b["duplicate"] is True and b["on_hand"] == 5
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM movements").fetchone()[0] == 1


def test_same_key_different_content_conflicts(hubctx, sample):
    k = key()
    with hubctx.db.write() as c:
        ledger.post(c, mv(sample, "receive", 5, k=k))
    with pytest.raises(Conflict):
        with hubctx.db.write() as c:
            ledger.post(c, mv(sample, "receive", 6, k=k))


def test_negative_stock_is_reported(hubctx, sample):
    with hubctx.db.write() as c:
        m = ledger.post(c, mv(sample, "sale", 2))
    assert m["negative"] is True and m["on_hand"] == -2
    neg = ledger.negative_stock(hubctx.db.read())
    assert [(r["sku"], r["on_hand"]) for r in neg] == [("MILK-1L", -2)]


def test_reserve_cannot_exceed_available(hubctx, sample):
    with hubctx.db.write() as c:
        ledger.post(c, mv(sample, "receive", 3))
        ledger.post(c, mv(sample, "reserve", 2))
    with pytest.raises(Conflict) as exc:
        with hubctx.db.write() as c:
            ledger.post(c, mv(sample, "reserve", 2))
    assert exc.value.details["available"] == 1
    with hubctx.db.write() as c:
        m = ledger.post(c, mv(sample, "pick", 2))
    assert (m["on_hand"], m["reserved"]) == (1, 0)


def test_bad_inputs_are_refused(hubctx, sample):
    for kind, qty in (("receive", 0), ("sale", -1), ("adjust", 0), ("teleport", 1), ("receive", 1.5)):
        with pytest.raises(ValidationError):
            with hubctx.db.write() as c:
                ledger.post(c, mv(sample, kind, qty))
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM movements").fetchone()[0] == 0


def test_movements_are_immutable(hubctx, sample):
    with hubctx.db.write() as c:
        ledger.post(c, mv(sample, "receive", 1))
    with pytest.raises(sqlite3.IntegrityError):
        hubctx.db.read().execute("UPDATE movements SET qty_delta = 100")
    with pytest.raises(sqlite3.IntegrityError):
        hubctx.db.read().execute("DELETE FROM movements")


def test_transfer_is_two_movements_and_idempotent(hubctx, sample):
    k = key()
    with hubctx.db.write() as c:
        ledger.post(c, mv(sample, "receive", 10))
        ledger.transfer(
            c,
            item_id=sample["milk"]["id"],
            from_location=sample["bin1"]["id"],
            to_location=sample["bin2"]["id"],
            qty=4,
            reason="restock",
            actor="t",
            idempotency_key=k,
        )
        again = ledger.transfer(
            c,
            item_id=sample["milk"]["id"],
            from_location=sample["bin1"]["id"],
            to_location=sample["bin2"]["id"],
            qty=4,
            reason="restock",
            actor="t",
            idempotency_key=k,
        )
    assert all(m["duplicate"] for m in again)
    stock = {r["location_code"]: r["on_hand"] for r in ledger.stock_for_item(hubctx.db.read(), sample["milk"]["id"])}
    assert stock == {"A01-01": 6, "A01-02": 4}


def test_movement_and_outbox_commit_together(hubctx, sample):
    before = hubctx.db.read().execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    with pytest.raises(RuntimeError):
        with hubctx.db.write() as c:
            ledger.post(c, mv(sample, "receive", 10))
            raise RuntimeError("crash after the insert")
    r = hubctx.db.read()
    assert r.execute("SELECT COUNT(*) FROM movements").fetchone()[0] == 0
    assert r.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == before


KINDS = st.sampled_from(["receive", "sale", "return", "adjust", "count", "writeoff", "reserve", "release", "pick"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(
        st.tuples(
            KINDS,
            st.integers(-50, 50),
            st.sampled_from(["milk", "rice", "apples"]),
            st.sampled_from(["bin1", "bin2"]),
            st.integers(0, 30),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_projection_equals_fold_property(hubctx, sample, ops):
    """Any sequence of movements — including refused ones and repeated keys — keeps stock == fold(ledger)."""
    for kind, qty, item, loc, keyno in ops:
        try:
            with hubctx.db.write() as c:
                ledger.post(c, mv(sample, kind, qty, item, loc, k=f"prop-{kind}-{qty}-{item}-{loc}-{keyno}"))
        except (ValidationError, Conflict):
            pass
    r = hubctx.db.read()
    assert ledger.fold(r) == ledger.projection(r)
    assert all(res >= 0 for _, res in ledger.projection(r).values())


def test_projection_equals_fold_with_concurrent_writers(hubctx, sample):
    """Four threads with their own connections post (and re-post) movements at once."""
    errors = []
    db_path = hubctx.db.path

    def worker(n):
        db = database(db_path)
        try:
            for i in range(150):
                kind = ["receive", "sale", "reserve", "release", "adjust"][(i + n) % 5]
                qty = 1 + (i % 3)
                k = f"w{n}-{i // 2}"  # every key posted twice → duplicates are no-ops
                item = ["milk", "rice"][i % 2]
                try:
                    with db.write() as c:
                        ledger.post(
                            c,
                            MovementRequest(
                                kind, sample[item]["id"], sample["bin1"]["id"], qty, "t", f"w{n}", k + kind
                            ),
                        )
                except (Conflict, ValidationError):
                    pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    r = hubctx.db.read()
    assert ledger.fold(r) == ledger.projection(r)
    keys = r.execute("SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM movements").fetchone()
    assert keys[0] == keys[1]


def test_unit_cannot_change_once_an_item_has_movements(hubctx, sample):
    from hub.inventory import catalog

    with hubctx.db.write() as c:
        catalog.update_item(c, sample["rice"]["id"], {"unit": "kg"}, actor="t")  # no stock yet: allowed
        catalog.update_item(c, sample["rice"]["id"], {"unit": "each"}, actor="t")
        ledger.post(c, mv(sample, "receive", 3, item="rice"))
    with pytest.raises(Conflict) as exc:
        with hubctx.db.write() as c:
            catalog.update_item(c, sample["rice"]["id"], {"unit": "kg"}, actor="t")
    assert exc.value.code == "unit_change_with_stock"
