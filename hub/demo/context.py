"""What a demo component is and what it is told: shared by the demo runner and every domain's demo module."""

from __future__ import annotations

import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from hub.kernel.cliopts import storehub_argv


@dataclass
class DemoContext:
    data_dir: Path
    store_id: str
    hub_port: int
    mqtt_host: str = "127.0.0.1"
    # Where the demo's servers listen: loopback unless `storehub demo --lan` (its staff PINs are printed)
    bind_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    central_port: int = 8100
    python: str = sys.executable

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://{self.mqtt_host}:{self.mqtt_port}"

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    @property
    def central_url(self) -> str:
        return f"http://127.0.0.1:{self.central_port}"

    def storehub(self, *args: str) -> list[str]:
        """argv to run a storehub subcommand with this interpreter."""
        return storehub_argv(*args, python=self.python)


@dataclass
class Component:
    name: str
    argv: list[str]
    wait_port: int | None = None  # wait until this loopback port accepts connections
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None  # printed for people


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for_port(port: int, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not port_free(port):
            return True
        time.sleep(0.2)
    return False


def wait_for_health(url: str, cafile: Path, timeout: float = 60.0) -> bool:
    """Wait until ``url`` answers 200 over TLS trusting ``cafile``: an open port is not yet a hub that answers
    (gunicorn binds before its worker has loaded the app), and people are told to open it right away."""
    context = ssl.create_default_context(cafile=str(cafile))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as r:
                if r.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    return False
