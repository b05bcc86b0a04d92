"""Fixtures of the sync tests (the shared hub fixtures are in tests/conftest.py)."""
