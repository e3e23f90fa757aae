"""Home Assistant MQTT discovery (`[homeassistant]` in gateway.toml, docs/homeassistant.md).

    mapping.py    a series (name, kind, unit) -> a sensor's device_class, state_class, unit
    publisher.py  device-based discovery per node and for the site's signals, states,
                  availability, and all of it again when Home Assistant announces itself
"""
