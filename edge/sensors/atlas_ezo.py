"""Atlas Scientific EZO pH and EC circuits in I2C mode (default addresses 0x63 pH, 0x64 EC).

Their protocol: write an ASCII command, wait the command's processing delay, read back a status
byte (1 success, 2 syntax error, 254 still processing, 255 no data) followed by ASCII and a NUL.
Readings are temperature-compensated inside the circuit with "RT,<degC>" when the node knows the
water temperature (`temperature_from`, or a fixed `temperature`).

Calibration happens inside the circuit ("Cal,mid,7.00" first, then "Cal,low,4.00",
"Cal,high,10.00"; EC "Cal,dry" then one or two standards). `eil node calibrate` drives those
commands and records what it did; readings then carry that record's identity. A circuit
calibrated outside EIL reports `device:unrecorded`, an uncalibrated one `device:uncalibrated`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import CalibrationSpec, Driver, Options, QuantitySpec, Sample, i2c_locked
from edge.errors import SensorError
from edge.hardware import Hardware

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "ezo_ph"                     # or "ezo_ec"
id = "pond"                         # pond.water.ph (pond.water.ec)
bus = 1
address = 0x63                      # EZO pH default (EC: 0x64)
temperature_from = "pond.temperature"   # compensate with this node's water temperature
temperature = 20.0                  # degC until / unless temperature_from has a value
interval_s = 600
"""

SUCCESS, SYNTAX_ERROR, PENDING, NO_DATA = 1, 2, 254, 255
US_PER_CM = 1e-4  # S/m


@dataclass(frozen=True)
class Kit:
    """What differs between the circuits."""

    type: str
    device: str  # what "i" answers: "?i,pH,2.16"
    address: int
    read_delay: float
    cal_delay: float
    quantity: QuantitySpec
    to_senml: Callable[[float], float]  # the circuit's unit -> the quantity's unit


PH = Kit("ezo_ph", "pH", 0x63, 0.9, 0.9,
         QuantitySpec("water.ph", "pH", Kind.GAUGE, "pH", (0.001, 14.0)), lambda v: v)
EC = Kit("ezo_ec", "EC", 0x64, 0.6, 0.6,
         QuantitySpec("water.ec", "S/m", Kind.GAUGE, "conductivity at 25 degC", (0.0, 50.0)),
         lambda us: us * US_PER_CM)


def parse_response(data: bytes) -> tuple[int, str]:
    """(status code, text) of a circuit's answer. Pure."""
    if not data:
        raise SensorError("EZO: empty answer")
    return data[0], data[1:].split(b"\0", 1)[0].decode("ascii", "replace").strip()


@dataclass(frozen=True)
class EZOOptions:
    kit: Kit
    bus: int
    address: int
    temperature_from: str | None
    temperature: float | None


class EZOCircuit:
    def __init__(self, opts: EZOOptions, hw: Hardware) -> None:
        self.opts, self.hw = opts, hw
        self.i2c = hw.i2c(opts.bus)
        self.where = f"EZO {opts.kit.device} at 0x{opts.address:02x}"
        self.quantities = (opts.kit.quantity,)
        info = self.command("i", 0.3)
        if not info.startswith(f"?i,{opts.kit.device},"):
            raise SensorError(f"{self.where}: answers {info!r}, not an EZO {opts.kit.device}")
        points = self.command("Cal,?", 0.3).rpartition(",")[2]
        self.device_state = "device:uncalibrated" if points in ("0", "") else "device:unrecorded"

    def _transfer(self, write: bytes | None, read: int) -> bytes:
        buf = bytearray(read)
        try:
            with i2c_locked(self.i2c):
                if write is not None:
                    self.i2c.writeto(self.opts.address, write)
                if read:
                    self.i2c.readfrom_into(self.opts.address, buf)
        except OSError as exc:
            raise SensorError(f"{self.where}: {exc}") from exc
        return bytes(buf)

    def command(self, cmd: str, delay: float, retries: int = 5) -> str:
        self._transfer(cmd.encode("ascii"), 0)
        self.hw.sleep(delay)
        for _ in range(retries):
            code, text = parse_response(self._transfer(None, 40))
            if code == SUCCESS:
                return text
            if code == PENDING:
                self.hw.sleep(0.1)
                continue
            if code == SYNTAX_ERROR:
                raise SensorError(f"{self.where}: refused {cmd!r} (syntax error)")
            raise SensorError(f"{self.where}: no data for {cmd!r} (status {code})")
        raise SensorError(f"{self.where}: still processing {cmd!r} after {retries} polls (timeout)")

    def temperature(self) -> float | None:
        t = self.opts.temperature
        if self.opts.temperature_from is not None:
            t = self.hw.latest.get(self.opts.temperature_from, t)
        return t

    def read(self, now: float) -> list[Sample]:
        t = self.temperature()
        text = self.command("R" if t is None else f"RT,{t:.2f}", self.opts.kit.read_delay)
        try:
            value = float(text.split(",")[0])  # EC answers "EC,TDS,S,SG" when all are enabled
        except ValueError:
            raise SensorError(f"{self.where}: unreadable reading {text!r}") from None
        return [Sample(self.opts.kit.quantity.key, round(self.opts.kit.to_senml(value), 7),
                       cal=self.device_state)]

    def calibrate_point(self, reference: float, index: int, references: list[float]) -> float:
        """Calibrate the circuit at one reference (the probe is in it now); returns what the
        circuit read just before (the point's raw value). Order rules are Atlas's."""
        before = self.read(time.time())[0].value or 0.0
        if self.opts.kit is PH:
            label = "mid" if index == 0 else ("low" if reference < references[0] else "high")
            cmd = f"Cal,{label},{reference:.2f}"
        else:
            us = reference / US_PER_CM
            standards = [r for r in references if r > 0]
            if reference == 0:
                cmd = "Cal,dry"
            elif len(standards) == 1:
                cmd = f"Cal,{us:.0f}"
            else:
                cmd = f"Cal,{'low' if reference == min(standards) else 'high'},{us:.0f}"
        self.command(cmd, self.opts.kit.cal_delay)
        return before

    def calibration_report(self) -> str:
        return self.command("Cal,?", 0.3)


