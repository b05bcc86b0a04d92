"""Serial scales: protocols as data, a driver, probe-based detection and the ``storehub agent scale`` process."""
