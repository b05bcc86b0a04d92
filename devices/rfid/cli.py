"""``storehub agent rfid`` and ``storehub sim rfid`` (registered on the groups in devices/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from devices.common.cli_options import agent_options, build_config, setup_logging


@click.command("rfid")
@agent_options
@click.option(
    "--source",
    type=click.Choice(["llrp", "zebra-mqtt", "impinj-mqtt", "impinj-stream"]),
    required=True,
    help="How the reader delivers tag reads",
)
@click.option("--batch-ms", default=500, show_default=True, type=int, help="How often folded reads are published")
def agent_rfid(config_file, store, device, broker, username, password, state_dir, opts, log_level, source, batch_ms):
    """Fixed RFID reader → evt/tags. LLRP (-o host=... [-o antennas=1,2]), Zebra/Impinj via their MQTT
    topic (-o topic=...) or the R700 HTTP stream (-o url=...)."""
    setup_logging(log_level)
    from devices.rfid.agent import RfidAgent, make_source

    cfg = build_config(config_file, store, device, broker, username, password, state_dir, opts)
    try:
        src = make_source(source, cfg.options, cfg)
    except (ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    RfidAgent(cfg, src, batch_ms=batch_ms).run_forever()


@click.command("rfid")
@click.option("--broker", envvar="STOREHUB_MQTT_URL", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option("--store", default="store-001", show_default=True)
@click.option("--reader", default="sim-rfid-1", show_default=True, help="Reader (device) id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["zebra", "impinj", "storehub"]),
    default="storehub",
    show_default=True,
    help="storehub: evt/tags on the bus; zebra/impinj: the vendor's JSON on "
    "zebra/<reader>/data or impinj/<reader>/events (bridge with agent rfid)",
)
@click.option("--tags", default=5000, show_default=True, help="Tagged items in the store")
@click.option("--zones", default=10, show_default=True)
@click.option("--rate", default=800, show_default=True, help="Raw reads per second")
@click.option("--dwell", default=5.0, show_default=True, help="Seconds per zone")
@click.option("--duration", default=None, type=float, help="Stop after this many seconds (default: run forever)")
@click.option(
    "--hub-data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Tag the items and bins of this hub's catalog instead of a synthetic one",
)
@click.option("--log-level", default="INFO")
def sim_rfid(broker, store, reader, fmt, tags, zones, rate, dwell, duration, hub_data_dir, log_level):
    """A fixed reader sweeping a demo store: thousands of tags, repeats, stray reads from the next zone."""
    setup_logging(log_level)
    from devices.sim.rfid import demo_store, run, synthetic_gtins, zones_from_hub

    zs = (
        zones_from_hub(hub_data_dir, tags=tags, zones=zones)
        if hub_data_dir
        else demo_store(synthetic_gtins(max(1, tags // 10)), zones=zones, tags=tags)
    )
    n = run(broker=broker, store=store, reader=reader, fmt=fmt, zones=zs, rate=rate, duration_s=duration, dwell_s=dwell)
    click.echo(
        json.dumps(
            {"reader": reader, "format": fmt, "raw_reads": n, "zones": len(zs), "tags": sum(len(z.epcs) for z in zs)}
        )
    )
