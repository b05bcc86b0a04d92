"""The store CA on the device bus (issue 20): `storehub devices provision --tls` gives Mosquitto a certificate from the
store CA and hands agents the CA; Mosquitto started from the shipped config serves TLS on its LAN listener; a real
agent's events reach the hub's bus through it; an agent refuses a broker whose certificate comes from another
store's CA (nothing published there, a clear log line, back-off) or does not carry the name it dialled; a plain
MQTT client gets nothing from the TLS listener; a renewal of the hub certificate renews the broker's, which
Mosquitto serves after a SIGHUP."""

from __future__ import annotations

import json
import logging
import socket
import ssl
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from devices.common import config as agent_config
from devices.common.agent import DeviceAgent
from hub.bus.mosquitto import Mosquitto, port_open
from hub.bus.provision import provision
from hub.pki import certs, rules, workflow
from hub.protocol.tls import BrokerTrust
from tests.support.bus import STORE, make_hub_db, start_bus, wait_until
from tests.support.common import ROOT, free_port
from tests.support.devices import Watcher

pytestmark = [pytest.mark.mqtt, pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")]


class ScannerAgent(DeviceAgent):
    """The shared agent with nothing device-specific: what is under test is its connection."""

    kind = "scanner"
    model = "tls-test"


def _connect_packet(username: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with credentials, as a plain (non-TLS) client sends it."""

    def s(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("!H", len(raw)) + raw

    body = s("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 30) + s(username) + s(username) + s(password)
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


def _plain_mqtt_reply(port: int, packet: bytes) -> bytes:
    """What a broker port answers to a plain CONNECT: its first 4 bytes, or fewer if it closes (or resets) first."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(packet)
        data = b""
        while len(data) < 4:
            try:
                chunk = sock.recv(4 - len(data))
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def _served_cert(port: int, host: str = "localhost") -> x509.Certificate:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


@pytest.fixture
def store(tmp_path, data_dir):
    """The hub's data directory and database, one device provisioned for TLS, and Mosquitto from the shipped
    config with the provisioned password, ACL and certificate files (plain listener on loopback, TLS listener)."""
    db = make_hub_db(data_dir)
    out = tmp_path / "mqtt"
    plain, tls_port = free_port(), free_port()
    p = provision(
        device_id="scanner-t",
        kind="scanner",
        store_id=STORE,
        out=out,
        broker_host="localhost",
        broker_port=tls_port,
        tls=True,
        data_dir=data_dir,
        hub_port=plain,
    )
    broker = Mosquitto(
        plain,
        tmp_path / "broker",
        password_file=out / "passwd",
        acl_file=out / "acl",
        tls_port=tls_port,
        tls_files=certs.BrokerFiles(out).tls_files(),
    ).start()
    wait_until(lambda: port_open(tls_port), 10)
    try:
        yield {
            "db": db,
            "out": out,
            "plain": plain,
            "tls": tls_port,
            "config": p.config_path,
            "broker": broker,
            "data_dir": data_dir,
        }
    finally:
        broker.stop()
        db.close()


def _agent(config_path: Path, state_dir: Path, **overrides) -> ScannerAgent:
    cfg = agent_config.load(
        config_path, discover=False, state_dir=state_dir, reconnect_min_s=1.0, reconnect_max_s=2.0, **overrides
    )
    return ScannerAgent(cfg)


def test_provisioned_agent_reaches_the_hub_over_tls_from_the_store_ca(tmp_path, store):
    files = certs.PkiFiles.in_data_dir(store["data_dir"])
    ca_pem = certs.ca_bytes(files, "pem").decode()
    cfg = json.loads(store["config"].read_text())
    # the agent is handed the TLS URL and the store CA itself; the hub's own bus stays on the loopback listener
    assert cfg["mqtt"]["url"] == f"mqtts://localhost:{store['tls']}"
    assert cfg["mqtt"]["ca_pem"] == ca_pem
    hub = json.loads((store["out"] / "hub-mqtt.json").read_text())
    assert hub["url"].startswith("mqtt://") and hub["url"].endswith(f"@127.0.0.1:{store['plain']}")
    # Mosquitto serves the broker certificate: issued by the store CA, for localhost, with a key of its own
    served = _served_cert(store["tls"])
    assert served.issuer == certs.load_ca(files).subject
    assert "localhost" in certs.sans(served) and served.serial_number != certs.load_hub(files).serial_number
    assert (store["out"] / "server.key").stat().st_mode & 0o777 == 0o640

    bus = start_bus(store["db"], store["plain"], user=hub["username"], password=hub["password"])
    agent = _agent(store["config"], tmp_path / "agent")
    try:
        agent.start()
        assert agent.connected.wait(15), "the agent did not connect over TLS"
        agent.publish_event("scan", {"code": "TLS-0001"})
        wait_until(
            lambda: (
                store["db"]
                .read()
                .execute("SELECT COUNT(*) FROM device_scans WHERE device_id = 'scanner-t' AND code = 'TLS-0001'")
                .fetchone()[0]
                == 1
            )
        )
        wait_until(lambda: len(agent.buffer) == 0)  # the hub committed it and acknowledged it
    finally:
        agent.stop()
        bus.stop()


def test_a_plain_client_gets_nothing_from_the_tls_listener(store):
    hub = json.loads((store["out"] / "hub-mqtt.json").read_text())
    packet = _connect_packet(hub["username"], hub["password"])
    # the same CONNECT on the loopback listener is accepted (CONNACK, return code 0): the packet is valid
    assert _plain_mqtt_reply(store["plain"], packet) == b"\x20\x02\x00\x00"
    # on the TLS listener it is a broken TLS handshake: closed with at most a TLS alert record (0x15), no CONNACK
    assert _plain_mqtt_reply(store["tls"], packet)[:1] in (b"", b"\x15")


def test_agent_refuses_a_broker_certified_by_another_store_ca(tmp_path, store, caplog):
    # another store's hub: its own CA and a broker certificate for the very same names (localhost)
    other_dir, other_out = tmp_path / "other-hub", tmp_path / "other-mqtt"
    workflow.install_broker(other_dir, "other-store", other_out)
    rogue_tls = free_port()
    rogue = Mosquitto(
        free_port(), tmp_path / "rogue", tls_port=rogue_tls, tls_files=certs.BrokerFiles(other_out).tls_files()
    ).start()  # anonymous: would take anyone
    wait_until(lambda: port_open(rogue_tls), 10)
    watcher = Watcher("127.0.0.1", rogue.port, STORE)
    caplog.set_level(logging.INFO, logger="storehub.agent")
    agent = _agent(store["config"], tmp_path / "agent", broker=f"mqtts://localhost:{rogue_tls}")
    try:
        agent.start()
        agent.publish_event("scan", {"code": "ROGUE-1"})

        def refusals():
            return [
                r
                for r in caplog.records
                if r.name == "storehub.agent.scanner-t" and "refusing the broker" in r.getMessage()
            ]

        wait_until(lambda: len(refusals()) >= 3, 20)
        first, second, third = refusals()[:3]
        for r in (first, second, third):
            assert r.levelno == logging.ERROR
            assert f"localhost:{rogue_tls}" in r.getMessage() and "certificate not trusted" in r.getMessage()
            # Mosquitto sends the other CA along (verify code 19); a broker sending only its own certificate
            # gets "unable to get local issuer certificate" (20)
            assert "verify code 19" in r.getMessage() or "verify code 20" in r.getMessage()
        # back-off: 1 s, then 2 s (reconnect_min_s doubling up to reconnect_max_s), not a tight loop
        assert second.created - first.created >= 0.9 and third.created - second.created >= 1.9
        assert "attempt 1," in first.getMessage() and "attempt 3," in third.getMessage()
        assert not agent.connected.is_set()
        assert len(agent.buffer) == 1  # kept for the real broker
        with watcher.cond:
            assert watcher.messages == []  # no status, no info, no event at the rogue broker
    finally:
        agent.stop()
        watcher.close()
        rogue.stop()


def test_agent_refuses_the_store_broker_under_a_name_it_does_not_carry(store):
    """The hostname check: the store's own broker, dialled as a name its certificate lacks, is refused."""
    cfg = agent_config.load(store["config"], discover=False)
    trust = BrokerTrust(ca_pem=cfg.ca_pem)
    with socket.create_connection(("127.0.0.1", store["tls"]), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError) as err:
            trust.context.wrap_socket(raw, server_hostname="another-hub.lan")
    assert "Hostname mismatch" in err.value.verify_message
    assert trust.take_failure() is err.value
    with socket.create_connection(("127.0.0.1", store["tls"]), timeout=10) as raw:
        with trust.context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert trust.take_failure() is None


def test_an_mqtts_agent_without_the_store_ca_does_not_start(tmp_path):
    """Without the store CA it would have to trust the system's public CAs (or nothing): it refuses to start."""
    cfg = agent_config.AgentConfig(store=STORE, device="scanner-x", broker="mqtts://localhost:8883", state_dir=tmp_path)
    with pytest.raises(ValueError, match="needs the store CA"):
        ScannerAgent(cfg)


def test_broker_certificate_is_renewed_with_the_hub_certificate(store):
    files = certs.PkiFiles.in_data_dir(store["data_dir"])
    broker = certs.BrokerFiles(store["out"])
    first_hub, first_broker = certs.load_hub(files), certs.load_broker(broker)
    # a month before the hub certificate ends both are issued again, for the same names
    later = first_hub.not_valid_after_utc - rules.RENEW_BEFORE + timedelta(hours=1)
    out = workflow.check(store["data_dir"], STORE, now=later)
    assert out.hub_issued == "expiring" and out.brokers_issued == [str(store["out"].resolve())]
    renewed = certs.load_broker(broker)
    assert renewed.serial_number != first_broker.serial_number
    assert renewed.not_valid_after_utc > first_broker.not_valid_after_utc
    assert set(certs.sans(renewed)) == set(certs.sans(certs.load_hub(files)))
    # nothing due: neither is touched
    again = workflow.check(store["data_dir"], STORE, now=later)
    assert again.hub_issued is None and again.brokers_issued == []
    # Mosquitto serves the renewed certificate to new connections after a SIGHUP
    assert _served_cert(store["tls"]).serial_number == first_broker.serial_number
    store["broker"].reload()
    wait_until(lambda: _served_cert(store["tls"]).serial_number == renewed.serial_number, 10, 0.2)


def test_a_lost_broker_certificate_is_issued_again_on_the_next_check(store):
    broker = certs.BrokerFiles(store["out"])
    broker.cert.unlink()
    out = workflow.check(store["data_dir"], STORE, now=datetime.now(UTC))
    assert out.hub_issued is None and out.brokers_issued == [str(store["out"].resolve())]
    assert certs.load_broker(broker).issuer == certs.load_ca(certs.PkiFiles.in_data_dir(store["data_dir"])).subject


def test_cli_provision_tls_uses_the_store_ca_and_refuses_a_public_name(tmp_path):
    def storehub(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
        )

    d, out = tmp_path / "hub", tmp_path / "mqtt"
    assert storehub("init", "--data-dir", str(d), "--store", "s-020").returncode == 0
    res = storehub(
        "devices",
        "provision",
        "--data-dir",
        str(d),
        "--device",
        "scale-1",
        "--kind",
        "scale",
        "--out",
        str(out),
        "--tls",
        "--broker-host",
        "hub.store.lan",
    )
    assert res.returncode == 0, res.stderr
    cfg = json.loads((out / "devices" / "scale-1.json").read_text())
    files = certs.PkiFiles.in_data_dir(d)
    assert cfg["mqtt"]["url"] == "mqtts://hub.store.lan:8883"
    assert cfg["mqtt"]["ca_pem"] == certs.ca_bytes(files, "pem").decode()
    assert "hub.store.lan" in certs.sans(certs.load_broker(certs.BrokerFiles(out)))
    assert "hub.store.lan" in certs.sans(certs.load_hub(files))  # the hub answers to it too now
    assert json.loads((out / "hub-mqtt.json").read_text())["url"].endswith("@127.0.0.1:1883")
    bad = storehub(
        "devices",
        "provision",
        "--data-dir",
        str(d),
        "--device",
        "scale-2",
        "--kind",
        "scale",
        "--out",
        str(out),
        "--tls",
        "--broker-host",
        "mqtt.example.com",
    )
    assert bad.returncode != 0 and "cannot certify 'mqtt.example.com'" in bad.stderr
