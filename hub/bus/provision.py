"""``storehub devices provision``: per-device broker accounts, ACLs and agent configs.

For each device it writes or updates:

* the Mosquitto password file (``mosquitto_passwd -b`` when installed, else the same
  PBKDF2-SHA512 ``$7$`` format written here),
* the ACL file — a device may publish only under its own ``dev/<device>/`` (status,
  info, evt/+, result) and read only its own ``cmd/+`` and ``ack``; the hub account may do
  everything under ``storehub/<store>/``,
* ``<out>/devices/<device>.json`` — broker URL, credentials and topics for its agent,
* ``<out>/hub-mqtt.json`` — the hub's own account (used by ``storehub bus``).

With ``tls`` (and no ``ca_file`` of the store's own choosing) devices get the TLS listener: ``<out>`` receives the
broker's certificate from the store CA (``ca.crt``, ``server.crt``, ``server.key``, what the shipped
``mosquitto.conf`` reads; :func:`hub.pki.workflow.install_broker`, renewed with the hub's certificate from then on),
the device config carries ``mqtts://<broker host>:8883`` and the store CA itself (``mqtt.ca_pem``: one file to copy
to the device), and the broker host becomes one of the hub's names so the certificate carries it. The hub's own
account keeps the plain loopback listener (``mqtt://127.0.0.1:1883``).

A device keeps its password when provisioned again (pass ``rotate=True`` for a new one).
Send SIGHUP to Mosquitto afterwards so it re-reads both files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from hub.kernel.errors import ValidationError
from hub.pki import certs, workflow
from hub.pki.rules import clean_name
from hub.protocol import contract

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default for $7$
SALT_BYTES = 12


def hub_username(store_id: str) -> str:
    return f"storehub-hub-{store_id}".lower()[:64]


def pbkdf2_sha512_hash(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """A Mosquitto 2.x ``$7$`` password hash: ``$7$<iterations>$<b64 salt>$<b64 PBKDF2-SHA512>``."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    dk = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}"


