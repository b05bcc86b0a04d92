"""Fixtures of the devices tests (the shared hub fixtures are in tests/conftest.py)."""
