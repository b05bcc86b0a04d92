"""What every device agent shares: configuration, the MQTT connection and the on-disk event buffer."""
