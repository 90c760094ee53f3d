"""The model stage: what every action takes, whatever the network came from."""
