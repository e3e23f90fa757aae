"""Sensor drivers, one module each; edge/registry.py lists them by type name."""