def verify_pbkdf2_sha512(password: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    iterations, salt, want = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return secrets.compare_digest(got, want)


def _read_passwd(path: Path) -> dict[str, str]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if ":" in line and not line.startswith("#"):
                user, h = line.split(":", 1)
                out[user] = h
    return out


def set_password(path: Path, username: str, password: str, *, use_tool: bool = True) -> str:
    """Add or replace one user in a Mosquitto password file; returns 'mosquitto_passwd' or 'python'."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tool = shutil.which("mosquitto_passwd") if use_tool else None
    if tool:
        args = [tool, "-b", str(path), username, password]
        if not path.exists() or path.stat().st_size == 0:
            args.insert(1, "-c")
        subprocess.run(args, check=True, capture_output=True, timeout=30)
        os.chmod(path, 0o640)
        return "mosquitto_passwd"
    entries = _read_passwd(path)
    entries[username] = pbkdf2_sha512_hash(password)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{u}:{h}\n" for u, h in entries.items()))
    os.chmod(tmp, 0o640)
    os.replace(tmp, path)
    return "python"


def acl_text(store_id: str, hub_user: str) -> str:
    """The ACL file: patterns use %u (the authenticated username = the device id)."""
    root = f"{contract.ROOT}/{store_id}"
    return "\n".join(
        [
            "# StoreHub broker ACL (written by `storehub devices provision`; do not edit by hand).",
            "# Devices authenticate with their device id as username.",
            f"pattern write {root}/dev/%u/status",
            f"pattern write {root}/dev/%u/info",
            f"pattern write {root}/dev/%u/evt/+",
            f"pattern write {root}/dev/%u/result",
            f"pattern read {root}/dev/%u/cmd/+",
            "# What the hub has committed (the agent keeps an event until then): only the hub writes it.",
            f"pattern read {root}/dev/%u/ack",
            "# Stock ESPHome nodes (hub/bus/adapters.py): their default topic prefix is their own name.",
            "pattern write %u/status",
            "pattern write %u/sensor/+/state",
            "",
            "# The hub's bus: everything for this store, and the ESPHome nodes' status and sensor states.",
            f"user {hub_user}",
            f"topic readwrite {root}/#",
            "topic read +/status",
            "topic read +/sensor/+/state",
            "",
        ]
    )


@dataclass
class Provisioned:
    device_id: str
    kind: str
    config_path: Path
    password_file: Path
    acl_file: Path
    hasher: str
    new_password: bool


def _broker_url(host: str, port: int, tls: bool) -> str:
    return f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"


def ensure_hub_account(
    out: Path,
    store_id: str,
    *,
    password_file: Path,
    broker_host: str,
    broker_port: int,
    tls: bool = False,
    use_tool: bool = True,
) -> dict:
    path = out / "hub-mqtt.json"
    if path.exists():
        data = json.loads(path.read_text())
        if data.get("store_id") == store_id and hub_username(store_id) in _read_passwd(password_file):
            return data
    user = hub_username(store_id)
    password = secrets.token_urlsafe(24)
    set_password(password_file, user, password, use_tool=use_tool)
    scheme = "mqtts" if tls else "mqtt"
    data = {
        "store_id": store_id,
        "username": user,
        "password": password,
        "url": f"{scheme}://{quote(user)}:{quote(password)}@{broker_host}:{broker_port}",
    }
    _write_secret_json(path, data)
    return data


def _write_secret_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def store_ca_for_broker(data_dir: Path, store_id: str, out: Path, broker_host: str) -> str:
    """Issue (or keep) the broker certificate in ``out`` for the hub's names plus ``broker_host``; returns the
    store CA as PEM text for the device configs. Refuses a broker host the store CA may not certify (a public
    name): every agent would then refuse the broker."""
    files = certs.PkiFiles.in_data_dir(data_dir)
    try:
        host = clean_name(broker_host)
    except ValidationError as exc:
        raise ValueError(str(exc)) from exc
    if host not in workflow.current_names(files):
        certs.change_extra_names(files, add=[host])
    cert = workflow.install_broker(data_dir, store_id, out)
    if cert is None or host not in certs.sans(cert):
        raise ValueError(
            f"the store CA cannot certify {broker_host!r} (outside its LAN names and private "
            "addresses): give devices a LAN name or address of the hub with --broker-host"
        )
    return certs.ca_bytes(files, "pem").decode("ascii")


def provision(
    *,
    device_id: str,
    kind: str,
    store_id: str,
    out: Path,
    broker_host: str = "127.0.0.1",
    broker_port: int = 1883,
    tls: bool = False,
    ca_file: str | None = None,
    password_file: Path | None = None,
    acl_file: Path | None = None,
    rotate: bool = False,
    use_tool: bool = True,
    data_dir: Path | None = None,
    hub_port: int = 1883,
) -> Provisioned:
    if not contract.DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"device id {device_id!r} must match [a-z0-9-]{{1,64}}")
    if kind not in contract.KINDS:
        raise ValueError(f"kind must be one of {', '.join(contract.KINDS)}")
    out = Path(out)
    password_file = Path(password_file or out / "passwd")
    acl_file = Path(acl_file or out / "acl")
    hub_user = hub_username(store_id)
    if device_id == hub_user:
        raise ValueError("that device id is the hub's own account")
    if device_id in (contract.ROOT, "homeassistant", "esphome"):
        raise ValueError(f"device id {device_id!r} is reserved (a device may publish under its own name)")
    ca_pem = None
    if tls and not ca_file:
        if data_dir is None:
            raise ValueError("--tls needs the hub's data directory (its store CA) or a --ca-file")
        ca_pem = store_ca_for_broker(Path(data_dir), store_id, out, broker_host)
    if tls:
        # the hub runs beside Mosquitto: its bus uses the plain loopback listener (see mosquitto.conf)
        ensure_hub_account(
            out,
            store_id,
            password_file=password_file,
            broker_host="127.0.0.1",
            broker_port=hub_port,
            tls=False,
            use_tool=use_tool,
        )
    else:
        ensure_hub_account(
            out,
            store_id,
            password_file=password_file,
            broker_host=broker_host,
            broker_port=broker_port,
            tls=tls,
            use_tool=use_tool,
        )
    cfg_path = out / "devices" / f"{device_id}.json"
    password = None
    if cfg_path.exists() and not rotate:
        old = json.loads(cfg_path.read_text())
        if device_id in _read_passwd(password_file):
            password = old.get("mqtt", {}).get("password")
    new_password = password is None
    if new_password:
        password = secrets.token_urlsafe(18)
    hasher = set_password(password_file, device_id, password, use_tool=use_tool)
    acl_file.parent.mkdir(parents=True, exist_ok=True)
    acl_file.write_text(acl_text(store_id, hub_user))
    os.chmod(acl_file, 0o640)
    config = contract.device_config(
        store_id=store_id,
        device_id=device_id,
        kind=kind,
        broker_url=_broker_url(broker_host, broker_port, tls),
        username=device_id,
        password=password,
        ca_file=ca_file,
    )
    if ca_pem is not None:
        config["mqtt"]["ca_pem"] = ca_pem
    _write_secret_json(cfg_path, config)
    return Provisioned(device_id, kind, cfg_path, password_file, acl_file, hasher, new_password)
