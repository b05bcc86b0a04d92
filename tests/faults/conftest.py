"""Fixtures of the fault suite (the harness is tests/support/faults.py, shared with bench/faults.py)."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "faults: kills and cuts the store's processes under load (issue 11)")
