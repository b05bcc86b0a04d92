"""Simulators that speak the real wire protocols (``storehub sim <kind>``)."""
