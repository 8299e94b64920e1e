"""Sensor and remote-sensing indicators, alerts, verification, integrity records."""
