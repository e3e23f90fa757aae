"""DS18B20 temperature probe on 1-Wire, read through the Linux w1-therm sysfs interface.

The kernel (overlay `dtoverlay=w1-gpio`) exposes each probe as `<w1_root>/28-<serial>/w1_slave`:

    72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
    72 01 4b 46 7f ff 0e 10 57 t=23125

The first line says whether the scratchpad CRC matched; the second gives millidegrees Celsius.
The sysfs root is a parameter so tests run against fixture trees.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.errors import SensorError

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "ds18b20"
id = "bed-1"                 # bed-1.temperature
device = "28-0316a2791bff"   # omit to use the only probe on the bus
interval_s = 300
"""

W1_ROOT = Path("/sys/bus/w1/devices")
SIM_DEVICE = "28-00000e1c0001"
POWER_ON_RESET_MC = 85_000  # what the scratchpad holds before the first conversion
_T = re.compile(r"\bt=(-?\d+)\s*$")


def parse_w1_slave(text: str) -> float:
    """°C from the content of a w1_slave file; SensorError says what was wrong. Pure."""
    lines = text.strip().splitlines()
    if len(lines) != 2:
        raise SensorError(f"w1_slave has {len(lines)} lines, expected 2: {text[:80]!r}")
    if not lines[0].rstrip().endswith("YES"):
        raise SensorError("1-Wire CRC check failed (crc line does not end in YES): "
                          f"{lines[0].strip()!r}")
    m = _T.search(lines[1])
    if m is None:
        raise SensorError(f"no t=<millidegrees> in {lines[1].strip()!r}")
    millic = int(m.group(1))
    if millic == POWER_ON_RESET_MC:
        raise SensorError("85 °C power-on reset value: the probe has not converted (power?)")
    if not -55_000 <= millic <= 125_000:
        raise SensorError(f"{millic / 1000} °C is outside the DS18B20 range (-55..125 °C)")
    return millic / 1000.0


def list_devices(w1_root: Path = W1_ROOT) -> list[str]:
    """Serial ids of the DS18B20 probes the kernel sees (family code 28)."""
    return sorted(p.name for p in w1_root.glob("28-*") if (p / "w1_slave").exists())


class DS18B20:
    quantities = (QuantitySpec("temperature", "Cel", Kind.GAUGE, "probe temperature",
                                (-55.0, 125.0)),)

    def __init__(self, device: str | None = None, w1_root: Path = W1_ROOT) -> None:
        if device is None:
            found = list_devices(w1_root)
            if len(found) != 1:
                raise SensorError(f"found {len(found)} DS18B20 probes under {w1_root} "
                                  f"({', '.join(found) or 'none'}): name one with device = ...")
            device = found[0]
        self.path = w1_root / device / "w1_slave"

    def read(self, now: float) -> list[Sample]:
        try:
            text = self.path.read_text()
        except OSError as exc:
            raise SensorError(f"cannot read {self.path}: {exc.strerror} (probe unplugged?)") from exc
        return [Sample("temperature", parse_w1_slave(text))]


def w1_slave_text(celsius: float, crc_ok: bool = True) -> str:
    """What the kernel writes for a probe at `celsius` (for fixture trees and simulation)."""
    head = "72 01 4b 46 7f ff 0e 10 57"
    return f"{head} : crc=57 {'YES' if crc_ok else 'NO'}\n{head} t={round(celsius * 1000)}\n"


def parse(o: Options) -> str | None:
    device = o.get("device", str, None)
    if device is not None and not re.fullmatch(r"28-[0-9a-f]{12}", device):
        raise ValueError(f"device: {device!r} is not a DS18B20 serial (28- and 12 hex digits)")
    return device


def simulate(device: str | None, hw: FakeHardware) -> None:
    probe = hw.w1_root / (device or SIM_DEVICE)
    probe.mkdir(parents=True, exist_ok=True)
    (probe / "w1_slave").write_text(w1_slave_text(12.5))


DRIVERS = (Driver(
    type="ds18b20", summary="DS18B20 1-Wire temperature probe (soil or water)",
    parse=parse, open=lambda device, hw: DS18B20(device, hw.w1_root),
    quantities=lambda device: DS18B20.quantities, sample_config=SAMPLE_CONFIG,
    simulate=simulate),)
