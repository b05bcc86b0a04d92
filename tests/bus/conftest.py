"""Fixtures of the bus tests (the shared hub fixtures are in tests/conftest.py)."""
