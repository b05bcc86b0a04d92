"""Fixtures of the kernel tests (the shared hub fixtures are in tests/conftest.py)."""
