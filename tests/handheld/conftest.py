"""Fixtures of the handheld tests (the shared hub fixtures are in tests/conftest.py)."""
