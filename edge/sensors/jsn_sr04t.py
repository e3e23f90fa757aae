"""JSN-SR04T waterproof ultrasonic distance sensor in its UART mode, over a tank's water surface.

Mode "triggered" (R27 = 47 kOhm): the Pi sends 0x55 and the sensor answers one frame; mode
"auto" (R27 = 120 kOhm): it sends a frame every 100 ms. A frame is 4 bytes:
    0xFF, distance high byte, distance low byte, checksum = (0xFF + H + L) & 0xFF
distance in millimetres. The reader resynchronises on 0xFF after noise and skips frames whose
checksum does not match. Tank geometry turns distance into water depth and litres.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.errors import SensorError
from edge.fakes.serial import PtyDevice
from edge.hardware import Hardware

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "jsn_sr04t"
id = "tank"                 # tank.distance, tank.level, tank.volume
port = "/dev/serial0"       # 9600 8N1
mode = "triggered"          # or "auto"
shape = "cylinder"          # or "box"
diameter_m = 1.10           # cylinder; for a box: length_m and width_m
sensor_height_m = 1.35      # from the sensor face down to the tank floor
max_level_m = 1.15          # the overflow
interval_s = 300
"""

HEADER, TRIGGER = 0xFF, 0x55
BLIND_ZONE_MM = 200  # the JSN-SR04T cannot see closer than ~20 cm
MAX_RANGE_MM = 6000


def frame(mm: int) -> bytes:
    h, lo = (mm >> 8) & 0xFF, mm & 0xFF
    return bytes([HEADER, h, lo, (HEADER + h + lo) & 0xFF])


def find_frame(buf: bytes) -> tuple[int | None, int, int]:
    """(distance in mm of the first valid frame or None, bytes consumed, checksum failures).
    Pure."""
    bad, i = 0, 0
    while i + 4 <= len(buf):
        if buf[i] != HEADER:
            i += 1
            continue
        h, lo, checksum = buf[i + 1], buf[i + 2], buf[i + 3]
        if (HEADER + h + lo) & 0xFF == checksum:
            return (h << 8) | lo, i + 4, bad
        bad += 1
        i += 1
    return None, i, bad


@dataclass(frozen=True)
class TankOptions:
    port: str
    triggered: bool
    area_m2: float
    sensor_height_m: float
    max_level_m: float


class TankLevel:
    quantities = (
        QuantitySpec("distance", "m", Kind.GAUGE, "sensor to water surface", (0.2, 6.0)),
        QuantitySpec("level", "m", Kind.GAUGE, "water depth"),
        QuantitySpec("volume", "l", Kind.GAUGE, "water in the tank"),
    )

    def __init__(self, opts: TankOptions, hw: Hardware, timeout_s: float = 1.0) -> None:
        self.opts, self.timeout_s = opts, timeout_s
        self.port = hw.serial(opts.port, baudrate=9600, timeout=0.1)

    def distance_mm(self) -> int:
        """The first valid frame; in triggered mode a corrupt or missing answer is re-triggered
        (every 0.3 s) until the timeout."""
        self.port.reset_input_buffer()
        buf, bad = b"", 0
        deadline = time.monotonic() + self.timeout_s
        retrigger = 0.0
        while (now := time.monotonic()) < deadline:
            if self.opts.triggered and now >= retrigger:
                self.port.write(bytes([TRIGGER]))
                retrigger = now + 0.3
            buf += self.port.read(8)
            mm, used, failed = find_frame(buf)
            buf = buf[used:]
            if mm is not None:
                return mm
            if failed:
                bad += failed
                retrigger = 0.0
        if bad:
            raise SensorError(f"JSN-SR04T on {self.opts.port}: {bad} frame(s) with a checksum "
                              "mismatch and no valid one (wiring noise?)")
        raise SensorError(f"JSN-SR04T on {self.opts.port}: no frame within {self.timeout_s} s "
                          "(timeout: power, TX/RX swapped, or not in UART mode?)")

    def read(self, now: float) -> list[Sample]:
        mm = self.distance_mm()
        if mm == 0 or mm > MAX_RANGE_MM:
            raise SensorError(f"JSN-SR04T: {mm} mm is no echo (out of range)")
        distance = mm / 1000.0
        level = self.opts.sensor_height_m - distance  # outside 0..max_level is flagged, not hidden
        return [Sample("distance", distance), Sample("level", round(level, 3)),
                Sample("volume", round(level * self.opts.area_m2 * 1000.0, 1))]

    def close(self) -> None:
        self.port.close()


class FakeJSNSR04T(PtyDevice):
    """Answers 0x55 with a frame for `mm`; `corrupt` frames get a wrong checksum first."""

    def __init__(self, mm: int = 700) -> None:
        self.mm, self.corrupt, self.noise = mm, 0, b""
        super().__init__()

    def respond(self, data: bytes) -> bytes:
        out = b""
        for byte in data:
            if byte == TRIGGER:
                good = frame(self.mm)
                if self.corrupt:
                    self.corrupt -= 1
                    good = good[:3] + bytes([(good[3] + 1) & 0xFF])
                out += self.noise + good
        return out


def parse(o: Options) -> TankOptions:
    shape = o.choice("shape", ("cylinder", "box"), "cylinder")
    if shape == "cylinder":
        area = math.pi * (o.number("diameter_m", low=0.05, high=50.0) / 2) ** 2
    else:
        area = o.number("length_m", low=0.05, high=100.0) * o.number("width_m", low=0.05, high=100.0)
    height = o.number("sensor_height_m", low=0.2, high=6.0)
    top = o.number("max_level_m", height - BLIND_ZONE_MM / 1000.0, low=0.0, high=height)
    return TankOptions(o.get("port", str), o.choice("mode", ("triggered", "auto"), "triggered")
                       == "triggered", area, height, top)


def simulate(opts: TankOptions, hw: FakeHardware) -> None:
    hw.attach_serial(opts.port, FakeJSNSR04T(mm=round((opts.sensor_height_m * 0.55) * 1000)))


def quantities(o: TankOptions) -> tuple[QuantitySpec, ...]:
    d, level, volume = TankLevel.quantities
    return (d, QuantitySpec(level.key, level.unit, level.kind, level.description,
                            (0.0, o.max_level_m)),
            QuantitySpec(volume.key, volume.unit, volume.kind, volume.description,
                         (0.0, o.max_level_m * o.area_m2 * 1000.0)))


DRIVERS = (Driver(
    type="jsn_sr04t", summary="JSN-SR04T ultrasonic tank level over UART (0xFF frames)",
    parse=parse, open=lambda o, hw: TankLevel(o, hw), quantities=quantities, sample_config=SAMPLE_CONFIG,
    simulate=simulate),)
