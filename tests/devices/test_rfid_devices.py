"""Reader-side pieces: the simulator's payloads read back by the adapters, the agent's folding (LLRP: test_rfid_llrp.py)."""

from __future__ import annotations

import base64
import json
import time

from devices.rfid.agent import Folder
from devices.sim import rfid as simrfid
from hub.protocol import contract, epc, rfid_formats


def test_simulator_sweeps_with_repeats_strays_and_misses():
    gtins = simrfid.synthetic_gtins(50)
    assert all(epc.check_digit(g[:13]) == g[13] for g in gtins)
    zones = simrfid.demo_store(gtins, zones=5, tags=1000)
    assert sum(len(z.epcs) for z in zones) == 1000 + 5 + 2
    sim = simrfid.SweepSimulator(zones, rate=1000, tick_ms=50, dwell_s=1.0, seed=3, start_ms=1_700_000_000_000)
    ticks = list(sim.ticks(40))  # 2 s: two zones
    reads = [r for t in ticks for r in t]
    assert 1800 <= len(reads) <= 2000  # ~1,000 reads/s less the missing tags
    first_zone = set(zones[0].epcs)
    in_zone = [r for r in ticks[0] if r.epc in first_zone]
    strays = [r for r in ticks[0] if r.epc not in first_zone]
    assert in_zone and all(-60 <= r.rssi <= -42 for r in in_zone)
    assert strays and all(-80 <= r.rssi <= -68 for r in strays)
    assert len({r.epc for r in reads}) < len(reads) / 2  # the same tags over and over
    assert not any(r.epc in sim.missing for r in reads if r.epc in first_zone)


def test_simulator_payloads_read_back_exactly():
    zones = simrfid.demo_store(simrfid.synthetic_gtins(10), zones=2, tags=100)
    reads = simrfid.SweepSimulator(zones, rate=400, seed=5, start_ms=1_774_682_413_000).tick()
    for fmt, parser in (("zebra", rfid_formats.parse_zebra), ("impinj", rfid_formats.parse_impinj)):
        single = simrfid.render(fmt, reads, reader="fx-1")
        assert len(single) == len(reads)
        got = [r for p in single for r in parser(p).reads]
        assert [(r.epc, r.antenna, r.rssi, r.first_ms) for r in got] == [
            (r.epc, r.antenna, r.rssi, r.first_ms) for r in reads
        ]
        batched = simrfid.render(fmt, reads, batched=True)
        assert len(parser(batched[0]).reads) == len(reads)
    imp = json.loads(simrfid.render("impinj", reads[:1])[0])
    assert "epcHex" not in imp["tagInventoryEvent"]  # the R700's default: base64 epc
    assert base64.b64decode(imp["tagInventoryEvent"]["epc"]).hex().upper() == reads[0].epc
    zeb = json.loads(simrfid.render("zebra", reads[:1])[0])
    assert zeb["timestamp"].endswith("+0000") and zeb["data"]["idHex"] == reads[0].epc.lower()
    (ev,) = simrfid.render("storehub", reads)
    data = contract.decode_event("tags", ev)
    assert sum(r["count"] for r in data["reads"]) == len(reads)


def test_agent_folder_keeps_every_read():
    f = Folder()
    r = rfid_formats.TagRead("3034257BF7194E4000001A85", 1, -50.0, 1, 1000, 1000)
    f.add([r] * 700 + [r._replace(antenna=2, rssi=-70.0)] * 5)
    out = f.drain()
    assert sorted((x["antenna"], x["count"]) for x in out) == [(1, 700), (2, 5)]
    assert f.drain() == [] and f.raw == 705


def test_demo_count_tags_the_hubs_shelf_stock(tmp_path):
    """``storehub demo`` opens a guided RFID count; the simulated reader tags what the books say is on four
    bins, so a sweep reads nearly all of it and the review shows the ~2% it never read as losses."""
    from hub.demo.runner import seed_store
    from hub.stocktake import demo, ingest, variance
    from hub.store import open_db

    seed_store(tmp_path, "demo-test")
    bins = demo.seed(tmp_path)
    assert len(bins) == 4 and demo.seed(tmp_path) == bins  # idempotent
    zones = simrfid.zones_from_hub(tmp_path, tags=2000, zones=4)
    assert [z.antenna for z in zones] == [1, 2, 3, 4]
    _cfg, db = open_db(tmp_path)
    try:
        ing = ingest.TagIngest(db)
        sim = simrfid.SweepSimulator(zones, rate=2000, dwell_s=2, seed=1)
        for _ in range(200):
            ing.feed(demo.READER, sim.tick())
        ing.flush()
        sid = db.read().execute("SELECT id FROM count_sessions").fetchone()[0]
        rep = variance.report(db.read(), sid)
        t = rep["totals"]
        assert t["expected_units"] > 300 and t["counted_units"] <= t["expected_units"]
        assert 90 <= t["unit_accuracy_pct"] <= 100 and t["gain_cost_minor"] == 0
        assert rep["rfid"]["cases_pallets"] == 4 and rep["rfid"]["out_of_scope"] == 0
    finally:
        db.close()


def test_impinj_http_stream_source_reads_lines_and_reconnects():
    """A real HTTP server streaming R700 events (one JSON object per line, blank keep-alives) that drops the
    connection after each burst: the source reads every tag and reconnects."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from devices.rfid.agent import ImpinjStreamSource

    ev = {
        "timestamp": "2021-07-09T23:35:59.278427551Z",
        "hostname": "impinj-13-f8-f5",
        "tagInventoryEvent": {"epcHex": "3034257BF7194E4000001A85", "antennaPort": 1, "peakRssiCdbm": -2650},
    }
    connections = []

    class Stream(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            connections.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for line in (json.dumps(ev), "", json.dumps(ev), ""):
                self.wfile.write((line + "\n").encode())
                self.wfile.flush()
            self.close_connection = True

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Stream)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    got, errors = [], []
    src = ImpinjStreamSource(f"http://127.0.0.1:{srv.server_port}/api/v1/data/stream")
    src.bind(got.extend, lambda hb: None, errors.append)
    src.start()
    end = time.monotonic() + 10
    while (len(connections) < 2 or len(got) < 4) and time.monotonic() < end:
        time.sleep(0.05)  # the second burst is read after its connection is accepted
    src.stop()
    srv.shutdown()
    assert len(connections) >= 2 and connections[0] == "/api/v1/data/stream"
    assert len(got) >= 4 and {r.epc for r in got} == {"3034257BF7194E4000001A85"} and got[0].rssi == -26.5
