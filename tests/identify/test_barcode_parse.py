"""hub.identify.barcode.parse: reference vectors, GS1 General Specifications examples, store layouts, bad input."""

from __future__ import annotations

import json

import pytest

from hub.identify.barcode import BUILTIN_LAYOUTS, RESULT_KEYS, BarcodeError, ParseOptions, compile_layout, parse
from hub.kernel.errors import ValidationError
from tests.support.common import VECTORS_FILE

VECTORS = json.loads(VECTORS_FILE.read_text())
GS = "\x1d"


def check_digit(body: str) -> int:
    """GS1 mod-10, written out here independently of biip: weights 3,1,3,... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def with_check(body: str) -> str:
    return body + str(check_digit(body))


def p(code: str, **kw):
    return parse(code, ParseOptions(**kw))


# ------------------------------------------------------------------ reference vectors
@pytest.mark.parametrize("vec", VECTORS["barcodes"], ids=lambda v: repr(v["input"]))
def test_reference_barcodes(vec):
    got = p(vec["input"], region=vec.get("region")).to_dict()
    assert list(got) == list(RESULT_KEYS)
    for k, v in vec["expect"].items():
        assert got[k] == v, (k, got)


@pytest.mark.parametrize("vec", VECTORS["gtin_check_digits"], ids=lambda v: v["body"])
def test_reference_check_digits(vec):
    body, good = vec["body"], vec["check"]
    assert check_digit(body) == good
    code = body + str(good)
    if len(code) == 18:  # an SSCC: only inside an element string (AI 00)
        assert p("]C100" + code).kind == "gs1"
        wrong = body + str((good + 1) % 10)
        with pytest.raises(BarcodeError) as e:
            p("]C100" + wrong)
        assert e.value.code == "invalid_check_digit"
        return
    assert p(code).gtin == code.zfill(14)
    for d in range(10):
        if d != good:
            with pytest.raises(BarcodeError) as e:
                p(body + str(d))
            assert e.value.code == "invalid_check_digit"


# ------------------------------------------------------------------ GTINs
@pytest.mark.parametrize(
    "code,gtin,sym",
    [
        ("614141000036", "00614141000036", None),  # GTIN-12 (UPC-A), GS1 GenSpecs example
        ("]E00614141000036", "00614141000036", "UPC-A"),  # UPC-A sent as 13 digits under ]E0
        ("]E0614141000036", "00614141000036", "UPC-A"),  # ...or as 12
        ("]E05901234123457", "05901234123457", "EAN-13"),
        ("]E496385074", "00000096385074", "EAN-8"),
        ("]E004252614", "00042100005264", "UPC-E"),  # UPC-E compressed, expanded to UPC-A
        ("]E3590123412345712", "05901234123457", "EAN-13 with add-on"),
        ("]E359012341234571234 5".replace(" ", ""), "05901234123457", "EAN-13 with add-on"),
        ("10614141000033", "10614141000033", None),  # GTIN-14, indicator 1
        ("]I110614141000033", "10614141000033", "ITF-14"),
        ("  5901234123457\r\n", "05901234123457", None),  # scanner suffix CR LF
        ("５９０１２３４１２３４５７", "05901234123457", None),  # full-width digits from an IME
    ],
)
def test_gtins(code, gtin, sym):
    r = p(code)
    assert (r.kind, r.gtin, r.symbology, r.variable_measure) == ("gtin", gtin, sym, False)


def test_gtin_check_digits_of_every_length():
    assert check_digit("10614141000033"[:-1]) == 3
    for body in ("9638507", "61414100003", "590123412345", "1061414100003"):
        good = with_check(body)
        assert p(good).gtin == good.zfill(14)
        bad = body + str((check_digit(body) + 3) % 10)
        with pytest.raises(BarcodeError) as e:
            p(bad)
        assert e.value.code == "invalid_check_digit"
        assert isinstance(e.value, ValidationError) and e.value.status == 400


def test_a_13_digit_number_starting_22_is_a_gtin_not_element_string_22():
    code = with_check("221234567890")
    r = p(code)
    assert r.kind == "gtin" and r.gtin == "0" + code
    # with a wrong check digit it is an error, never re-read as AI (22)
    with pytest.raises(BarcodeError) as e:
        p("221234567890" + str((check_digit("221234567890") + 1) % 10))
    assert e.value.code == "invalid_check_digit"
    # with the GS1-128 AIM id it IS AI (22) (consumer product variant) and names no GTIN
    r = p("]C1" + "2212345678900")
    assert r.kind == "gs1" and r.gtin is None


# ------------------------------------------------------------------ GS1 element strings
@pytest.mark.parametrize(
    "aim,name",
    [
        ("]C1", "GS1-128"),
        ("]e0", "GS1 DataBar"),
        ("]d2", "GS1 DataMatrix"),
        ("]Q3", "GS1 QR Code"),
        ("]J1", "GS1 DotCode"),
        ("", None),
    ],
)
def test_element_string_with_every_aim_prefix(aim, name):
    r = p(f"{aim}0109506000134352{GS}10ABC123{GS}21SER-9{GS}17260200")
    assert r.symbology == name
    assert (r.kind, r.gtin, r.lot, r.serial, r.expiry) == ("gs1", "09506000134352", "ABC123", "SER-9", "2026-02-28")


def test_expiry_day_00_is_the_last_day_of_the_month():
    assert p("]C10109506000134352172402 00".replace(" ", "")).expiry == "2024-02-29"
    assert p("]C1010950600013435215251100").best_before == "2025-11-30"


def test_bad_dates():
    with pytest.raises(BarcodeError) as e:
        p("]C1010950600013435217251301")
    assert e.value.code == "invalid_date"


@pytest.mark.parametrize("sub", ["|", "~", "#", "^"])
def test_gs_substitute(sub):
    code = f"]C10109506000134352{sub}10LOT7{sub}21S1{sub}"
    r = p(code, gs_substitute=sub)
    assert (r.lot, r.serial) == ("LOT7", "S1")


def test_without_the_substitute_configured_the_lot_swallows_the_rest():
    # The scanner dropped GS and sends '|' but the store set no substitute: '|' is not valid GS1 data.
    with pytest.raises(BarcodeError):
        p("]C1010950600013435210LOT7|21S1", gs_substitute="")


@pytest.mark.parametrize("bad", ["A", "1", "-", "||", "\x07"])
def test_invalid_gs_substitute_setting(bad):
    with pytest.raises(ValidationError) as e:
        p("]C10109506000134352", gs_substitute=bad)
    assert e.value.code == "invalid_gs_substitute"


def test_weights_and_prices():
    r = p(f"]C10195012345678903{GS}3103001234{GS}3922001599", currency="CNY")
    assert (r.gtin, r.weight_g, r.price_minor, r.currency, r.variable_measure) == (
        "95012345678903",
        1234,
        1599,
        "CNY",
        True,
    )
    assert p("]C101950123456789033102000150").weight_g == 1500  # 1.50 kg
    assert p("]C101950123456789033100000002").weight_g == 2000  # 2 kg
    assert p("]C101950123456789033105123456").weight_g == 1235  # 1.23456 kg, rounded to the gram
    assert p("]C101950123456789033202000100").weight_g == 454  # 1.00 lb
    assert p("]C1019501234567890339220001599", currency="USD").price_minor == 1599
    assert p("]C101950123456789033920042", currency="USD").price_minor == 4200  # whole dollars


@pytest.mark.parametrize(
    "ai_value,minor,cur",
    [
        ("3932978001234", 1234, "EUR"),
        ("39303920000500", 500, "JPY"),
        ("3933414001234", 1234, "KWD"),
        ("3932840000099", 99, "USD"),
        ("3932156012345", 12345, "CNY"),
    ],
)
def test_393n_price_with_iso4217_numeric_currency(ai_value, minor, cur):
    r = p("]C10109506000134352" + ai_value)
    assert (r.price_minor, r.currency) == (minor, cur)


def test_price_finer_than_the_minor_unit_and_unknown_currency():
    with pytest.raises(BarcodeError) as e:
        p("]C101095060001343523923001234", currency="CNY")  # 1.234 CNY
    assert e.value.code == "invalid_price"
    with pytest.raises(BarcodeError) as e:
        p("]C101095060001343523932999001234")
    assert e.value.code == "unknown_currency"


def test_counts_and_sscc():
    assert p(f"]C10109506000134352{GS}3024").count == 24
    r = p(f"]C10209506000134352{GS}3748")
    assert (r.gtin, r.count) == ("09506000134352", 48)
    r = p("]C100106141411234567897")
    assert (r.kind, r.gtin) == ("gs1", None)


def test_gtin_inside_element_string_with_bad_check_digit():
    with pytest.raises(BarcodeError) as e:
        p("]C10109506000134353")
    assert e.value.code == "invalid_check_digit"
    with pytest.raises(BarcodeError) as e:
        p(f"0109506000134353{GS}10ABC")
    assert e.value.code == "invalid_check_digit"


def test_without_aim_an_element_string_must_start_with_00_01_02():
    assert p(f"0109506000134352{GS}10ABC").lot == "ABC"
    with pytest.raises(BarcodeError) as e:
        p("10ABC")
    assert e.value.code == "unparseable"
    assert p("]C110ABC").lot == "ABC"


def test_human_readable_form_typed_by_hand():
    r = p("(01)09506000134352(17)261231(10)AB-1")
    assert (r.gtin, r.expiry, r.lot) == ("09506000134352", "2026-12-31", "AB-1")


# ------------------------------------------------------------------ GS1 Digital Link
@pytest.mark.parametrize(
    "uri,expect",
    [
        ("https://id.gs1.org/01/09506000134352", {"gtin": "09506000134352"}),
        (
            "https://example.com/01/09506000134352/10/ABC123/21/SN42",
            {"gtin": "09506000134352", "lot": "ABC123", "serial": "SN42"},
        ),
        (
            "https://example.com/01/09506000134352/10/L1?17=270630&3103=000500&3922=1999",
            {"lot": "L1", "expiry": "2027-06-30", "weight_g": 500, "price_minor": 1999},
        ),
        ("HTTPS://ID.GS1.ORG/01/09506000134352/21/X", {"gtin": "09506000134352", "serial": "X"}),  # QR alnum mode
        ("]Q3https://id.gs1.org/01/09506000134352", {"symbology": "GS1 QR Code"}),
        ("]Q1https://id.gs1.org/01/09506000134352", {"symbology": "QR Code", "gtin": "09506000134352"}),
        ("]d2https://id.gs1.org/01/09506000134352", {"symbology": "GS1 DataMatrix"}),
    ],
)
def test_digital_link(uri, expect):
    r = p(uri).to_dict()
    assert r["kind"] == "gs1"
    for k, v in expect.items():
        assert r[k] == v, (k, r)


@pytest.mark.parametrize(
    "uri", ["https://example.com/", "https://example.com/products/123", "https://id.gs1.org/01/09506000134353"]
)
def test_not_a_digital_link(uri):
    with pytest.raises(BarcodeError):
        p(uri)


# ------------------------------------------------------------------ variable-measure labels
def us_label(item: str, cents: int, *, price_check: bool = True) -> str:
    from biip.checksums import gs1_price_weight_check_digit

    price = f"{cents:04d}" if price_check else f"{cents:05d}"
    body = "2" + item + (str(gs1_price_weight_check_digit(price)) if price_check else "") + price
    return with_check(body)


def test_us_price_label_with_price_check_digit():
    code = us_label("12345", 349)
    assert code == "212345703496"
    for form in (code, "0" + code, "]E00" + code):
        r = p(form, region="US")
        assert (r.kind, r.price_minor, r.currency, r.variable_measure) == ("variable_measure", 349, "USD", True)
        assert r.base_gtin == "00212345000007" and r.item_ref == "12345"
    # a wrong price check digit, with the GTIN check digit made right again, is still refused
    body = "2123456" + "0349"
    with pytest.raises(BarcodeError) as e:
        p(with_check(body), region="US")
    assert e.value.code == "invalid_price_check_digit"


def test_us_price_label_without_price_check_digit():
    code = us_label("12345", 12999, price_check=False)
    r = p(code, region="US", rcn_layouts=("US-NOCHECK",))
    assert (r.price_minor, r.item_ref, r.base_gtin) == (12999, "12345", "00212345000007")


def test_without_a_region_a_restricted_number_is_an_opaque_gtin():
    r = p("212345703496")
    assert (r.kind, r.variable_measure, r.price_minor) == ("gtin", False, None)


def test_cn_layouts():
    code = with_check("22" + "04131" + "01086")
    r = p(code, region="CN", currency="CNY")
    assert (r.kind, r.price_minor, r.currency, r.item_ref) == ("variable_measure", 1086, "CNY", "04131")
    assert r.base_gtin == "0" + with_check("22041310000" + "0")
    r = p(code, region="CN", rcn_layouts=("CN-WEIGHT",))
    assert (r.weight_g, r.price_minor) == (1086, None)


def test_custom_layout_from_settings():
    layout = {
        "name": "deli",
        "prefixes": ["29"],
        "pattern": "PPIIIIVVVVVVK",
        "measure": "weight",
        "decimals": 0,
        "weight_unit": "g",
    }
    code = with_check("29" + "0042" + "000750")
    r = p(code, rcn_layouts=(layout,))
    assert (r.weight_g, r.item_ref) == (750, "0042")
    # another prefix does not match the layout: just a restricted GTIN
    assert p(with_check("28" + "0042" + "000750"), rcn_layouts=(layout,)).kind == "gtin"
    count_layout = {"prefixes": ["25"], "pattern": "PPIIIIIICVVVVK"[:0] + "PPIIIIIIVVVVK", "measure": "count"}
    assert p(with_check("25" + "123456" + "0012"), rcn_layouts=(count_layout,)).count == 12


@pytest.mark.parametrize(
    "bad",
    [
        "NOPE",
        {"pattern": "PIIIIICVVVV", "prefixes": ["2"], "measure": "price"},  # 11 long
        {"pattern": "PIIIIICVVVVK", "prefixes": ["20"], "measure": "price"},  # prefix length
        {"pattern": "PIIIIICVVVVK", "prefixes": ["2"], "measure": "volume"},
        {"pattern": "PIVIIICVVVVK", "prefixes": ["2"], "measure": "price"},  # V not contiguous
        {"pattern": "PIIIIICVVVVK", "prefixes": ["2"], "measure": "price", "currency": "XXX"},
        {"pattern": "PIIIIICVVVVK", "prefixes": ["2"], "measure": "price", "colour": "red"},
        {"pattern": "PIIICVVVVVVK", "prefixes": ["2"], "measure": "price"},  # C with 6 V digits
    ],
)
def test_invalid_layouts_are_config_errors(bad):
    with pytest.raises(ValidationError) as e:
        compile_layout(bad)
    assert e.value.code == "invalid_rcn_layout"


def test_builtin_layouts_compile():
    for name in BUILTIN_LAYOUTS:
        compile_layout(name)


def test_biip_regions():
    r = p("2302148210869", region="NO")
    assert (r.weight_g, r.base_gtin, r.item_ref) == (1086, "02302148200006", "021482")
    # GB price label 20 + item + price check digit + 4-digit price (biip's rules); currency GBP
    from biip.checksums import gs1_price_weight_check_digit

    code = with_check("2012345" + str(gs1_price_weight_check_digit("0150")) + "0150")
    r = p(code, region="GB")
    assert (r.price_minor, r.currency) == (150, "GBP")
    bad = with_check("2012345" + str((gs1_price_weight_check_digit("0150") + 1) % 10) + "0150")
    with pytest.raises(BarcodeError) as e:
        p(bad, region="GB")
    assert e.value.code == "invalid_price_check_digit"


# ------------------------------------------------------------------ StoreHub codes
@pytest.mark.parametrize(
    "code,kind,value",
    [
        ("SHL-A01-01", "location", "A01-01"),
        ("shl-a01-01", "location", "A01-01"),
        ("]C0SHL-BACK.2", "location", "BACK.2"),
        ("SHB-BADGE-associate", "badge", "BADGE-associate"),
        ("SHO-PO-2026-0042", "order", "PO-2026-0042"),
        ("]Q1SHO-web:123/4", "order", "web:123/4"),
    ],
)
def test_own_codes(code, kind, value):
    r = p(code)
    assert (r.kind, r.own_code, r.gtin) == (kind, value, None)


@pytest.mark.parametrize(
    "code,err",
    [
        ("SHL-", "invalid_location_code"),
        ("SHL-A 1", "invalid_location_code"),
        ("SHB-", "invalid_badge_code"),
        ("SHO-" + "x" * 80, "invalid_order_code"),
    ],
)
def test_bad_own_codes(code, err):
    with pytest.raises(BarcodeError) as e:
        p(code)
    assert e.value.code == err


# ------------------------------------------------------------------ garbage
@pytest.mark.parametrize(
    "code,err",
    [
        ("", "empty_code"),
        ("   \r\n", "empty_code"),
        ("]E0", "empty_code"),
        ("x" * 513, "too_long"),
        ("5" * 100_000, "too_long"),
        ("5901234\x00123457", "invalid_characters"),
        ("59012341234\x0757", "invalid_characters"),
        ("\x1b[A", "invalid_characters"),
        ("牛奶", "invalid_characters"),
        ("590123412345\x7f", "invalid_characters"),
        ("hello world", "unparseable"),
        ("12345", "unparseable"),
        ("]E0ABCDEFGHIJKLM", "unparseable"),
        ("]E012345", "unparseable"),
        ("]E1", "empty_code"),
        ("]E112", "unparseable"),
        ("]", "unparseable"),
        ("]W0abc", "unparseable"),
        ("0105901234123457garbage", "unparseable"),
        ("SHX-1", "unparseable"),
        ("]C1" + GS, "unparseable"),
    ],
)
def test_garbage(code, err):
    with pytest.raises(BarcodeError) as e:
        p(code)
    assert e.value.code == err
    assert e.value.to_dict()["error"]["code"] == err


def test_non_string_input():
    with pytest.raises(BarcodeError):
        parse(None)  # type: ignore[arg-type]
