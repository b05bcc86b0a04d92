"""Barcode scanners: keyboard-wedge (evdev) and serial/CDC, publishing ``evt/scan``."""
