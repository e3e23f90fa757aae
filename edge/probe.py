"""`eil node probe`: find what is wired to this node and suggest a [[sensors]] block for it.

I2C buses are scanned and each answering address is matched against the drivers that can live
there, using the chip's identity registers where it has them. 1-Wire probes are listed from
sysfs. Serial ports are listed; with `serial=True` they are also asked (a JSN-SR04T trigger, a
Modbus read at the PZEM's general address), which sends bytes to whatever is attached.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.driver import i2c_locked
from edge.errors import SensorError
from edge.hardware import Hardware
from edge.registry import REGISTRY
from edge.sensors import ds18b20, jsn_sr04t, pzem004t


@dataclass(frozen=True)
class Finding:
    where: str  # "i2c-1 0x36", "1-Wire 28-...", "/dev/ttyUSB0"
    types: tuple[str, ...]  # driver types that fit; empty when unrecognised
    block: str  # suggested config (TOML), or a note


def _block(kind: str, lines: list[str]) -> str:
    return "\n".join(["[[sensors]]", f'type = "{kind}"', *lines, "interval_s = 300"])


def probe_i2c(hw: Hardware) -> list[Finding]:
    out = []
    for bus in hw.i2c_buses():
        i2c = hw.i2c(bus)
        with i2c_locked(i2c):
            addresses = list(i2c.scan())
        for address in addresses:
            fits = []
            for driver in REGISTRY.values():
                if address not in driver.i2c_addresses:
                    continue
                try:
                    if driver.identify is None or driver.identify(i2c, address):
                        fits.append(driver)
                except (OSError, SensorError, ValueError):
                    continue
            identified = [d for d in fits if d.identify is not None]
            fits = identified or fits
            where = f"i2c-{bus} 0x{address:02x}"
            if not fits:
                out.append(Finding(where, (), f"# {where}: a device this version does not know"))
                continue
            lines = [f"bus = {bus}", f"address = 0x{address:02x}"]
            if len(fits) > 1:
                lines.insert(0, f"# also possible: {', '.join(d.type for d in fits[1:])}")
            out.append(Finding(where, tuple(d.type for d in fits), _block(fits[0].type, lines)))
    return out


def probe_w1(hw: Hardware) -> list[Finding]:
    return [Finding(f"1-Wire {dev}", ("ds18b20",), _block("ds18b20", [f'device = "{dev}"']))
            for dev in ds18b20.list_devices(hw.w1_root)]


def probe_serial(hw: Hardware, ask: bool) -> list[Finding]:
    out = []
    for port in hw.serial_ports():
        if not ask:
            out.append(Finding(port, (), f"# {port}: serial port (not asked; use --serial)"))
            continue
        kind = _ask_serial(hw, port)
        if kind is None:
            out.append(Finding(port, (), f"# {port}: no JSN-SR04T or PZEM-004T answered"))
        else:
            out.append(Finding(port, (kind,), _block(kind, [f'port = "{port}"'])))
    return out


def _ask_serial(hw: Hardware, port: str) -> str | None:
    try:
        opts = jsn_sr04t.TankOptions(port, True, 1.0, 6.0, 5.0)
        sensor = jsn_sr04t.TankLevel(opts, hw, timeout_s=0.7)
        try:
            sensor.distance_mm()
            return "jsn_sr04t"
        except SensorError:
            pass
        finally:
            sensor.close()
        meter = pzem004t.PZEM004T(pzem004t.PZEMOptions(port, 0xF8, 0.5), hw)
        try:
            meter.read(0.0)
            return "pzem004t"
        except SensorError:
            return None
        finally:
            meter.close()
    except SensorError:
        return None


def probe(hw: Hardware, serial: bool = False) -> list[Finding]:
    return probe_i2c(hw) + probe_w1(hw) + probe_serial(hw, serial)
