"""Fixtures of the inventory tests (the shared hub fixtures are in tests/conftest.py)."""
