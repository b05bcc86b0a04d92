"""CLI: ``storehub bus``, ``storehub broker`` and ``storehub devices ...``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import quote

import click

from hub.kernel.cliopts import storehub_argv


def _data_dir_option(f):
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="STOREHUB_DATA_DIR",
        default=None,
        help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)",
    )(f)


def _resolve_url(data_dir: Path | None, mqtt_url: str | None) -> str:
    """The broker URL with its password. A password never has to be on a command line (``ps`` shows those to
    every user): ``--mqtt mqtt://user@host`` takes it from ``$STOREHUB_MQTT_PASSWORD``, else from the hub's
    credentials file ``<data-dir>/mqtt/hub-mqtt.json`` (``storehub devices provision``) when the user is its;
    no ``--mqtt`` at all means that file's URL."""
    from hub.kernel.config import HubConfig
    from hub.protocol.broker import BrokerURL

    cfg = HubConfig(data_dir=Path(data_dir).resolve()) if data_dir else HubConfig()
    hub_json = cfg.data_dir / "mqtt" / "hub-mqtt.json"
    saved = json.loads(hub_json.read_text()) if hub_json.exists() else None
    if not mqtt_url:
        if saved:
            return saved["url"]
        raise click.ClickException("no broker: pass --mqtt URL (or provision devices into <data-dir>/mqtt first)")
    url = BrokerURL.parse(mqtt_url)
    if url.username and url.password is None:
        password = os.environ.get("STOREHUB_MQTT_PASSWORD")
        if password is None and saved and saved.get("username") == url.username:
            password = saved.get("password")
        if password is None:
            raise click.ClickException(
                f"no password for broker user {url.username!r}: set STOREHUB_MQTT_PASSWORD "
                f"or provision the hub account into {hub_json.parent}"
            )
        scheme, rest = mqtt_url.split("://", 1) if "://" in mqtt_url else ("mqtt", mqtt_url)
        user, host = rest.split("@", 1)
        return f"{scheme}://{user}:{quote(password, safe='')}@{host}"
    return mqtt_url


