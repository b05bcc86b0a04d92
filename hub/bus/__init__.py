"""The hub's device bus: the MQTT contract, the one bus process per hub, the
device registry, dead letters, commands, alerts and shelf sensors."""
