"""Ingest: pure validation and acknowledgement bookkeeping, and the MQTT service around them."""
