"""ESC/POS printers: documents → blocks → python-escpos bytes; the ``storehub agent printer`` process."""
