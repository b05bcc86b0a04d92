"""Running Mosquitto from the project's own configuration.

``render`` rewrites the shipped ``firmware_configs/mosquitto/mosquitto.conf`` for a
given port and working directory (persistence, password/ACL files, optional TLS),
keeping every delivery setting as shipped; ``Mosquitto`` starts and stops (or kills) such a
broker. Tests and the bench use both, so the shipped configuration is the tested one.

A broker rendered for anonymous access (no password file) drops ``use_username_as_clientid``: Mosquitto
refuses a client without a username under it, and an anonymous broker has no identities to bind."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = ROOT / "firmware_configs" / "mosquitto"
PRODUCTION_CONF = CONF_DIR / "mosquitto.conf"
DEV_CONF = CONF_DIR / "mosquitto.dev.conf"

_LISTENER_SCOPED = (
    "cafile",
    "capath",
    "certfile",
    "keyfile",
    "tls_version",
    "require_certificate",
    "use_identity_as_username",
    "ciphers",
    "use_username_as_clientid",
)


def render(
    port: int,
    workdir: Path,
    *,
    source: Path = PRODUCTION_CONF,
    password_file: Path | None = None,
    acl_file: Path | None = None,
    tls_port: int | None = None,
    tls_files: dict[str, Path] | None = None,
    anonymous: bool | None = None,
) -> str:
    """The shipped config with paths and ports for ``workdir`` (listeners bound to 127.0.0.1)."""
    out: list[str] = []
    workdir.mkdir(parents=True, exist_ok=True)
    skipping = False
    seen_plain = False
    for raw in source.read_text().splitlines():
        line = raw.strip()
        key = line.split()[0] if line and not line.startswith("#") else ""
        if key == "listener":
            skipping = False
            listener_port = int(line.split()[1])
            if listener_port == 8883 or (seen_plain and listener_port != 8883):
                if tls_port is None:
                    skipping = True
                    continue
                out.append(f"listener {tls_port} 127.0.0.1")
                continue
            seen_plain = True
            out.append(f"listener {port} 127.0.0.1")
            continue
        if skipping and key in _LISTENER_SCOPED:
            continue
        if key in ("cafile", "certfile", "keyfile") and tls_files:
            out.append(f"{key} {tls_files[key]}")
            continue
        if key == "persistence_location":
            out.append(f"persistence_location {workdir}/")
        elif key == "password_file":
            if password_file is not None:
                out.append(f"password_file {password_file}")
        elif key == "acl_file":
            if acl_file is not None:
                out.append(f"acl_file {acl_file}")
        elif key == "allow_anonymous" and anonymous is not None:
            out.append(f"allow_anonymous {'true' if anonymous else 'false'}")
        elif key == "log_dest":
            if "log_dest stderr" not in out:
                out.append("log_dest stderr")
        elif key == "pid_file":
            continue
        else:
            out.append(raw)
    if os.geteuid() == 0:
        # Mosquitto started as root drops to the 'mosquitto' user, which cannot write a test's
        # persistence directory; stay the user who owns it.
        out.append("user " + pwd.getpwuid(os.getuid()).pw_name)
    if anonymous is None and password_file is None:
        out = [ln for ln in out if not ln.startswith("allow_anonymous")] + ["allow_anonymous true"]
    if "allow_anonymous true" in out:
        out = [ln for ln in out if not ln.startswith("use_username_as_clientid")]
    return "\n".join(out) + "\n"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class Mosquitto:
    """A mosquitto process started from a rendered config (context manager)."""

    def __init__(self, port: int, workdir: Path, **render_kwargs):
        self.port = port
        self.workdir = Path(workdir)
        self.render_kwargs = render_kwargs
        self.conf = self.workdir / "mosquitto.conf"
        self.proc: subprocess.Popen | None = None
        self.log = self.workdir / "mosquitto.log"

    @staticmethod
    def available() -> bool:
        return shutil.which("mosquitto") is not None

    def start(self, timeout: float = 10.0) -> Mosquitto:
        self.conf.write_text(render(self.port, self.workdir, **self.render_kwargs))
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=self._logf, stderr=self._logf)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            if port_open(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not open its port")

    def reload(self) -> None:
        """SIGHUP: re-read the password and ACL files."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its persistence file on the way out
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_logf", None):
            self._logf.close()

    def kill(self) -> None:
        """SIGKILL, like a power cut: Mosquitto keeps only what its last autosave wrote."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if getattr(self, "_logf", None):
            self._logf.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
