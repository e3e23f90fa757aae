"""Node-side errors, under one root."""

from core.errors import ConfigError, EilError

__all__ = ["ConfigError", "EdgeError", "OutboxError", "SensorError"]


class EdgeError(EilError):
    """Root of every node-side error."""


class SensorError(EdgeError):
    """A sensor could not be read. The agent reports the sensor unavailable; it never sends 0."""


class OutboxError(EdgeError):
    """The durable outbox could not be opened or written."""
