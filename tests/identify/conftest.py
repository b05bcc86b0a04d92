"""Fixtures of the identify tests (the shared hub fixtures are in tests/conftest.py)."""
