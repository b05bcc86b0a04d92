"""Plain helpers shared by the test folders (no fixtures: those live in conftest.py files)."""
