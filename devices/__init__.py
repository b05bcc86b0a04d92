"""Device side of StoreHub: agents that sit next to store hardware and bridge it to the MQTT bus,
and simulators that speak the real wire protocols (used by tests and by ``storehub demo``)."""
