"""Printer: python-escpos bytes decoded by the simulator byte-for-byte (reference vectors), documents rendered
and decoded back, and the agent on the real Mosquitto — print round trip, paper out, one request_id printing
once even across an agent restart."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from escpos.printer import Dummy

from devices.common.config import AgentConfig
from devices.printer.agent import PrinterAgent, print_once
from devices.printer.documents import DocumentError, layout, validate
from devices.printer.journal import Journal
from devices.printer.render import render
from devices.sim.escpos_decode import EscposDecoder, PrinterState, decode
from devices.sim.printer import PrinterSim
from hub.protocol import contract
from tests.support.common import VECTORS_FILE
from tests.support.devices import SHARED_BROKER, Watcher, unique_store

VECTORS = json.loads(VECTORS_FILE.read_text())["escpos_python_escpos_3_1"]


def _dummy_bytes(call: str) -> bytes:
    p = Dummy(profile="TM-T88V")
    eval("p." + call, {"p": p})
    return p.output


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["call"])
def test_python_escpos_emits_reference_bytes_and_sim_decodes_them(v):
    data = bytes.fromhex(v["bytes_hex"])
    assert _dummy_bytes(v["call"]) == data
    jobs = decode(data)
    if v["call"] == "hw('INIT')":
        assert jobs == []
    elif v["call"] == "cut()":
        assert jobs[0].cut is True and jobs[0].nbytes == 6
    elif v["call"].startswith("cashdraw"):
        assert jobs[0].to_dict()["drawer"] is True
    elif v["call"].startswith("qr"):
        qr = [e for e in jobs[0].elements if e["type"] == "qr"][0]
        assert (qr["value"], qr["size"], qr["ec"]) == ("hello", 3, "L")


def test_decoder_handles_split_commands_and_status_requests():
    state = PrinterState()
    d = EscposDecoder(state)
    data = _dummy_bytes("barcode('5901234123457', 'EAN13', function_type='A')") + b"Hi\n" + b"\x10\x04\x04"
    replies = b""
    for i in range(len(data)):  # one byte at a time, as a slow link would deliver it
        replies += d.feed(data[i : i + 1])
    assert replies == b"\x12"  # paper ok
    state.paper = "out"
    assert d.feed(b"\x10\x04\x04") == b"\x7e"  # near-end and end bits: python-escpos reads 0 (no paper)
    assert d.feed(b"\x10\x04\x01") == b"\x1a"  # offline bit set
    jobs = d.close()
    assert jobs[0].barcodes == [{"symbology": "ean13", "value": "5901234123457"}]
    assert jobs[0].lines == ["Hi"]
    # the EAN-13 went as GS k m=2 NUL-terminated
    assert b"\x1dk\x025901234123457\x00" in data


def test_unknown_commands_are_recorded_not_guessed():
    jobs = decode(b"\x1b\x40ok\n\x1d\xfe\x1b\x8f")
    assert jobs[0].lines == ["ok"]
    assert jobs[0].unknown == ["GS 0xfe", "ESC 0x8f"]


PACK = {
    "type": "pack_label",
    "order_id": "ord-7",
    "order_code": "SHO-1001",
    "customer": "王芳 Wang Fang",
    "ship_to": ["88 Nanjing Rd", "Shanghai"],
    "parcel": "1/2",
    "weight_g": 2350,
    "items": [{"sku": "MILK-1L", "name": "Milk 1L", "qty": 2}],
    "qr": "https://hub.local/o/SHO-1001",
}


def test_documents_render_and_decode_back():
    jobs = decode(render(layout(PACK), cjk=True))
    assert len(jobs) == 1
    j = jobs[0].to_dict()
    assert j["lines"][0] == "SHO-1001" and "王芳 Wang Fang" in j["lines"] and "Parcel 1/2" in j["lines"]
    assert "Weight: 2.350 kg" in j["lines"] and "2 x Milk 1L (MILK-1L)" in j["lines"]
    assert j["barcodes"] == [{"symbology": "code128", "value": "SHO-1001"}]
    assert j["qr"] == ["https://hub.local/o/SHO-1001"] and j["cut"] is True and j["unknown"] == []
    title = j["elements"][0]
    assert title["bold"] and title["align"] == "center" and title["width"] == 2

    shelf = {
        "type": "shelf_label",
        "name": "Apples",
        "name_zh": "苹果",
        "price_minor": 1200,
        "currency": "CNY",
        "unit": "kg",
        "gtin": "02302148000002",
    }
    j = decode(render(layout(shelf), cjk=True))[0]
    assert j.lines == ["Apples", "苹果", "CNY 12.00 /kg"]
    assert j.barcodes == [{"symbology": "ean13", "value": "2302148000002"}]

    receipt = {
        "type": "receipt",
        "store_name": "Demo",
        "currency": "CNY",
        "total_minor": 3750,
        "lines": [{"name": "Milk 1L", "qty": 3, "amount_minor": 3750}],
        "paid_minor": 4000,
        "change_minor": 250,
        "open_drawer": True,
        "barcode": {"symbology": "ean13", "value": "5901234123457"},
    }
    j = decode(render(layout(receipt)))
    assert j[0].lines[-3].startswith("TOTAL") and j[0].lines[-3].endswith("CNY 37.50")
    assert len(j[0].lines[-3]) == 42
    # the drawer kick follows the cut: it is a job of its own on the wire
    assert any(e["type"] == "drawer" for job in j for e in job.elements)


@pytest.mark.parametrize(
    "doc,msg",
    [
        ({"type": "flyer"}, "unknown document type"),
        ({"type": "pack_label"}, "order_id"),
        (
            {"type": "shelf_label", "name": "x", "price_minor": 1, "currency": "CNY", "gtin": "5901234123458"},
            "check digit",
        ),
        ({"type": "receipt", "lines": [], "total_minor": 0, "currency": "CNY"}, "lines"),
        ({"type": "text", "lines": ["a"], "colour": "red"}, "Additional properties"),
        ("not a dict", "JSON object"),
    ],
)
def test_bad_documents_get_clear_errors(doc, msg):
    with pytest.raises(DocumentError, match=msg):
        validate(doc)


def test_print_once_and_png(tmp_path):
    with PrinterSim(out_dir=tmp_path / "paper") as sim:
        print_once(sim.url, PACK, cjk=True)
        job = sim.wait_for_jobs(1)[0]
    assert job["qr"] == [PACK["qr"]]
    saved = json.loads(Path(job["json_path"]).read_text())
    assert saved["lines"] == job["lines"]
    from PIL import Image

    with Image.open(job["png_path"]) as im:
        assert im.width == 576 and im.height > 300


def test_status_query_and_silent_printers():
    from devices.printer.connection import open_printer, query_status

    with PrinterSim(render_png=False) as sim:
        p = open_printer(sim.url)
        try:
            assert (query_status(p).online, query_status(p).paper) == (True, "ok")
            sim.state.paper = "low"
            assert query_status(p).paper == "low"
            sim.state.paper = "out"
            assert (query_status(p).online, query_status(p).paper) == (False, "out")
        finally:
            p.close()
    with PrinterSim(render_png=False, answer_status=False) as sim:
        p = open_printer(sim.url)
        try:
            st = query_status(p, timeout=0.3)
            assert (st.online, st.paper) == (None, None)
        finally:
            p.close()


def test_unreachable_printer_is_offline():
    from devices.printer.connection import PrinterOffline, open_printer
    from tests.support.devices import free_port

    with pytest.raises(PrinterOffline, match="cannot reach"):
        open_printer(f"tcp://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(PrinterOffline, match="cannot reach"):
        open_printer("serial:///dev/ttyNOPRINTER0")
    with pytest.raises(PrinterOffline, match="cannot reach"):
        open_printer("usb://04b8:0e15")  # no such USB device here
    with pytest.raises(ValueError, match="unsupported"):
        open_printer("lpt://1")


def test_journal_marks_interrupted_jobs_uncertain(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.begin("r1", "h")
    j.set("r1", "sending")
    j.close()
    j = Journal(tmp_path / "j.sqlite")
    assert j.get("r1")["state"] == "uncertain"
    j.close()


# ------------------------------------------------------------------ the agent on the real broker
def _start_agent(store, state_dir, sim_url):
    cfg = AgentConfig(
        store=store,
        device="printer-1",
        broker="mqtt://127.0.0.1:1883",
        state_dir=state_dir,
        options={"connection": sim_url, "cjk": True, "status_every": 0},
    )
    agent = PrinterAgent(cfg)
    t = threading.Thread(target=agent.run, daemon=True)
    agent.start()
    t.start()
    return agent, t


@pytest.mark.mqtt
def test_print_round_trip_paper_out_and_idempotent_across_restart(tmp_path):
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    with PrinterSim(out_dir=tmp_path / "paper") as sim:
        agent, t = _start_agent(store, tmp_path / "state", sim.url)
        try:
            w.status("printer-1", "online")
            res = w.command("printer-1", "print", {"request_id": "job-1", "document": PACK})
            assert res["ok"] is True, res
            contract.decode_result(json.dumps(res))
            job = sim.wait_for_jobs(1)[0]
            assert job["barcodes"] == [{"symbology": "code128", "value": "SHO-1001"}]
            # the same request again (a redelivery, a retry): answered ok, not printed
            res = w.command("printer-1", "print", {"request_id": "job-1", "document": PACK})
            assert res["ok"] is True
            # paper out: refused with a clear error, health reported, nothing printed
            sim.state.paper = "out"
            res = w.command("printer-1", "print", {"request_id": "job-2", "document": PACK})
            assert res["ok"] is False and "paper out" in res["error"]
            w.wait_for(lambda t_, p: t_.endswith("printer-1/evt/state") and json.loads(p).get("paper") == "out")
            info = json.loads(w.wait_for(lambda t_, p: t_.endswith("printer-1/info") and b'"out"' in p)[1])
            contract.decode_info(json.dumps(info))
            sim.state.paper = "ok"
            # bad document: clear error
            res = w.command("printer-1", "print", {"request_id": "job-3", "document": {"type": "pack_label"}})
            assert res["ok"] is False and "order_id" in res["error"]
        finally:
            agent.stop()
            t.join(5)
        assert len(sim.jobs) == 1
        # a new agent process (same state dir): job-1 is still printed exactly once; job-2 may now print
        agent, t = _start_agent(store, tmp_path / "state", sim.url)
        try:
            # (no hub acknowledges results here, so the new agent also resends the first run's answers: each
            # check looks for the answer to this run's request)
            def answer(rid, body, pred):
                w.messages.clear()
                w.command("printer-1", "print", {"request_id": rid, "document": body})
                return json.loads(
                    w.wait_for(
                        lambda t_, p_: (
                            t_.endswith("printer-1/result")
                            and pred(json.loads(p_))
                            and json.loads(p_).get("request_id") == rid
                        )
                    )[1]
                )

            res = answer("job-1", PACK, lambda r: r.get("details", {}).get("duplicate") is True)
            assert res["ok"] is True and res["details"]["duplicate"] is True
            res = answer("job-2", PACK, lambda r: r["ok"] is True)
            sim.wait_for_jobs(2)
            # the same request_id with a different document is refused
            res = answer("job-1", {**PACK, "parcel": "2/2"}, lambda r: "different document" in (r.get("error") or ""))
            assert res["ok"] is False
        finally:
            agent.stop()
            t.join(5)
            w.close()
        assert len(sim.jobs) == 2


# ------------------------------------------------------------------ robustness (hypothesis)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402 - this section's own imports


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 50), max_size=20))
def test_decoder_never_crashes_and_chunking_does_not_matter(data, cuts):
    whole = EscposDecoder()
    whole.feed(data)
    a = [j.to_dict() for j in whole.close()]
    parts = EscposDecoder()
    i = 0
    for c in cuts:
        parts.feed(data[i : i + c])
        i += c
    parts.feed(data[i:])
    b = [j.to_dict() for j in parts.close()]
    assert a == b


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.isprintable()))
def test_any_printable_text_round_trips_through_the_printer(text):
    j = decode(render(layout({"type": "text", "lines": [text]}), cjk=True))[0]
    expected = "".join(c if _printable(c) else "?" for c in text)
    # wrapped to the paper where it is too wide: the same characters, spaces at the breaks dropped
    assert "".join(j.lines).replace(" ", "") == expected.replace(" ", "")
    assert all(el["columns"] <= 42 for el in j.elements if el["type"] == "text")


def _printable(c: str) -> bool:
    try:
        c.encode("cp437")
        return True
    except UnicodeEncodeError:
        try:
            c.encode("gb18030")
            return True
        except UnicodeEncodeError:
            return False


@pytest.mark.mqtt
def test_cli_simulator_and_agent_processes(tmp_path):
    """`storehub sim printer` and `storehub agent printer` as processes: print through the bus, read the job
    from the simulator's directory, SIGTERM stops the agent gracefully (it says offline itself)."""
    import re
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    sim = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "sim", "printer", "--port", "0", "--out-dir", str(tmp_path / "paper")],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    agent = None
    try:
        port = int(re.search(r"tcp://127\.0\.0\.1:(\d+)", sim.stdout.readline()).group(1))
        agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.cli",
                "agent",
                "printer",
                "--store",
                store,
                "--device",
                "printer-1",
                "--broker",
                "mqtt://127.0.0.1:1883",
                "--state-dir",
                str(tmp_path / "state"),
                "--connection",
                f"tcp://127.0.0.1:{port}",
                "-o",
                "cjk=true",
            ],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        w.status("printer-1", "online", timeout=20)
        res = w.command("printer-1", "print", {"request_id": "cli-1", "document": PACK}, timeout=20)
        assert res["ok"] is True, res
        job_file = tmp_path / "paper" / "job-0001.json"
        end = time.monotonic() + 10
        while not job_file.exists() and time.monotonic() < end:  # the printer decodes after the cut
            time.sleep(0.05)
        job = json.loads(job_file.read_text())
        assert job["barcodes"] == [{"symbology": "code128", "value": "SHO-1001"}] and "王芳 Wang Fang" in job["lines"]
        assert (tmp_path / "paper" / "job-0001.png").stat().st_size > 1000
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(20) == 0
        w.status("printer-1", "offline")
    finally:
        for p in (agent, sim):
            if p and p.poll() is None:
                p.terminate()
                p.wait(10)
        w.close()


