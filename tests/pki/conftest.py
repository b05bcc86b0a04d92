"""Fixtures of the pki tests (the shared hub fixtures are in tests/conftest.py)."""
