"""Stocktake: count sessions by barcode scan and RFID sweep, variances, approval, cycle counts.

Pure domain logic lives in the modules of this package (``sessions``, ``scans``,
``expected``, ``variance``, ``approval``, ``rfid``, ``cycle``, ``reports``); the
HTTP routes are in ``hub/api/stocktake.py`` and the command line in ``cli``.
See docs/stocktake.md."""
