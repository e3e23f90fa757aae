"""What every sensor driver (one module in edge/sensors/) declares and returns: its quantities,
its calibration, its options; shared by the drivers, the calibration, the firmware bridge and
the registry, so it sits beneath them all in the layers.

A driver module declares its quantities as data (key, SenML unit, kind, possible range), parses
its options without touching hardware, opens its device through the Hardware it is given, and
returns Samples. Raw decoding and scaling stay separate inside drivers; calibration (a raw value
turned into a calibrated one) is applied uniformly by edge.calibration. A driver imports its
chip's library (Blinka's, pymodbus, gpiozero) when it opens the device, not at import: nothing
touches hardware at import time, and a node needs the libraries of the sensors it has only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from contract.senml import Kind
from edge.hardware import Hardware


@dataclass(frozen=True, slots=True)
class QuantitySpec:
    key: str  # quantity name on the wire, e.g. "soil.moisture"
    unit: str | None  # SenML symbol; None for events
    kind: Kind
    description: str = ""
    valid: tuple[float, float] | None = None  # what the sensor can physically report (gross range)


@dataclass(frozen=True, slots=True)
class Sample:
    key: str
    value: float | None = None
    text: str | None = None  # events
    ref: str | None = None  # events: the second subject (e.g. member pseudonym)
    cal: str | None = None  # identity of the calibration the value was computed with
    time: float | None = None  # when measured, if not at the read (buffered on a microcontroller)
    q: int | None = None  # a QARTOD flag already set where it was measured (3 suspect, 4 fail)


class Sensor(Protocol):
    @property
    def quantities(self) -> tuple[QuantitySpec, ...]:
        """What this driver measures, declared as data."""
        ...

    def read(self, now: float) -> list[Sample]:
        """Read at clock time `now`; raise SensorError when the sensor cannot be read."""
        ...


@dataclass(frozen=True)
class SensorConfig:
    """One [[sensors]] block of a node config, parsed."""

    type: str
    id: str | None  # optional prefix for quantity names, so two sensors of a type can coexist
    interval_s: float
    options: dict[str, Any]
    source: str  # "file.toml: sensors[2]" for error messages
    calibration: str | None = None  # pinned calibration identity; None: the newest one

    def name_for(self, key: str) -> str:
        return f"{self.id}.{key}" if self.id else key

    @property
    def name(self) -> str:
        """How calibrations, events and the CLI refer to this sensor."""
        return self.id or self.type


_REQUIRED: Any = object()


class Options:
    """Typed access to a sensor block's options; remembers which keys were used so a misspelt
    option is an error rather than silently ignored."""

    def __init__(self, cfg: SensorConfig) -> None:
        self.cfg = cfg
        self.used: set[str] = set()

    def get(self, key: str, typ: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
        self.used.add(key)
        if key not in self.cfg.options:
            if default is _REQUIRED:
                raise ValueError(f"{key}: required option is missing")
            return default
        value = self.cfg.options[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bool) and typ is not bool or not isinstance(value, typ):
            want = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise ValueError(f"{key}: expected {want}, got {value!r}")
        return value

    def number(self, key: str, default: float | None = None, *, low: float | None = None,
               high: float | None = None) -> float:
        value = self.get(key, float, _REQUIRED if default is None else default)
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{key}: {value} is outside {low}..{high}")
        return float(value)

    def integer(self, key: str, default: int | None = None, *, low: int | None = None,
                high: int | None = None) -> int:
        value = self.get(key, int, _REQUIRED if default is None else default)
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{key}: {value} is outside {low}..{high}")
        return int(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise ValueError(f"{key}: {value!r} is not one of {', '.join(choices)}")
        return str(value)

    def unknown(self) -> list[str]:
        return sorted(set(self.cfg.options) - self.used)


@dataclass(frozen=True)
class Output:
    """A calibrated quantity computed from a raw one: factor * (gain * raw + offset)."""

    raw: str
    spec: QuantitySpec
    factor: float = 1.0


@dataclass(frozen=True)
class CalibrationSpec:
    """How a driver's readings are calibrated (edge.calibration applies it)."""

    methods: tuple[str, ...]
    raw: str  # the raw quantity measured at each calibration point
    reference: str  # what the reference values are, with their unit, for prompts
    outputs: tuple[Output, ...] = ()
    nominal: tuple[float, float] | None = None  # (gain, offset) from the datasheet, if any
    device_side: bool = False  # applied inside the device (outputs then name tagged keys)
    tagged: tuple[str, ...] = ()  # device-side: quantities that carry the calibration identity


def vwc_calibration(raw: str) -> CalibrationSpec:
    """Soil probes: a raw signal becomes volumetric water content once calibrated in the soil."""
    return CalibrationSpec(
        methods=("two_point", "multi_point"), raw=raw,
        reference="volumetric water content of the soil around the probe, % VWC",
        outputs=(Output(raw, QuantitySpec("soil.moisture", "%", Kind.GAUGE,
                                          "volumetric water content", (0.0, 100.0))),))


@dataclass(frozen=True)
class Driver:
    """A sensor type as the registry knows it. `parse` validates options (no hardware), `open`
    makes the driver on a Hardware, `simulate` attaches a device model to a FakeHardware
    (edge.fakes; typed loosely so that production modules never import their fakes)."""

    type: str
    summary: str
    parse: Callable[[Options], Any]
    open: Callable[[Any, Hardware], Sensor]
    quantities: Callable[[Any], tuple[QuantitySpec, ...]]
    sample_config: str
    simulate: Callable[[Any, Any], None] | None = None
    calibration: CalibrationSpec | None = None
    i2c_addresses: tuple[int, ...] = ()  # where `eil node probe` looks for it
    identify: Callable[[Any, int], bool] | None = None  # (i2c bus, address) -> is it this chip?


@dataclass(frozen=True)
class I2CAddress:
    """Where an I2C chip sits: /dev/i2c-<bus>, 7-bit address."""

    bus: int
    address: int


def parse_i2c(o: Options, default: int, addresses: tuple[int, ...]) -> I2CAddress:
    """The `bus` and `address` options of a chip that can only sit at `addresses`."""
    address = o.integer("address", default)
    if address not in addresses:
        raise ValueError(f"address: 0x{address:02x} is not one of this chip's addresses "
                         f"(0x{min(addresses):02x}-0x{max(addresses):02x})")
    return I2CAddress(o.integer("bus", 1, low=0), address)


@contextmanager
def i2c_locked(i2c: Any) -> Iterator[Any]:
    """Hold a busio.I2C bus for a transaction (drivers sharing a bus take turns)."""
    while not i2c.try_lock():
        pass
    try:
        yield i2c
    finally:
        i2c.unlock()


def i2c_read(i2c: Any, address: int, register: int | bytes, length: int) -> bytes:
    """Read `length` bytes from `register` (one byte, or the bytes given) for probing and
    identification; drivers use their library's bus device."""
    buf = bytearray(length)
    with i2c_locked(i2c):
        i2c.writeto_then_readfrom(address, bytes([register]) if isinstance(register, int)
                                  else register, buf)
    return bytes(buf)


def ti_ids(i2c: Any, address: int) -> tuple[int, int]:
    """(manufacturer id, die id) of a TI INA2xx/INA3221 (registers 0xFE, 0xFF)."""
    return (int.from_bytes(i2c_read(i2c, address, 0xFE, 2), "big"),
            int.from_bytes(i2c_read(i2c, address, 0xFF, 2), "big"))
