"""Fixed RFID readers: the ``storehub agent rfid`` bridge (LLRP, Zebra, Impinj) and its sources."""
