"""What every ``storehub agent <kind>`` command shares: its options, the agent config they build, logging."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _parse_opts(pairs: tuple[str, ...]) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r}: use KEY=VALUE", param_hint="-o")
        k, v = pair.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def agent_options(f):
    """Options every agent takes; the kind-specific ones go in ``-o KEY=VALUE`` or the config file."""
    for opt in reversed(
        [
            click.option(
                "--config",
                "config_file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="JSON or TOML config file (see docs/devices.md)",
            ),
            click.option("--store", help="Store id"),
            click.option("--device", help="This device's id ([a-z0-9-]{1,64})"),
            click.option(
                "--broker",
                envvar="STOREHUB_MQTT_URL",
                help="mqtt://host:port (default: found by mDNS; the agent keeps looking until the hub answers)",
            ),
            click.option("--username"),
            click.option("--password", envvar="STOREHUB_MQTT_PASSWORD"),
            click.option(
                "--state-dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Where the event buffer and job journal live",
            ),
            click.option("-o", "--option", "opts", multiple=True, help="Kind-specific KEY=VALUE (repeatable)"),
            click.option("--log-level", default="INFO", show_default=True),
        ]
    ):
        f = opt(f)
    return f


def build_config(config_file, store, device, broker, username, password, state_dir, opts, extra=None):
    from devices.common.config import load  # loads the contract's validators: only when an agent starts

    try:
        return load(
            config_file,
            store=store,
            device=device,
            broker=broker,
            username=username,
            password=password,
            state_dir=state_dir,
            options={**(extra or {}), **_parse_opts(opts)},
        )
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
