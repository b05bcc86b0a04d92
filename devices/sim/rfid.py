"""A simulated fixed RFID reader sweeping a demo store.

The store is a list of zones (bins/racks), each with its tagged items: thousands
of SGTIN-96 EPCs (plus a few cases, an SSCC pallet and some foreign tags). The
reader's antennas each face one zone and the sweep moves from zone to zone.
Each tick (default 50 ms) it produces what a real reader reports at its rate
(default 800 raw reads/s): the tags of the current zone over and over with
RSSI around −45…−60 dBm, stray reads from the next zone at −68…−80 dBm, and a
share of tags that are never read (shrink). The reads are rendered in a
chosen reader format — Zebra IoT Connector objects, Impinj R700 events or our
own ``evt/tags`` batches — and published to MQTT (``run``), or handed to the
caller (``SweepSimulator.ticks`` / ``render``; used by the bench and tests).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hub.protocol.broker import BrokerURL
from hub.protocol.epc import check_digit, encode_sgtin96
from hub.protocol.rfid_formats import TagRead, aggregate, ms_iso

log = logging.getLogger(__name__)

FORMATS = ("zebra", "impinj", "storehub")


@dataclass
class Zone:
    code: str
    antenna: int
    epcs: list[str] = field(default_factory=list)


def synthetic_gtins(n: int, *, prefix: str = "6901234") -> list[str]:
    """``n`` valid GTIN-14s under one company prefix (demo catalog)."""
    out = []
    for i in range(n):
        body = "0" + prefix + f"{i:05d}"
        out.append(body + check_digit(body))
    return out


def demo_store(
    gtins: list[str], *, zones: int = 10, tags: int = 5000, seed: int = 7, zone_codes: list[str] | None = None
) -> list[Zone]:
    """Spread ``tags`` serialised item tags of ``gtins`` over ``zones`` zones, plus a few non-item tags."""
    rnd = random.Random(seed)
    codes = zone_codes or [f"Z{z + 1:02d}" for z in range(zones)]
    out = [Zone(code, (z % 4) + 1) for z, code in enumerate(codes)]
    per_gtin: dict[str, int] = {}
    for i in range(tags):
        g = gtins[i % len(gtins)]
        per_gtin[g] = per_gtin.get(g, 0) + 1
        z = out[(i % len(gtins)) % len(out)] if len(gtins) >= len(out) else out[i % len(out)]
        z.epcs.append(encode_sgtin96(g, 1000 + per_gtin[g], filter=1, company_prefix_digits=7))
    for z in out:
        z.epcs.append(encode_sgtin96(gtins[0], 900_000 + rnd.randrange(1000), filter=2, company_prefix_digits=7))
    out[0].epcs.append("3174257BF4499602D2000000")  # an SSCC pallet label
    out[-1].epcs.append("E28011700000020D2A412182")  # an unprogrammed tag
    return out


class SweepSimulator:
    def __init__(
        self,
        zones: list[Zone],
        *,
        rate: int = 800,
        tick_ms: int = 50,
        dwell_s: float = 5.0,
        stray_share: float = 0.05,
        miss_share: float = 0.02,
        seed: int = 11,
        start_ms: int | None = None,
    ):
        self.zones = zones
        self.rate = rate
        self.tick_ms = tick_ms
        self.dwell_ticks = max(1, int(dwell_s * 1000 / tick_ms))
        self.stray_share = stray_share
        self.rnd = random.Random(seed)
        self.missing = {e for z in zones for e in z.epcs if self.rnd.random() < miss_share}
        self.now_ms = start_ms if start_ms is not None else int(time.time() * 1000)
        self.tick_no = 0

    @property
    def zone_index(self) -> int:
        return (self.tick_no // self.dwell_ticks) % len(self.zones)

    def tick(self) -> list[TagRead]:
        """One tick of raw reads (each read is one inventory round response: count 1)."""
        z = self.zones[self.zone_index]
        nxt = self.zones[(self.zone_index + 1) % len(self.zones)]
        n = max(1, self.rate * self.tick_ms // 1000)
        rnd = self.rnd
        reads = []
        for _ in range(n):
            t = self.now_ms + rnd.randrange(self.tick_ms)
            if rnd.random() < self.stray_share and nxt.epcs:
                e = nxt.epcs[rnd.randrange(len(nxt.epcs))]
                reads.append(TagRead(e, z.antenna, float(rnd.randint(-80, -68)), 1, t, t))
                continue
            e = z.epcs[rnd.randrange(len(z.epcs))]
            if e in self.missing:
                continue
            reads.append(TagRead(e, z.antenna, float(rnd.randint(-60, -42)), 1, t, t))
        self.now_ms += self.tick_ms
        self.tick_no += 1
        return reads

    def ticks(self, count: int) -> Iterator[list[TagRead]]:
        for _ in range(count):
            yield self.tick()


# ------------------------------------------------------------------------------------------------ rendering


def zebra_object(r: TagRead, event_num: int) -> dict:
    """One Zebra IoT Connector tag data event (CUSTOM mode), as the reader sends it."""
    ts = ms_iso(r.first_ms).replace("Z", "+0000")
    return {
        "data": {
            "antenna": r.antenna,
            "channel": 866.3,
            "eventNum": event_num,
            "format": "epc",
            "idHex": r.epc.lower(),
            "peakRssi": int(r.rssi),
            "phase": 0.0,
            "reads": r.count,
        },
        "timestamp": ts,
        "type": "CUSTOM",
    }


def impinj_event(r: TagRead, hostname: str, *, hex_epc: bool = False) -> dict:
    """One Impinj R700 ``tagInventoryEvent`` (``epc`` base64 by default, as the reader's default config)."""
    ev = {"antennaPort": r.antenna, "peakRssiCdbm": int(r.rssi * 100), "transmitPowerCdbm": 3000, "frequency": 920250}
    if hex_epc:
        ev["epcHex"] = r.epc
    else:
        ev["epc"] = base64.b64encode(bytes.fromhex(r.epc)).decode()
    return {"timestamp": ms_iso(r.first_ms)[:-1] + "123456Z", "hostname": hostname, "tagInventoryEvent": ev}


def render(
    fmt: str, reads: list[TagRead], *, reader: str = "sim-rfid", event_num: int = 0, batched: bool = False
) -> list[bytes]:
    """MQTT payloads for ``reads`` in reader format ``fmt`` (Zebra: one object per message unless batched)."""
    if fmt == "zebra":
        objs = [zebra_object(r, event_num + i) for i, r in enumerate(reads)]
        if batched:
            return [json.dumps(objs, separators=(",", ":")).encode()]
        return [json.dumps(o, separators=(",", ":")).encode() for o in objs]
    if fmt == "impinj":
        evs = [impinj_event(r, reader) for r in reads]
        if batched:
            return [json.dumps(evs, separators=(",", ":")).encode()]
        return [json.dumps(e, separators=(",", ":")).encode() for e in evs]
    if fmt == "storehub":
        from hub.protocol import contract

        agg = aggregate(reads)
        return [contract.encode(contract.make_event("tags", reads=agg[i : i + 2000])) for i in range(0, len(agg), 2000)]
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def vendor_topic(fmt: str, reader: str) -> str:
    """Where a real reader of that make would be configured to publish tag events."""
    return {"zebra": f"zebra/{reader}/data", "impinj": f"impinj/{reader}/events"}[fmt]


def run(
    *,
    broker: str,
    store: str,
    reader: str,
    fmt: str,
    zones: list[Zone],
    rate: int,
    duration_s: float | None,
    dwell_s: float = 5.0,
) -> int:
    """Publish a sweep to MQTT until ``duration_s`` passes (or forever). Returns raw reads published."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from hub.protocol import contract

    url = BrokerURL.parse(broker)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-rfid-{reader}", protocol=mqtt.MQTTv311)
    if url.username:
        client.username_pw_set(url.username, url.password)
    status = contract.status_topic(store, reader)
    if fmt == "storehub":
        client.will_set(status, "offline", qos=1, retain=True)
    client.connect(url.host, url.port, keepalive=15)
    client.loop_start()
    if fmt == "storehub":
        client.publish(status, "online", qos=1, retain=True)
        client.publish(
            contract.info_topic(store, reader),
            contract.encode(
                contract.make_info(
                    "rfid", "StoreHub simulated reader", "sim-1", ["tags", "start_inventory", "stop_inventory"]
                )
            ),
            qos=1,
            retain=True,
        )
    sim = SweepSimulator(zones, rate=rate, dwell_s=dwell_s)
    topic = contract.event_topic(store, reader, "tags") if fmt == "storehub" else vendor_topic(fmt, reader)
    qos = 1 if fmt == "storehub" else 0
    published = 0
    t_end = time.monotonic() + duration_s if duration_s else None
    next_tick = time.monotonic()
    pending: list[TagRead] = []
    last_batch = time.monotonic()
    event_num = 0
    try:
        while t_end is None or time.monotonic() < t_end:
            reads = sim.tick()
            published += len(reads)
            if fmt == "storehub":  # an agent batches reads (≈ every 500 ms)
                pending += reads
                if time.monotonic() - last_batch >= 0.5:
                    for p in render(fmt, pending):
                        client.publish(topic, p, qos=qos)
                    pending, last_batch = [], time.monotonic()
            else:
                for p in render(fmt, reads, reader=reader, event_num=event_num):
                    client.publish(topic, p, qos=qos)
                event_num += len(reads)
            next_tick += sim.tick_ms / 1000
            time.sleep(max(0.0, next_tick - time.monotonic()))
        if pending:
            for p in render(fmt, pending):
                client.publish(topic, p, qos=qos).wait_for_publish(5)
    finally:
        if fmt == "storehub":
            client.publish(status, "offline", qos=1, retain=True).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
    log.info("sim rfid %s: %d raw reads published in %s format", reader, published, fmt)
    return published


HUB_DB_FILE = "hub.db"  # a hub data directory's database (``hub.kernel.config.HubConfig.db_path``)


def zones_from_hub(data_dir, *, tags: int, zones: int) -> list[Zone]:
    """Tag what the hub's books say is on its first ``zones`` bins (``each`` items, one tag per unit, at most
    ``tags`` in all), so a sweep counts real shelf stock. Antenna ``z+1`` faces the z-th bin.

    Reads the hub's SQLite database in ``data_dir`` directly (SELECTs only), so the simulator needs nothing of
    the hub but its file."""
    path = Path(data_dir) / HUB_DB_FILE
    if not path.is_file():
        raise ValueError(f"no hub database at {path} (storehub init first)")
    conn = sqlite3.connect(path, timeout=30)
    bins = conn.execute(
        "SELECT l.id, l.code FROM locations l WHERE l.kind = 'bin' AND EXISTS (SELECT 1 FROM stock s"
        " JOIN items i ON i.id = s.item_id WHERE s.location_id = l.id AND s.on_hand > 0 AND"
        " i.unit = 'each') ORDER BY l.walk_seq, l.code LIMIT ?",
        (zones,),
    ).fetchall()
    out: list[Zone] = []
    budget = tags
    for z, (loc_id, code) in enumerate(bins):
        zone = Zone(code, z + 1)
        rows = conn.execute(
            "SELECT MIN(g.gtin), s.on_hand FROM stock s JOIN items i ON i.id = s.item_id"
            " JOIN item_gtins g ON g.item_id = i.id WHERE s.location_id = ? AND s.on_hand > 0 AND i.unit = 'each'"
            " AND g.gtin NOT LIKE '02%' GROUP BY i.id ORDER BY i.sku",
            (loc_id,),
        ).fetchall()
        for gtin, on_hand in rows:
            for serial in range(min(on_hand, budget)):
                zone.epcs.append(encode_sgtin96(gtin, 10_000 + serial, filter=1, company_prefix_digits=7))
            budget -= min(on_hand, budget)
        if zone.epcs:
            zone.epcs.append(encode_sgtin96(rows[0][0], 900_000 + z, filter=2, company_prefix_digits=7))  # a case
            out.append(zone)
    conn.close()
    if not out:
        raise ValueError("the hub has no shelf stock of 'each' items with GTINs to tag")
    return out
