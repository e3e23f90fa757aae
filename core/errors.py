"""Root of every EIL error, and the config error shared by node and gateway config parsing."""


class EilError(Exception):
    """Root of every error the EIL stack raises on purpose."""


class ConfigError(EilError):
    """A config file is invalid; the message names the file, the key and the reason."""
