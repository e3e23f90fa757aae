"""PZEM-004T v3 AC energy meter over Modbus RTU (9600 8N1, TTL UART), through pymodbus.

Input registers 0x0000-0x0009 (function 0x04), 32-bit values low word first:
    0 voltage 0.1 V | 1-2 current 0.001 A | 3-4 power 0.1 W | 5-6 energy 1 Wh
    7 frequency 0.1 Hz | 8 power factor 0.01 | 9 alarm
Default slave address 0x01 (0xF8 answers whatever the address is, for a single meter).
FakePZEM is a Modbus RTU slave on a pty (CRC-16/MODBUS from the `crc` package).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.errors import SensorError
from edge.fakes.serial import PtyDevice
from edge.hardware import Hardware

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "pzem004t"
id = "house"          # house.ac.voltage, .ac.current, .ac.power, .ac.energy, .ac.frequency, .ac.pf
port = "/dev/ttyUSB0"
slave = 1
interval_s = 30
"""

FUNCTION, COUNT = 0x04, 10


def decode(regs: list[int]) -> dict[str, float]:
    """The ten input registers in SenML units. Pure."""
    if len(regs) != COUNT:
        raise SensorError(f"PZEM-004T: {len(regs)} registers, expected {COUNT}")

    def u32(i: int) -> int:
        return regs[i] | (regs[i + 1] << 16)
    return {"ac.voltage": regs[0] / 10.0, "ac.current": u32(1) / 1000.0,
            "ac.power": u32(3) / 10.0, "ac.energy": float(u32(5)),
            "ac.frequency": regs[7] / 10.0, "ac.power_factor": regs[8] / 100.0}


QUANTITIES = (
    QuantitySpec("ac.voltage", "V", Kind.GAUGE, "RMS voltage", (80.0, 260.0)),
    QuantitySpec("ac.current", "A", Kind.GAUGE, "RMS current", (0.0, 100.0)),
    QuantitySpec("ac.power", "W", Kind.GAUGE, "active power", (0.0, 23_000.0)),
    QuantitySpec("ac.energy", "Wh", Kind.COUNTER, "active energy (meter's register)"),
    QuantitySpec("ac.frequency", "Hz", Kind.GAUGE, "mains frequency", (45.0, 65.0)),
    QuantitySpec("ac.power_factor", "/", Kind.GAUGE, "power factor", (0.0, 1.0)),
)


@dataclass(frozen=True)
class PZEMOptions:
    port: str
    slave: int
    timeout_s: float


class PZEM004T:
    quantities = QUANTITIES

    def __init__(self, opts: PZEMOptions, hw: Hardware) -> None:
        from pymodbus.client import ModbusSerialClient

        self.opts = opts
        self.client = ModbusSerialClient(hw.serial_path(opts.port), baudrate=9600,
                                         timeout=opts.timeout_s, retries=0)
        if not self.client.connect():
            raise SensorError(f"PZEM-004T on {opts.port}: cannot open the port")

    def read(self, now: float) -> list[Sample]:
        from pymodbus.exceptions import ModbusException

        where = f"PZEM-004T {self.opts.slave} on {self.opts.port}"
        try:
            rr = self.client.read_input_registers(0, count=COUNT, device_id=self.opts.slave)
        except ModbusException as exc:
            raise SensorError(f"{where}: {exc} (timeout or garbled answer)") from exc
        if rr.isError():
            raise SensorError(f"{where}: Modbus exception {getattr(rr, 'exception_code', '?')}")
        return [Sample(k, v) for k, v in decode(list(rr.registers)).items()]

    def close(self) -> None:
        self.client.close()


@cache
def _crc() -> Any:
    from crc import Calculator, Crc16

    return Calculator(Crc16.MODBUS.value, optimized=True)


def crc16(data: bytes) -> bytes:
    """CRC-16/MODBUS, sent low byte first."""
    return int(_crc().checksum(data)).to_bytes(2, "little")


@dataclass
class MeterState:
    volts: float = 231.4
    amps: float = 1.942
    watts: float = 420.6
    wh: int = 1_234_567
    hz: float = 50.0
    pf: float = 0.94


class FakePZEM(PtyDevice):
    """A Modbus RTU slave answering function 0x04 for registers 0-9 like the meter does.
    `exception` answers with that exception code; `bad_crc` garbles the answer's CRC."""

    def __init__(self, slave: int = 1, state: MeterState | None = None) -> None:
        self.slave, self.state = slave, state or MeterState()
        self.exception: int | None = None
        self.bad_crc = False
        self.buf = b""
        super().__init__()

    def registers(self) -> list[int]:
        s = self.state
        amps, watts = round(s.amps * 1000), round(s.watts * 10)
        return [round(s.volts * 10), amps & 0xFFFF, amps >> 16, watts & 0xFFFF, watts >> 16,
                s.wh & 0xFFFF, s.wh >> 16, round(s.hz * 10), round(s.pf * 100), 0]

    def respond(self, data: bytes) -> bytes:
        self.buf += data
        if len(self.buf) < 8:
            return b""
        req, self.buf = self.buf[:8], self.buf[8:]
        if crc16(req[:6]) != req[6:] or req[0] not in (self.slave, 0xF8):
            return b""  # a slave ignores frames with a bad CRC or for another address
        if self.exception is not None:
            body = bytes([req[0], req[1] | 0x80, self.exception])
        elif req[1] != FUNCTION:
            body = bytes([req[0], req[1] | 0x80, 0x01])  # illegal function
        else:
            start, count = struct.unpack(">HH", req[2:6])
            regs = self.registers()
            if start + count > len(regs):
                body = bytes([req[0], 0x84, 0x02])  # illegal data address
            else:
                words = regs[start:start + count]
                body = bytes([req[0], FUNCTION, 2 * count]) + struct.pack(f">{count}H", *words)
        checksum = crc16(body)
        if self.bad_crc:
            checksum = bytes([checksum[0] ^ 0xFF, checksum[1]])
        return body + checksum


def parse(o: Options) -> PZEMOptions:
    return PZEMOptions(o.get("port", str), o.integer("slave", 1, low=1, high=0xF8),
                       o.number("timeout_s", 1.0, low=0.1, high=10.0))


def simulate(opts: PZEMOptions, hw: FakeHardware) -> None:
    hw.attach_serial(opts.port, FakePZEM(opts.slave))


DRIVERS = (Driver(
    type="pzem004t", summary="PZEM-004T v3 AC energy meter over Modbus RTU",
    parse=parse, open=lambda o, hw: PZEM004T(o, hw), quantities=lambda o: QUANTITIES,
    sample_config=SAMPLE_CONFIG, simulate=simulate),)