def _without_url(argv: list[str]) -> list[str]:
    """``argv`` without ``--mqtt URL`` / ``--mqtt=URL`` (the child gets the URL in its environment)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--mqtt":
            skip = True
        elif not a.startswith("--mqtt="):
            out.append(a)
    return out


@click.command("bus")
@_data_dir_option
@click.option(
    "--mqtt",
    "mqtt_url",
    default=None,
    envvar="STOREHUB_MQTT_URL",
    help="Broker URL, e.g. mqtt://user@127.0.0.1:1883 (mqtts:// for TLS, ?protocol=311 for 3.1.1); "
    "the password comes from $STOREHUB_MQTT_PASSWORD or <data-dir>/mqtt/hub-mqtt.json — keep it "
    "off command lines, which every user sees in ps",
)
@click.option("--client-id", default=None, help="Fixed MQTT client id (default storehub-hub-<store>)")
@click.option(
    "--advertise",
    default=None,
    envvar="STOREHUB_ADVERTISE_ADDRESS",
    help="LAN address to advertise the hub API and broker on with mDNS (off when unset)",
)
@click.option(
    "--api-port",
    default=8000,
    show_default=True,
    type=int,
    envvar="STOREHUB_API_PORT",
    help="Hub API port to advertise",
)
@click.option("--supervise", is_flag=True, help="Run the bus as a child and restart it if it ever crashes")
def bus_command(data_dir, mqtt_url, client_id, advertise, api_port, supervise):
    """Run the hub's one device-bus process (MQTT → registry, events, alerts)."""
    from hub.bus.runner import BusLockError, run

    url = _resolve_url(data_dir, mqtt_url)
    if supervise:
        argv = _without_url([a for a in sys.argv[1:] if a != "--supervise"])
        # storehub_argv (python -P): the bus child never imports a hub/ folder of the working directory
        sys.exit(_supervise(storehub_argv(*argv), {**os.environ, "STOREHUB_MQTT_URL": url}))
    from hub.kernel.config import HubConfig

    d = Path(data_dir).resolve() if data_dir else HubConfig().data_dir
    try:
        sys.exit(run(d, url, client_id=client_id, advertise=advertise, api_port=api_port))
    except BusLockError as exc:
        raise click.ClickException(str(exc)) from None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _supervise(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Keep one bus child running: restart it (with back-off) when it dies; SIGTERM stops both.

    Nothing is lost across a restart: the child acks only committed messages."""
    import signal
    import subprocess
    import time

    stopping = {"now": False}
    child: dict = {"p": None}

    def _stop(*_):
        stopping["now"] = True
        if child["p"] is not None and child["p"].poll() is None:
            child["p"].terminate()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    delay = 1.0
    while not stopping["now"]:
        started = time.monotonic()
        child["p"] = subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)
        rc = child["p"].wait()
        if stopping["now"] or rc == 0:
            return 0
        if time.monotonic() - started > 60:
            delay = 1.0
        click.echo(f"storehub bus exited with {rc}; restarting in {delay:.0f}s", err=True)
        time.sleep(delay)
        delay = min(delay * 2, 30.0)
    return 0


@click.command("broker")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1884, show_default=True, type=int)
def broker_command(host, port):
    """Embedded MQTT broker (amqtt) for the demo and development; production uses Mosquitto."""
    from hub.bus.broker import run

    sys.exit(run(host, port))


@click.group("devices")
def devices_group():
    """Store devices on the MQTT bus."""


@devices_group.command("provision")
@_data_dir_option
@click.option("--device", "device_id", required=True, help="Device id, [a-z0-9-]{1,64}")
@click.option("--kind", type=click.Choice(["scanner", "scale", "printer", "rfid", "shelf"]), required=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write passwd, acl and devices/<id>.json (default <data-dir>/mqtt)",
)
@click.option("--store", "store_id", default=None, help="Store id (default: the hub's)")
@click.option("--broker-host", default="127.0.0.1", show_default=True, help="Address devices use for the broker")
@click.option("--broker-port", default=None, type=int, help="Default 1883, or 8883 with --tls")
@click.option(
    "--tls",
    is_flag=True,
    help="Devices connect over TLS (mqtts://) to a broker certificate from the store CA, "
    "written to --out and handed to the device",
)
@click.option("--ca-file", default=None, help="With --tls: the broker's CA of your own instead of the store CA")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--acl-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--rotate", is_flag=True, help="Give the device a new password")
def provision_command(
    data_dir, device_id, kind, out, store_id, broker_host, broker_port, tls, ca_file, password_file, acl_file, rotate
):
    """Create or update a device's broker account, the ACL file and the device's agent config."""
    from hub.bus import registry
    from hub.bus.provision import provision
    from hub.kernel import settings
    from hub.protocol.timeutil import now_iso
    from hub.store import open_db

    cfg, db = open_db(data_dir)
    store_id = store_id or settings.get(db.read(), "store_id")
    out = out or cfg.data_dir / "mqtt"
    try:
        p = provision(
            device_id=device_id,
            kind=kind,
            store_id=store_id,
            out=out,
            broker_host=broker_host,
            broker_port=broker_port or (8883 if tls else 1883),
            tls=tls,
            ca_file=ca_file,
            password_file=password_file,
            acl_file=acl_file,
            rotate=rotate,
            data_dir=cfg.data_dir,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    with db.write() as conn:
        registry.provision(conn, device_id, kind, now_iso())
    db.close()
    click.echo(f"provisioned {device_id} ({kind}): config {p.config_path}")
    click.echo(f"password file {p.password_file} ({p.hasher}), ACL {p.acl_file}; hub account in {out}/hub-mqtt.json")
    click.echo("reload Mosquitto (SIGHUP) so it reads the new files")


@devices_group.command("discover")
@click.option("--timeout", default=3.0, show_default=True, type=float)
@click.option("--interface", default=None, help="Browse on this interface address only")
def discover_command(timeout, interface):
    """Find StoreHub hubs and brokers on the LAN (mDNS)."""
    from hub.protocol.discovery import discover

    for f in discover(timeout, interface=interface):
        click.echo(json.dumps({"service": f.service, "store": f.store_id, "url": f.url, "api": f.api, "tls": f.tls}))


@devices_group.command("decode")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["zebra", "impinj", "llrp", "mt-sics", "toledo-8217"]),
    help="What the file holds: a reader's payload (Zebra IoT Connector JSON, Impinj R700 JSON, LLRP frames "
    "or sllurp dicts) or a scale's reply bytes",
)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON")
def decode_command(fmt, file, as_json):
    """Show what StoreHub makes of a raw reader or scale payload (FILE, or - for stdin), with the agents' own
    parsers. Exit 0: a reading; 1: the device refused or reports an error; 2: not a payload of that format."""
    from hub.bus.decode import BadInput, decode

    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        result, status = decode(fmt, data)
    except (OSError, BadInput) as exc:
        message = f"cannot decode {file} as {fmt}: {exc.strerror if isinstance(exc, OSError) else exc}"
        if as_json:
            click.echo(json.dumps({"error": message}, ensure_ascii=False))
        click.echo(message, err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
    elif "reads" in result:
        for r in result["reads"]:
            rssi = "-" if r["rssi_dbm"] is None else r["rssi_dbm"]
            click.echo(
                f"{r['epc']}  antenna {r['antenna']}  rssi {rssi} dBm  count {r['count']}"
                f"  {r['first_seen']} .. {r['last_seen']}"
            )
        if result["heartbeat"] is not None:
            click.echo(f"heartbeat: {json.dumps(result['heartbeat'], ensure_ascii=False)}")
        click.echo(f"{len(result['reads'])} tag(s) from {result['raw_reads']} read(s)")
        for e in result["errors"]:
            click.echo(f"skipped: {e}", err=True)
    else:
        click.echo(
            f"{result['kind']}: "
            + (f"{result['grams']} g" if result["grams"] is not None else "no weight")
            + (" net" if result["net"] else "")
            + ("" if result["stable"] is None else (" stable" if result["stable"] else " in motion"))
        )
    if status and result.get("error"):
        click.echo(f"error: {result['error']}", err=True)
    sys.exit(status)


@devices_group.command("list")
@_data_dir_option
def list_command(data_dir):
    """Devices the hub knows, with online state and counters."""
    from hub.bus import registry
    from hub.store import open_db

    _cfg, db = open_db(data_dir)
    items, _total = registry.list_devices(db.read(), limit=500)
    for d in items:
        click.echo(
            f"{d['id']:24} {d['kind'] or '?':8} {'online ' if d['online'] else 'offline'} "
            f"last_seen={d['last_seen'] or '-'} events={d['events_total']} rejected={d['rejected_total']}"
        )
