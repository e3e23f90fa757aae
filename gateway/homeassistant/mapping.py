"""How a stored series appears in Home Assistant: its sensor's device_class, state_class and
unit in Home Assistant's own spelling, and the factor from the store's canonical unit to it.
A series whose unit Home Assistant has no device class for is a plain sensor with its unit;
events are not sensors (they are records, not states)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sensor:
    device_class: str | None
    state_class: str  # measurement (gauges) or total_increasing (counters)
    unit: str | None  # Home Assistant's spelling
    factor: float = 1.0  # store value x factor = the value in `unit`


# canonical SenML unit -> (device class of a gauge, of a counter, Home Assistant's unit, factor)
_UNITS: dict[str, tuple[str | None, str | None, str | None, float]] = {
    "Cel": ("temperature", None, "°C", 1.0),
    "%RH": ("humidity", None, "%", 1.0),
    "W": ("power", None, "W", 1.0),
    "Wh": ("energy", "energy", "Wh", 1.0),
    "V": ("voltage", None, "V", 1.0),
    "A": ("current", None, "A", 1.0),
    "l": ("volume_storage", "water", "L", 1.0),
    "m3": ("volume_storage", "water", "m³", 1.0),
    "l/s": ("volume_flow_rate", None, "L/min", 60.0),
    "m/s": ("wind_speed", None, "m/s", 1.0),
    "W/m2": ("irradiance", None, "W/m²", 1.0),
    "Pa": ("pressure", None, "Pa", 1.0),
    "lx": ("illuminance", None, "lx", 1.0),
    "s": ("duration", None, "s", 1.0),
    "B": ("data_size", None, "B", 1.0),
    "%": (None, None, "%", 1.0),
    "%EL": ("battery", None, "%", 1.0),
    "count": (None, None, None, 1.0),
    "pH": ("ph", None, None, 1.0),
}


def sensor(name: str, kind: str, unit: str | None) -> Sensor | None:
    """The sensor for a series; None for an event."""
    if kind == "event":
        return None
    gauge_class, counter_class, ha_unit, factor = _UNITS.get(unit or "", (None, None, unit, 1.0))
    if kind == "counter":
        return Sensor(counter_class, "total_increasing", ha_unit, factor)
    device_class = gauge_class
    if unit == "%" and name.endswith("soil.moisture"):
        device_class = "moisture"
    elif unit == "%" and name.endswith("battery.soc"):
        device_class = "battery"
    return Sensor(device_class, "measurement", ha_unit, factor)
