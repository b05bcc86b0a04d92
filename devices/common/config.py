"""Agent configuration: a JSON or TOML file, overridden by command-line options.

Example (``scale.toml``)::

    store = "store-001"
    device = "scale-1"
    broker = "mqtt://hub.local:1883"     # omitted: found by mDNS (the agent keeps looking until it is)
    username = "scale-1"                 # per-device credentials from `storehub devices provision`
    password = "..."
    state_dir = "/var/lib/storehub-agent"
    buffer_max_events = 10000
    [options]                            # kind-specific settings
    port = "/dev/ttyUSB0"
"""

from __future__ import annotations

import json
import logging
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from hub.protocol import contract

log = logging.getLogger(__name__)


@dataclass
class AgentConfig:
    store: str
    device: str
    broker: str | None = None  # mqtt://host:port or mqtts://host:port
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # mqtts: the store CA, as a path ...
    ca_pem: str | None = None  # ... or as text (what `storehub devices provision` puts in the config)
    state_dir: Path = Path("storehub-agent")
    buffer_max_events: int = 10_000
    keepalive: int = 15
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    ack_timeout_s: float = 30.0  # resend what the hub has not acknowledged after this long (then doubling)
    client_id: str | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        contract.device_root(self.store, self.device)  # raises ContractError (a ValueError) when bad
        self.state_dir = Path(self.state_dir)
        if self.buffer_max_events < 1:
            raise ValueError("buffer_max_events must be at least 1")
        if self.ack_timeout_s <= 0:
            raise ValueError("ack_timeout_s must be positive")

    @property
    def broker_host_port_tls(self) -> tuple[str, int, bool]:
        url = self.broker or "mqtt://127.0.0.1:1883"
        if "://" not in url:
            url = "mqtt://" + url
        u = urlparse(url)
        if u.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported broker URL scheme {u.scheme!r} (use mqtt:// or mqtts://)")
        tls = u.scheme in ("mqtts", "ssl")
        return u.hostname or "127.0.0.1", u.port or (8883 if tls else 1883), tls

    @property
    def buffer_path(self) -> Path:
        return self.state_dir / f"{self.device}-events.sqlite"


_KEYS = {
    "store",
    "device",
    "broker",
    "username",
    "password",
    "ca_file",
    "ca_pem",
    "state_dir",
    "buffer_max_events",
    "keepalive",
    "reconnect_min_s",
    "reconnect_max_s",
    "ack_timeout_s",
    "options",
    "client_id",
}


def from_provisioned(data: dict) -> dict:
    """Accept the file ``storehub devices provision`` writes (``hub.protocol.contract.device_config``)."""
    mqtt = data.get("mqtt") or {}
    out = {k: v for k, v in data.items() if k in _KEYS}
    out.update(
        {
            "store": data.get("store_id"),
            "device": data.get("device_id"),
            "broker": mqtt.get("url"),
            "username": mqtt.get("username"),
            "password": mqtt.get("password"),
            "ca_file": mqtt.get("ca_file"),
            "ca_pem": mqtt.get("ca_pem"),
            "client_id": mqtt.get("client_id"),
        }
    )
    return {k: v for k, v in out.items() if v is not None}


def read_file(path: Path | str) -> dict:
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{p}: the config must be an object")
    if "device_id" in data and "mqtt" in data:
        return from_provisioned(data)
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{p}: unknown setting(s) {sorted(unknown)}")
    return data


def discover_broker(timeout: float = 3.0, store_id: str | None = None, interface: str | None = None) -> str | None:
    """The hub's broker URL found by mDNS (``hub.protocol.discovery``): the ``_mqtt._tcp`` service whose TXT
    ``store`` is this store (any store when not given)."""
    try:
        from hub.protocol import discovery  # zeroconf: loaded only when no broker is configured
    except ImportError:
        return None
    try:
        found = discovery.discover(timeout, store_id=store_id, interface=interface)
    except Exception as exc:  # noqa: BLE001 - discovery is best effort, the agent still starts
        log.warning("mDNS discovery failed: %s", exc)
        return None
    brokers = [f for f in found if f.service == "mqtt"]
    if len(brokers) > 1 and not store_id:
        log.warning("several brokers advertised (%s); taking the first", ", ".join(f.url for f in brokers))
    return brokers[0].url if brokers else None


def find_broker(
    store_id: str,
    *,
    interface: str | None = None,
    attempt_s: float = 3.0,
    retry_min_s: float = 2.0,
    retry_max_s: float = 60.0,
    sleep=time.sleep,
) -> str:
    """The hub's broker URL, looked for by mDNS until it is found.

    An agent started before its hub (or on a network where mDNS does not pass) must neither guess an address
    nor stop: guessing 127.0.0.1 connected it to nothing, or to the wrong broker, without a word. So each miss
    is logged with what to do about it, and the next look comes after a back-off (``retry_min_s`` doubling up
    to ``retry_max_s``)."""
    delay = retry_min_s
    attempt = 0
    while True:
        attempt += 1
        url = discover_broker(attempt_s, store_id=store_id, interface=interface)
        if url:
            if attempt > 1:
                log.info("found the hub broker by mDNS after %d attempt(s)", attempt)
            return url
        log.warning(
            "no StoreHub hub broker for store %r found by mDNS%s (attempt %d); looking again in %.0f s — "
            "is the hub running with --advertise, or pass --broker mqtt://<hub>:1883",
            store_id,
            f" on {interface}" if interface else "",
            attempt,
            delay,
        )
        sleep(delay)
        delay = min(delay * 2, retry_max_s)


def load(config_file: Path | str | None = None, *, discover: bool = True, **overrides) -> AgentConfig:
    """Merge file settings with non-None overrides (CLI); options dicts are merged key by key."""
    data: dict = read_file(config_file) if config_file else {}
    opts = dict(data.get("options") or {})
    for k, v in overrides.items():
        if v is None:
            continue
        if k == "options":
            opts.update({ok: ov for ok, ov in v.items() if ov is not None})
        else:
            data[k] = v
    data["options"] = opts
    missing = [k for k in ("store", "device") if not data.get(k)]
    if missing:
        raise ValueError(f"missing setting(s): {', '.join(missing)} (config file or --store/--device)")
    if not data.get("broker") and discover:
        o = data["options"]
        data["broker"] = find_broker(
            data["store"],
            interface=o.get("mdns_interface"),
            attempt_s=float(o.get("mdns_timeout_s", 3.0)),
            retry_min_s=float(o.get("mdns_retry_min_s", 2.0)),
            retry_max_s=float(o.get("mdns_retry_max_s", 60.0)),
        )
        log.info("found the hub broker by mDNS: %s", data["broker"])
    return AgentConfig(**data)
