"""Fixtures of the demo tests (the shared hub fixtures are in tests/conftest.py)."""
