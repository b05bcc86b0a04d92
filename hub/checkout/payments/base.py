"""What every payment provider adapter shares: the answer the tender state machine reads, the error for a
request that never left, the merchant configuration, the provider error codes that leave an outcome open."""

from __future__ import annotations

import json
import socket
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

CONFIG_FILE = "payments.json"

# WeChat Pay micropay err_code whose outcome is not known yet (query before deciding), payments.md §1.5.
WX_UNKNOWN = {"SYSTEMERROR", "BANKERROR"}
# Definite failures; anything else not listed is treated as unknown ("query, then decide").
WX_FAILED = {
    "PARAM_ERROR",
    "NOAUTH",
    "AUTHCODEEXPIRE",
    "NOTENOUGH",
    "NOTSUPORTCARD",
    "ORDERCLOSED",
    "ORDERREVERSED",
    "AUTH_CODE_ERROR",
    "AUTH_CODE_INVALID",
    "XML_FORMAT_ERROR",
    "REQUIRE_POST_METHOD",
    "SIGNERROR",
    "LACK_PARAMS",
    "NOT_UTF8",
    "APPID_NOT_EXIST",
    "MCHID_NOT_EXIST",
    "APPID_MCHID_NOT_MATCH",
    "OUT_TRADE_NO_USED",
    "BUYER_MISMATCH",
    "TRADE_ERROR",
}
# Alipay 40004 sub_codes that leave the outcome open (payments.md §2.4).
ALI_UNKNOWN = {"ACQ.SYSTEM_ERROR", "ACQ.TRADE_HAS_SUCCESS"}


class Unreachable(Exception):
    """The provider's endpoint could not be reached: the request never left (the store has no internet)."""


@dataclass(frozen=True)
class Answer:
    """A provider's answer: ``paid``, ``paying`` (the customer is confirming on the phone), ``failed``,
    ``closed`` (the order exists but will never be paid), ``absent`` (the provider never heard of it),
    ``unknown`` (ask again); ``done``/``retry`` for a reverse; ``provider_ref`` is the provider's trade number."""

    status: str
    provider_ref: str | None = None
    error: str | None = None


def yuan(minor: int) -> str:
    """Alipay amounts are yuan with 2 decimals; the hub keeps fen."""
    return f"{minor // 100}.{minor % 100:02d}"


def load_config(data_dir: Path) -> dict[str, Any]:
    """The merchant credentials per provider from ``payments.json`` in the data directory ({} when absent)."""
    p = Path(data_dir) / CONFIG_FILE
    return dict(json.loads(p.read_text())) if p.exists() else {}


def _never_sent(exc: BaseException) -> bool:
    """True when a requests/urllib error means the request never reached the provider."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return isinstance(exc.reason, ConnectionRefusedError | socket.gaierror | OSError) and not isinstance(
            exc.reason, TimeoutError
        )
    return False