def test_a_job_interrupted_while_sending_is_never_resent(tmp_path):
    """The agent died with job-9 half sent: after the restart the same request_id is refused (it may be on
    paper already) and nothing is printed; a new request_id prints."""
    from devices.printer.journal import doc_hash

    state = tmp_path / "state"
    state.mkdir()
    j = Journal(state / "printer-1-jobs.sqlite")
    j.begin("job-9", doc_hash(PACK))
    j.set("job-9", "sending", nbytes=300)
    j.close()
    with PrinterSim(render_png=False) as sim:
        cfg = AgentConfig(
            store="s1",
            device="printer-1",
            broker="mqtt://127.0.0.1:1",
            state_dir=state,
            options={"connection": sim.url, "status_every": 0},
        )
        agent = PrinterAgent(cfg)  # not started: print_document is the command handler itself
        try:
            from devices.common.agent import CommandError

            with pytest.raises(CommandError, match="interrupted while printing"):
                agent.print_document("job-9", PACK)
            assert agent.journal.get("job-9")["state"] == "uncertain"
            assert agent.print_document("job-10", PACK)["bytes"] > 0
            assert len(sim.wait_for_jobs(1)) == 1
            time.sleep(0.2)
            assert len(sim.jobs) == 1
        finally:
            agent.journal.close()
            agent.buffer.close()
