"""``storehub agent <kind>`` and ``storehub sim <kind>``.

Other areas add their own kinds with ``agent.add_command(...)`` / ``sim.add_command(...)``. Each command
imports its agent or simulator only when it runs, so ``storehub agent --help`` loads no hardware library
(serial, evdev, escpos) and no JSON Schema validators.
"""

from __future__ import annotations

import json

import click

from devices.common.cli_options import agent_options, build_config, setup_logging
from devices.rfid.cli import agent_rfid, sim_rfid


@click.group()
def agent():
    """Run a device agent next to its hardware (bridges it to the hub's MQTT bus)."""


@click.group()
def sim():
    """Simulated devices speaking the real wire protocols (for tests and the demo)."""


@agent.command("scale")
@agent_options
@click.option("--port", help="Serial port, or 'auto' to probe")
@click.option("--protocol", type=click.Choice(["auto", "mt-sics", "toledo-8217"]))
def agent_scale(config_file, store, device, broker, username, password, state_dir, opts, log_level, port, protocol):
    """Serial scale (MT-SICS, Toledo 8217): publishes stable weights, answers cmd/tare and cmd/zero."""
    setup_logging(log_level)
    from devices.scale.agent import ScaleAgent

    cfg = build_config(
        config_file, store, device, broker, username, password, state_dir, opts, {"port": port, "protocol": protocol}
    )
    ScaleAgent(cfg).run_forever()


@sim.command("scale")
@click.option("--protocol", type=click.Choice(["mt-sics", "toledo-8217"]), default="mt-sics", show_default=True)
@click.option("--link", required=True, help="Create this symlink to the pty (the agent's --port)")
@click.option("--log-level", default="INFO")
def sim_scale(protocol, link, log_level):
    """A scale on a pseudo-terminal; the load changes every few seconds."""
    setup_logging(log_level)
    from devices.sim.scale import run

    run(protocol, link)


@agent.command("printer")
@agent_options
@click.option("--connection", help="tcp://host:9100 | serial:///dev/ttyUSB0?baudrate=19200 | usb://04b8:0202")
def agent_printer(config_file, store, device, broker, username, password, state_dir, opts, log_level, connection):
    """ESC/POS printer: cmd/print {document} prints once per request_id; reports paper/offline."""
    setup_logging(log_level)
    from devices.printer.agent import PrinterAgent

    cfg = build_config(
        config_file, store, device, broker, username, password, state_dir, opts, {"connection": connection}
    )
    try:
        a = PrinterAgent(cfg)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    a.run_forever()


@agent.command("scanner")
@agent_options
@click.option("--mode", type=click.Choice(["evdev", "serial"]))
@click.option("--input", "input_dev", help="evdev device path or name:<part of its name>")
@click.option("--layout", help="Keyboard layout the scanner is set to (us, uk, de, be, fr)")
@click.option("--port", help="Serial/CDC port")
def agent_scanner(
    config_file, store, device, broker, username, password, state_dir, opts, log_level, mode, input_dev, layout, port
):
    """Barcode scanner (keyboard wedge via evdev, or serial/CDC): publishes evt/scan."""
    setup_logging(log_level)
    from devices.scanner.agent import ScannerAgent

    cfg = build_config(
        config_file,
        store,
        device,
        broker,
        username,
        password,
        state_dir,
        opts,
        {"mode": mode, "input": input_dev, "layout": layout, "port": port},
    )
    try:
        a = ScannerAgent(cfg)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    a.run_forever()


@sim.command("printer")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int, help="TCP port (0: any free port)")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="Jobs land here as JSON + PNG")
@click.option("--http-port", type=int, default=None, help="Serve a page showing the printed jobs")
@click.option("--log-level", default="INFO")
def sim_printer(host, port, out_dir, http_port, log_level):
    """An ESC/POS network printer that decodes each job into text, barcodes, QR codes and a PNG."""
    setup_logging(log_level)
    from devices.sim.printer import run

    run(host, port, out_dir, http_port)


@sim.command("scanner")
@click.option("--link", required=True, help="Create this symlink to the pty (the agent's --port)")
@click.option("--code", "codes", multiple=True, help="Codes to scan in turn (AIM prefix included)")
@click.option("--interval", default=5.0, show_default=True, type=float)
@click.option("--log-level", default="INFO")
def sim_scanner(link, codes, interval, log_level):
    """A serial/CDC scanner on a pseudo-terminal sending codes with a CR LF suffix."""
    setup_logging(log_level)
    from devices.sim.serial_scanner import run

    run(link, list(codes) or ["]E05901234123457", "]E096385074"], interval)


@sim.command("wedge")
@click.argument("text")
@click.option("--layout", default="us", show_default=True)
def sim_wedge(text, layout):
    """Print the evdev (type, code, value) events a keyboard-wedge scanner on LAYOUT sends for TEXT."""
    from devices.scanner.keystrokes import keystrokes

    text = text.replace("\\x1d", "\x1d")
    try:
        events = keystrokes(text, layout)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for ev in events:
        click.echo(json.dumps(ev))


@sim.command("shelf")
@click.option("--store", required=True)
@click.option("--device", "devices_", multiple=True, required=True, help="Shelf sensor id (repeatable)")
@click.option("--broker", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option("--interval", default=10.0, show_default=True, type=float)
@click.option("--log-level", default="INFO")
def sim_shelf(store, devices_, broker, interval, log_level):
    """Shelf sensors (ESP32 + HX711) publishing exactly like firmware_configs/esphome/shelf-sensor.yaml."""
    setup_logging(log_level)
    from devices.sim.shelf import run

    run(store, list(devices_), broker, interval)


# RFID readers live in devices/rfid (stocktake area).
agent.add_command(agent_rfid)
sim.add_command(sim_rfid)


def _sim_payments(kind: str):
    """``storehub sim wechatpay`` / ``storehub sim alipay``: the provider's endpoint on this machine."""

    @sim.command(
        kind,
        help=f"{'WeChat Pay micropay' if kind == 'wechatpay' else 'Alipay trade.pay (bar_code)'} "
        "simulator over HTTP; the payment code's last 4 digits pick the scenario (docs/checkout.md)",
    )
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=0, help="TCP port (0: any free one, printed)")
    @click.option("--hub-config", help="Write the merchant credentials for this simulator into this payments.json")
    @click.option(
        "--delay",
        "delay_s",
        type=float,
        default=5.0,
        show_default=True,
        help="Seconds the timeout and slow-success scenarios hold their answer",
    )
    @click.option("--log-level", default="INFO")
    def _cmd(host, port, hub_config, delay_s, log_level):
        setup_logging(log_level)
        from devices.sim.payments import run

        run(kind, host, port, hub_config, delay_s)

    return _cmd


sim_wechatpay, sim_alipay = _sim_payments("wechatpay"), _sim_payments("alipay")


@sim.command(
    "terminal",
    help="Integrated bank-card terminal simulator on TCP (generic ECR framing: STX … ETX LRC, ACK/NAK); the "
    "amount's last two digits pick the customer's behaviour (devices/sim/terminal.py, docs/checkout.md)",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=0, help="TCP port (0: any free one, printed)")
@click.option("--delay", "delay_s", type=float, default=1.0, show_default=True, help="Seconds the customer takes")
@click.option("--log-level", default="INFO")
def sim_terminal(host, port, delay_s, log_level):
    setup_logging(log_level)
    from devices.sim.terminal import run

    run(host, port, delay_s)
