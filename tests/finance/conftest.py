"""Fixtures of the finance tests (the shared hub fixtures are in tests/conftest.py)."""
