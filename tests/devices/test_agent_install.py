"""``pip install storehub[agent]`` is enough for a device agent host: the device protocol, every module under
``devices/`` and the agent/simulator command lines work without the hub's web and database stack."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUB_STACK = ("flask", "sqlalchemy", "psycopg", "gunicorn", "alembic")

# Runs in a fresh interpreter: a sys.meta_path finder refuses the hub's stack, then every module of the
# device protocol and of devices/ is imported and the CLI paths an agent host uses are run.
PROBE = r"""
import importlib, importlib.abc, pkgutil, runpy, sys

REFUSED = set(sys.argv[1].split(","))


class RefuseHubStack(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in REFUSED:
            raise ImportError(f"an agent host has no {name}")
        return None


sys.meta_path.insert(0, RefuseHubStack())
import devices
import hub.protocol

names = []
for pkg in (hub.protocol, devices):
    names.append(pkg.__name__)
    names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print("imported", len(names))


def run_cli(*argv):
    sys.argv = ["storehub", *argv]
    try:
        runpy.run_module("hub.cli", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        assert exc.code in (0, None), (argv, exc.code)


run_cli("agent", "--help")
run_cli("sim", "--help")
for kind in ("scale", "printer", "scanner", "rfid"):
    run_cli("agent", kind, "--help")
for kind in ("scale", "printer", "scanner", "wedge", "shelf", "rfid"):
    run_cli("sim", kind, "--help")
run_cli("sim", "wedge", "A1")
loaded = sorted({m.partition(".")[0] for m in sys.modules} & REFUSED)
assert not loaded, loaded
print("agent host OK")
"""


def _probe(refused: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(refused)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_protocol_devices_and_agent_cli_import_without_the_hub_stack():
    r = _probe(HUB_STACK)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert "agent host OK" in r.stdout
    assert "Run a device agent next to its hardware" in r.stdout  # storehub agent --help
    assert "[1, 28, 1]" in r.stdout  # sim wedge: Enter key down
    n = int(re.search(r"imported (\d+)", r.stdout).group(1))
    assert n >= 40  # hub.protocol + devices/**


def test_the_probe_notices_a_refused_package():
    """The finder really refuses: a package every agent imports (paho) makes the same probe fail."""
    r = _probe(HUB_STACK + ("paho",))
    assert r.returncode != 0 and "an agent host has no paho" in r.stderr


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_agent_install_names_none_of_the_hub_stack():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    agent = [_name(r) for r in project["dependencies"] + extras["agent"]]
    assert agent and "paho-mqtt" in agent
    assert not set(agent) & set(HUB_STACK), agent
    hub = {_name(r) for r in extras["hub"]}
    assert set(HUB_STACK) <= hub  # the hub extra brings them
    assert "storehub" in {_name(r) for r in extras["dev"]} and any(
        "hub" in r.split("[", 1)[-1].rstrip("]").split(",") for r in extras["dev"] if "[" in r
    )


def test_the_rfid_simulator_reads_the_hubs_database_file(tmp_path):
    """``sim rfid --hub-data-dir`` opens the hub's SQLite file without importing the hub: same file name."""
    from devices.sim import rfid as simrfid
    from hub.kernel.config import HubConfig

    assert tmp_path / simrfid.HUB_DB_FILE == HubConfig(data_dir=tmp_path).db_path


def test_broker_url_protocol_levels_are_pahos():
    import paho.mqtt.client as mqtt

    from hub.protocol.broker import MQTT_V5, MQTT_V311, BrokerURL

    assert (MQTT_V5, MQTT_V311) == (mqtt.MQTTv5, mqtt.MQTTv311)
    assert BrokerURL.parse("mqtts://u:p%40@h?protocol=311").protocol == mqtt.MQTTv311
