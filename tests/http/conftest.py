"""Fixtures of the http tests (the shared hub fixtures are in tests/conftest.py)."""
