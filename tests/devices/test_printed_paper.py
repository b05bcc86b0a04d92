"""Printed documents fit the paper: every line the ESC/POS simulator decodes is at most the paper's columns wide
(CJK counted as two, double size as twice), long names wrap instead of being cut, labels follow the document's
language and times print as the local time the hub sent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wcwidth import wcwidth

from devices.printer.agent import print_once
from devices.printer.documents import layout, local_time, wrap
from devices.printer.render import render
from devices.sim.escpos_decode import decode
from devices.sim.printer import PrinterSim, overflow

PAPERS = (32, 42, 48)  # 58 mm; 80 mm in 42-column mode; 80 mm font A
NAME = "StoreHub 演示超市 Demo Supermarket"
LONG_ITEM = "金田茉莉香米 Golden Field Jasmine Rice Premium Harvest 5kg"
LONG_WORD = "SUPERCALIFRAGILISTICEXPIALIDOCIOUS-EXTRA-LONG-SKU-NAME"

DOCS = {
    "receipt": {
        "type": "receipt",
        "lang": "zh-CN",
        "store_name": NAME,
        "order_id": "1001",
        "cashier": "王芳 Wang Fang",
        "ts": "2026-03-02T06:05:07+08:00",
        "currency": "CNY",
        "total_minor": 1234567,
        "lines": [{"name": LONG_ITEM, "qty": 2, "amount_minor": 1234500}, {"name": LONG_WORD, "amount_minor": 67}],
        "paid_minor": 1300000,
        "change_minor": 65433,
        "footer": ["谢谢惠顾，欢迎再次光临！Thank you for shopping with us, see you again soon"],
        "barcode": {"symbology": "code128", "value": "SHO-10001234"},
    },
    "shelf_label": {
        "type": "shelf_label",
        "lang": "zh-CN",
        "name": LONG_ITEM,
        "name_zh": "金田茉莉香米特级新米五公斤装",
        "price_minor": 1234567,
        "currency": "CNY",
        "unit": "kg",
        "gtin": "02302148000002",
        "promo": "第二件半价 Second one half price this week only",
        "sku": "GR-00000",
        "location": "A01-01-1",
    },
    "pick_label": {
        "type": "pick_label",
        "lang": "zh-CN",
        "order_id": "1001",
        "pick_id": "P-77",
        "picker": "李强 Li Qiang",
        "items": [
            {"sku": "GR-1", "name": LONG_ITEM, "qty": 3, "bin": "A01-01-1"},
            {"sku": "PR-1", "name": "苹果(按公斤) Apples per kg", "qty": 750, "unit": "g"},
        ],
    },
    "pack_label": {
        "type": "pack_label",
        "lang": "zh-CN",
        "order_id": "1001",
        "order_code": "SHO-1001",
        "customer": "欧阳娜娜 Ouyang Nana-Christina",
        "ship_to": ["上海市静安区南京西路1788号国际会所大厦28楼"],
        "items": [{"sku": "GR-00000", "name": LONG_ITEM, "qty": 2}],
        "weight_g": 2350,
        "note": "配送 / 网店 — leave with the concierge if nobody answers",
    },
    "text": {"type": "text", "lines": [LONG_WORD + " " + LONG_ITEM]},
}


def _columns(text: str) -> int:
    """Columns as a CJK printer prints them, counted independently of the layout's own rule."""
    return sum(2 if wcwidth(c) == 2 else 1 for c in text)


def _text_elements(job) -> list[dict]:
    return [e for e in job.elements if e["type"] == "text"]


@pytest.mark.parametrize("columns", PAPERS)
@pytest.mark.parametrize("kind", sorted(DOCS))
def test_every_document_fits_the_paper_and_loses_nothing(kind, columns):
    doc = DOCS[kind]
    jobs = decode(render(layout(doc, columns), width=columns, cjk=True))
    job = jobs[0]
    assert overflow(job, columns) == []
    for el in _text_elements(job):
        assert _columns(el["text"]) * el["width"] <= columns, el
    printed = "".join(job.lines).replace(" ", "")
    for word in (LONG_ITEM, LONG_WORD, NAME, "谢谢惠顾", "欧阳娜娜 Ouyang Nana-Christina", "国际会所大厦28楼"):
        if word.split()[0] in str(doc):
            assert word.replace(" ", "") in printed or word.split()[0] in printed, word
    if kind == "receipt":
        assert LONG_ITEM.replace(" ", "") in printed and LONG_WORD in printed
        # amounts are never wrapped or cut: each sits whole at the right edge of its line
        assert any(line.endswith("CNY 12345.00") for line in job.lines)
        assert any(line.endswith("CNY 0.67") for line in job.lines)


def test_receipt_of_a_chinese_store_on_58mm():
    with PrinterSim(render_png=False, columns=32) as sim:
        print_once(sim.url, DOCS["receipt"], width=32, cjk=True)
        job = sim.wait_for_jobs(1)[0]
    assert job["overflow"] == [] and job["paper_columns"] == 32
    big = [e["text"] for e in job["elements"] if e["type"] == "text" and e["width"] == 2]
    assert "".join(big).replace(" ", "") == NAME.replace(" ", "")  # the store name whole, on 3 lines
    assert "时间：2026-03-02 06:05" in job["lines"] and "订单：1001" in job["lines"]
    assert any(line.startswith("合计") and line.endswith("CNY 12345.67") for line in job["lines"])
    assert any(line.startswith("找零") for line in job["lines"])
    assert not any("TOTAL" in line or "Time" in line for line in job["lines"])
    assert job["barcodes"] == [{"symbology": "code128", "value": "SHO-10001234"}]


def test_english_labels_stay_english():
    doc = {**DOCS["receipt"], "lang": "en"}
    lines = decode(render(layout(doc, 42), width=42, cjk=True))[0].lines
    assert "Time: 2026-03-02 06:05" in lines and any(line.startswith("TOTAL") for line in lines)
    assert not any("合计" in line for line in lines)


def test_times_print_as_the_sender_stated_them():
    assert local_time("2026-03-02T06:05:07+08:00") == "2026-03-02 06:05"
    assert local_time("2026-03-01T22:05:07.123Z") == "2026-03-01 22:05 UTC"  # not localised: says so
    assert local_time("yesterday") == "yesterday"


def test_the_simulator_counts_columns_from_the_bytes():
    # GS ! 0x11 (double), "AB", Kanji mode "王", back, newline: (1 + 1 + 2) columns × 2
    job = decode(b"\x1d!\x11AB\x1c&" + "王".encode("gb18030") + b"\x1c.\n\x1d!\x00-\n")[0]
    assert [(e["text"], e["columns"]) for e in _text_elements(job)] == [("AB王", 8), ("-", 1)]
    # a Code 128 of 12 characters with the default 3-dot modules is wider than 58 mm (384 dots)
    wide = decode(b"\x1dkI\x0e{BSHO-10001234")[0]
    assert wide.barcodes[0]["value"] == "SHO-10001234"
    assert overflow(wide, 32) == [
        {"type": "barcode", "value": "SHO-10001234", "dots": (11 * 14 + 13 + 20) * 3}
    ]  # start+12+check, stop, quiet


@settings(max_examples=80, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab 1-王芳演示超市éß×"), min_size=1, max_size=120),
    st.integers(min_value=8, max_value=64),
)
def test_wrap_fits_any_width_and_keeps_every_character(text, columns):
    lines = wrap(text, columns)
    assert all(_columns(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
