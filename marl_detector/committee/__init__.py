"""Hide-and-Shill detectors as Symphony agents: detection requests are beacons, verdicts a weighted vote."""
