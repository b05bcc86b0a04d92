"""Printer transports through python-escpos: ``tcp://host:9100``, ``serial:///dev/ttyUSB0?baudrate=19200``,
``usb://04b8:0202`` (vendor:product), ``file:///dev/usb/lp0``; and the real-time status query."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from escpos import printer as escpos_printer
from escpos.constants import RT_STATUS_ONLINE, RT_STATUS_PAPER

log = logging.getLogger(__name__)


class PrinterOffline(Exception):
    pass


def open_printer(spec: str, *, profile: str = "TM-T88V", timeout: float = 5.0):
    u = urlparse(spec)
    q = {k: v[-1] for k, v in parse_qs(u.query).items()}
    try:
        if u.scheme == "tcp":
            p = escpos_printer.Network(u.hostname, port=u.port or 9100, timeout=timeout, profile=profile)
        elif u.scheme == "serial":
            p = escpos_printer.Serial(
                devfile=u.path, baudrate=int(q.get("baudrate", 19200)), timeout=timeout, profile=profile
            )
        elif u.scheme == "usb":
            vid, pid = (int(x, 16) for x in u.netloc.split(":"))
            p = escpos_printer.Usb(vid, pid, timeout=int(timeout * 1000), profile=profile)
        elif u.scheme == "file":
            p = escpos_printer.File(devfile=u.path, profile=profile)
        else:
            raise ValueError(f"unsupported printer connection {spec!r} (tcp://, serial://, usb://, file://)")
        p.open(raise_not_found=True)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-escpos raises several types for "not there"
        raise PrinterOffline(f"cannot reach the printer at {spec}: {exc}") from exc
    return p


@dataclass
class Status:
    online: bool | None  # None: the printer did not answer status requests
    paper: str | None  # ok | low | out | None


def query_status(p, timeout: float = 2.0) -> Status:
    """``DLE EOT 1`` (printer) and ``DLE EOT 4`` (paper roll sensor) where the transport can read."""
    dev = getattr(p, "device", None)
    if isinstance(dev, socket.socket):
        dev.settimeout(timeout)
    try:
        st = p.query_status(RT_STATUS_ONLINE)
        if not st:
            return Status(None, None)
        online = not (st[0] & 0x08)
        st4 = p.query_status(RT_STATUS_PAPER)
        paper = None
        if st4:
            b = st4[0]
            paper = "out" if b & 0x60 == 0x60 else "low" if b & 0x0C == 0x0C else "ok"
        return Status(online, paper)
    except (TimeoutError, NotImplementedError, AttributeError):
        return Status(None, None)
    except OSError as exc:
        raise PrinterOffline(f"printer connection failed during status query: {exc}") from exc


def close_quietly(p) -> None:
    try:
        p.close()
    except Exception:  # noqa: BLE001
        pass
