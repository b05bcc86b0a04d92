"""Fixtures of the promotions tests (the shared hub fixtures are in tests/conftest.py; builders of promotions and
baskets in tests/support/promotions.py)."""
