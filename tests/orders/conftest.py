"""Fixtures of the orders tests (the shared hub fixtures are in tests/conftest.py)."""
