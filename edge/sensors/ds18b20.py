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

from contract.senml import Kind
from edge.errors import SensorError
from edge.sensors.base import QuantitySpec, Sample

SAMPLE_CONFIG = """
[[sensors]]
type = "ds18b20"
id = "bed-1"                 # bed-1.temperature
device = "28-0316a2791bff"   # omit to use the only probe on the bus
interval_s = 300
"""

W1_ROOT = Path("/sys/bus/w1/devices")
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
    quantities = (QuantitySpec("temperature", "Cel", Kind.GAUGE, "probe temperature"),)

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
