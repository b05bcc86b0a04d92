"""Fixtures of the stocktake tests (the shared hub fixtures are in tests/conftest.py)."""
