"""Fixtures of the protocol tests (the shared hub fixtures are in tests/conftest.py)."""
