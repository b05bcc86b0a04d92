"""Property tests: no input makes the parser crash, and no mutated code resolves to the wrong item."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from hub.identify import resolve as scan
from hub.identify.barcode import BarcodeError, ParseOptions, parse
from hub.inventory import catalog
from hub.kernel import settings
from hub.kernel.errors import NotFound, StoreHubError
from hub.store import database

GS = "\x1d"
EANS = ["5901234123457", "4006381333931", "9501101531000", "0614141000036", "96385074", "10614141000033"]
OPTS = [
    ParseOptions(),
    ParseOptions(region="US"),
    ParseOptions(region="CN"),
    ParseOptions(region="NO"),
    ParseOptions(region="DE"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = database(tmp_path_factory.mktemp("prop") / "hub.db")
    db.migrate()
    with db.write() as conn:
        for i, g in enumerate(EANS):
            catalog.create_item(
                conn, {"sku": f"S{i}", "name_en": f"Item {i}", "price_minor": 100 + i, "gtins": [g]}, actor="test"
            )
        catalog.create_item(
            conn,
            {
                "sku": "APPLE",
                "name_en": "Apples",
                "unit": "kg",
                "price_minor": 1200,
                "variable_measure": True,
                "plu": "4131",
                "gtins": ["2302148000002"],
            },
            actor="test",
        )
    yield db
    db.close()


scanner_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3000), max_size=80)
digits = st.text(alphabet=string.digits, min_size=1, max_size=30)
structured = st.builds(
    lambda a, b: a + b,
    st.sampled_from(
        ["", "]E0", "]E4", "]C1", "]e0", "]d2", "]Q3", "]C0", "SHL-", "SHB-", "SHO-", "https://id.gs1.org/01/", "(01)"]
    ),
    st.text(alphabet=string.digits + string.ascii_letters + GS + "|()/-.?=&", max_size=60),
)


@hsettings(max_examples=400, deadline=None)
@given(code=st.one_of(scanner_text, digits, structured), opt=st.sampled_from(OPTS))
def test_parse_never_crashes(code, opt):
    try:
        r = parse(code, opt)
    except BarcodeError as exc:
        assert exc.code and exc.message
        return
    if r.gtin is not None:
        assert len(r.gtin) == 14 and r.gtin.isdigit()
    assert r.kind in ("gtin", "gs1", "variable_measure", "location", "badge", "order")


def _mutations(draw, code: str) -> str:
    i = draw(st.integers(min_value=0, max_value=len(code) - 1))
    d = draw(st.sampled_from([c for c in string.digits if c != code[i]]))
    return code[:i] + d + code[i + 1 :]


@st.composite
def one_digit_changed(draw):
    code = draw(st.sampled_from(EANS))
    return code, _mutations(draw, code)


@hsettings(max_examples=300, deadline=None)
@given(
    pair=one_digit_changed(),
    prefix=st.sampled_from(["", "]E0", "]C101", "]d201", "https://id.gs1.org/01/"]),
    opt=st.sampled_from(OPTS),
)
def test_a_single_changed_digit_is_always_caught(pair, prefix, opt):
    good, bad = pair
    if prefix in ("]C101", "]d201", "https://id.gs1.org/01/"):
        good, bad = good.zfill(14), bad.zfill(14)
    if prefix == "]E0" and len(good) not in (12, 13):
        prefix = ""
    with pytest.raises(BarcodeError) as e:
        parse(prefix + bad, opt)
    assert e.value.code in ("invalid_check_digit", "invalid_price_check_digit")


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    code=st.one_of(scanner_text, digits, structured, one_digit_changed().map(lambda p: p[1]), st.sampled_from(EANS)),
    region=st.sampled_from([None, "CN", "US", "NO"]),
)
def test_resolve_never_returns_an_item_the_code_does_not_name(store, code, region):
    conn = store.read()
    s = settings.get_all(conn)
    s["barcode_region"] = region
    try:
        res = scan.resolve(conn, code, settings=s, with_stock=False)
    except (BarcodeError, NotFound):
        return
    except StoreHubError as exc:  # e.g. ambiguous PLU: an error, never a guess
        assert exc.status >= 400
        return
    if res.kind != "item":
        return
    item, parsed = res.item, res.parsed.to_dict()
    named = {parsed["gtin"], parsed["base_gtin"]}
    assert set(item["gtins"]) & named or (parsed["variable_measure"] and item["plu"]), (code, parsed, item["sku"])


@pytest.mark.parametrize("good", EANS)
def test_every_single_digit_substitution_of_the_catalog_codes_is_refused(store, good):
    conn = store.read()
    s = settings.get_all(conn)
    for i in range(len(good)):
        for d in string.digits:
            if d == good[i]:
                continue
            bad = good[:i] + d + good[i + 1 :]
            with pytest.raises(BarcodeError):
                scan.resolve(conn, bad, settings=s, with_stock=False)
    assert scan.resolve(conn, good, settings=s, with_stock=False).item["gtins"] == [good.zfill(14)]
