"""The shared core of the EIL stack, at the bottom of its layers: clocks, the one exception
root, config parsing helpers, MQTT client set-up and the version. Node (`edge`), gateway
(`gateway`) and the wire contract (`contract`) build on it; it imports none of them."""

__version__ = "0.1.0"
