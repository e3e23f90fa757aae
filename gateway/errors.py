"""Gateway errors, under one root."""

from core.errors import ConfigError, EilError

__all__ = ["ConfigError", "GatewayError", "StoreError"]


class GatewayError(EilError):
    """Root of every gateway error."""


class StoreError(GatewayError):
    """The embedded store could not be opened, read or written."""
