"""`storehub barcode parse` is a fixed interface: one JSON object, or an error object and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.identify.barcode import RESULT_KEYS
from tests.support.common import VECTORS_FILE

ROOT = Path(__file__).resolve().parents[2]
STOREHUB = ROOT / ".venv" / "bin" / "storehub"
VECTORS = json.loads(VECTORS_FILE.read_text())


def run_cli(*args: str, env: dict | None = None) -> tuple[int, dict]:
    proc = subprocess.run(
        [str(STOREHUB), "barcode", "parse", *args, "--json"], capture_output=True, text=True, timeout=60, env=env
    )
    return proc.returncode, json.loads(proc.stdout)


def test_subprocess_prints_exactly_the_documented_keys():
    rc, out = run_cli("]C1010590123412345715210526")
    assert rc == 0
    assert list(out) == list(RESULT_KEYS)
    assert out["gtin"] == "05901234123457"
    assert out["best_before"] == "2021-05-26"
    assert out["symbology"] == "GS1-128"
    assert out["lot"] is None and out["weight_g"] is None and out["variable_measure"] is False


def test_subprocess_error_object_and_exit_code():
    rc, out = run_cli("5901234123458")
    assert rc != 0
    assert set(out) == {"error"}
    assert out["error"]["code"] == "invalid_check_digit"
    assert "check digit" in out["error"]["message"]


def test_subprocess_region_and_gs_substitute():
    rc, out = run_cli("2302148210869", "--region", "NO")
    assert rc == 0 and out["weight_g"] == 1086 and out["base_gtin"] == "02302148200006" and out["variable_measure"]
    rc, out = run_cli("]C10107032069804988100329~15210526", "--gs-substitute", "~")
    assert rc == 0 and out["lot"] == "0329" and out["best_before"] == "2021-05-26"


@pytest.mark.parametrize("vec", VECTORS["barcodes"], ids=lambda v: repr(v["input"]))
def test_cli_runner_reference_vectors(vec):
    args = ["barcode", "parse", vec["input"], "--json"]
    if vec.get("region"):
        args += ["--region", vec["region"]]
    res = CliRunner().invoke(main, args, env={"STOREHUB_DATA_DIR": ""})
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for k, v in vec["expect"].items():
        assert out[k] == v, (k, out)


@pytest.mark.parametrize(
    "code,err",
    [
        ("", "empty_code"),
        ("hello", "unparseable"),
        ("12345", "unparseable"),
        ("]C1", "empty_code"),
        ("]W0abc", "unparseable"),
        ("x" * 2000, "too_long"),
        ("]C10105901234123457\x1d17211301", "invalid_date"),
    ],
)
def test_cli_runner_errors(code, err):
    res = CliRunner().invoke(main, ["barcode", "parse", code, "--json"], env={"STOREHUB_DATA_DIR": ""})
    assert res.exit_code == 1
    assert json.loads(res.output) == {"error": {"code": err, "message": json.loads(res.output)["error"]["message"]}}


def test_cli_uses_the_hubs_settings_when_given_a_data_dir(tmp_path):
    from hub.kernel import settings
    from hub.store import initialise, open_db

    _cfg, db = open_db(tmp_path / "hub")
    initialise(db, store_id="s1", currency="USD", region="US")
    with db.write() as conn:
        settings.put(conn, "gs_substitute", "#")
    db.close()
    # UPC-A 2-12345-7-0349-6: item 12345, price check digit 7, $3.49
    res = CliRunner().invoke(main, ["barcode", "parse", "212345703496", "--json", "--data-dir", str(tmp_path / "hub")])
    out = json.loads(res.output)
    assert res.exit_code == 0, res.output
    assert (out["kind"], out["price_minor"], out["currency"]) == ("variable_measure", 349, "USD")
    res = CliRunner().invoke(
        main, ["barcode", "parse", "]C10105901234123457#3922000349", "--json", "--data-dir", str(tmp_path / "hub")]
    )
    out = json.loads(res.output)
    assert (out["price_minor"], out["currency"]) == (349, "USD")
    # --region overrides the hub's region: without it the label is an opaque restricted GTIN.
    res = CliRunner().invoke(
        main, ["barcode", "parse", "212345703496", "--json", "--region", "SE", "--data-dir", str(tmp_path / "hub")]
    )
    assert json.loads(res.output)["kind"] == "gtin"


def test_human_output_without_json():
    res = CliRunner().invoke(main, ["barcode", "parse", "SHL-A01-01"], env={"STOREHUB_DATA_DIR": ""})
    assert res.exit_code == 0
    assert "location" in res.output and "A01-01" in res.output


def test_barcode_config_validates_and_saves(tmp_path):
    hub = str(tmp_path / "hub")
    res = CliRunner().invoke(
        main,
        [
            "barcode",
            "config",
            "--data-dir",
            hub,
            "--region",
            "us",
            "--gs-substitute",
            "~",
            "--layouts",
            '["US-NOCHECK"]',
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["barcode_region"] == "US"
    # 2 12345 12999 K: $129.99 without a price check digit
    res = CliRunner().invoke(main, ["barcode", "parse", "212345129999", "--json", "--data-dir", hub])
    out = json.loads(res.output)
    assert (out["price_minor"], out["currency"]) == (12999, "USD"), out
    for args, err in (
        (["--region", "USA"], "invalid_barcode_region"),
        (["--gs-substitute", "A"], "invalid_gs_substitute"),
        (["--layouts", '[{"pattern": "PIIIIICVVVV"}]'], "invalid_rcn_layout"),
    ):
        res = CliRunner().invoke(main, ["barcode", "config", "--data-dir", hub, *args])
        assert res.exit_code == 1 and json.loads(res.output)["error"]["code"] == err
    res = CliRunner().invoke(main, ["barcode", "config", "--data-dir", hub])
    assert json.loads(res.output)["rcn_layouts"] == ["US-NOCHECK"]
