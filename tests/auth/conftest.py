"""Fixtures of the auth tests (the shared hub fixtures are in tests/conftest.py)."""
