"""EIL stack core: the `eil` command line, the local broker used by the demo and tests, clocks."""

__version__ = "0.1.0"