@dataclass
class FakeEZO:
    """The circuit's I2C behaviour: answers 254 until the command's delay has passed."""

    kit: Kit
    true_value: float  # pH, or EC in uS/cm
    clock: Callable[[], float] = time.monotonic
    points: list[tuple[float, float]] = field(default_factory=list)  # (device read, reference)
    last_temperature: float | None = None
    pending: tuple[float, int, str] | None = None  # (ready at, status, text)
    extra_delay: float = 0.0  # a circuit slower than its documented delay

    def reading(self) -> float:
        raw = self.true_value + 0.25 if self.kit is PH else self.true_value * 1.05
        pts = sorted(p for p in self.points if self.kit is PH or p[1] > 0)  # "dry" sets zero
        if not pts:
            return raw
        if len(pts) == 1:
            read, ref = pts[0]
            return raw - read + ref if self.kit is PH else raw * ref / read
        lo, hi = (pts[0], pts[1]) if raw < pts[1][0] else (pts[-2], pts[-1])
        return lo[1] + (raw - lo[0]) * (hi[1] - lo[1]) / (hi[0] - lo[0])

    def _answer(self, cmd: str) -> tuple[float, int, str]:
        parts = cmd.split(",")
        head = parts[0].upper()
        if head == "I":
            return 0.3, SUCCESS, f"?i,{self.kit.device},2.16"
        if head in ("R", "RT"):
            if head == "RT":
                self.last_temperature = float(parts[1])
            value = self.reading()
            return self.kit.read_delay, SUCCESS, (f"{value:.3f}" if self.kit is PH
                                                  else f"{value:.1f},{value * 0.5:.0f}")
        if head == "CAL" and parts[1:] == ["?"]:
            return 0.3, SUCCESS, f"?CAL,{len(self.points)}"
        if head == "CAL" and len(parts) >= 2:
            if parts[1] == "clear":
                self.points.clear()
            elif parts[1] == "dry":
                self.points = [(0.0, 0.0)]
            else:
                ref = float(parts[-1])
                if parts[1] == "mid":
                    self.points = []
                self.points.append((self.true_value + 0.25 if self.kit is PH
                                    else self.true_value * 1.05, ref))
            return self.kit.cal_delay, SUCCESS, ""
        return 0.3, SYNTAX_ERROR, ""

    def write(self, data: bytes) -> None:
        delay, status, text = self._answer(data.decode("ascii"))
        self.pending = (self.clock() + delay + self.extra_delay, status, text)

    def read(self, length: int) -> bytes:
        if self.pending is None:
            return bytes([NO_DATA]) + bytes(length - 1)
        ready, status, text = self.pending
        if self.clock() < ready:
            return bytes([PENDING]) + bytes(length - 1)
        return (bytes([status]) + text.encode() + bytes(length))[:length]


def _parse(kit: Kit) -> Callable[[Options], EZOOptions]:
    def parse(o: Options) -> EZOOptions:
        temperature = o.get("temperature", (int, float), None)
        return EZOOptions(kit, o.integer("bus", 1, low=0),
                          o.integer("address", kit.address, low=0x01, high=0x7F),
                          o.get("temperature_from", str, None),
                          None if temperature is None else float(temperature))
    return parse


def _simulate(opts: EZOOptions, hw: FakeHardware) -> None:
    hw.i2c(opts.bus).devices[opts.address] = FakeEZO(opts.kit, 6.9 if opts.kit is PH else 640.0)


def identify_as(kit: Kit) -> Callable[[Any, int], bool]:
    def identify(i2c: Any, address: int) -> bool:
        class _HW(Hardware):
            def i2c(self, bus: int) -> Any:
                return i2c
        try:
            EZOCircuit(EZOOptions(kit, 0, address, None, None), _HW())
        except SensorError:
            return False
        return True
    return identify


def _driver(kit: Kit, summary: str, reference: str) -> Driver:
    return Driver(
        type=kit.type, summary=summary, parse=_parse(kit),
        open=lambda o, hw: EZOCircuit(o, hw), quantities=lambda o: (o.kit.quantity,),
        sample_config=SAMPLE_CONFIG if kit is PH else SAMPLE_CONFIG.replace("ezo_ph", "ezo_ec")
        .replace("0x63", "0x64"),
        simulate=_simulate,
        calibration=CalibrationSpec(methods=("multi_point",), raw=kit.quantity.key,
                                    reference=reference, device_side=True,
                                    tagged=(kit.quantity.key,)),
        i2c_addresses=(kit.address,), identify=identify_as(kit))


DRIVERS = (
    _driver(PH, "Atlas Scientific EZO pH circuit (I2C 0x63)", "pH of the buffer: 7.00 first, "
            "then 4.00 and / or 10.00"),
    _driver(EC, "Atlas Scientific EZO EC circuit (I2C 0x64)", "EC of the standard in S/m: 0 for "
            "dry first, then e.g. 1.288 (12,880 uS/cm) and 8.0 (80,000 uS/cm)"),
)
