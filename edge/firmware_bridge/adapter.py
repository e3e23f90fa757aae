"""The microcontroller's channels as one sensor of the node agent, so MCU readings go through the
same outbox, contract and calibration as any other: the `pico_bridge` sensor type.

Readings keep the time they were measured on the MCU (mapped to node time through the session's
time sync), and the MCU frees them only after the agent has committed them (edge.handoff).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from contract.senml import Kind
from edge.driver import Options, QuantitySpec, Sample
from edge.errors import SensorError
from edge.firmware_bridge.transport import READ_TIMEOUT_S, Bridge
from edge.hardware import Hardware
from eilfw import firmware, proto

log = logging.getLogger("eil.bridge")

CT = (QuantitySpec("ac.current", "A", Kind.GAUGE, "RMS current through the CT clamp", (0.0, 100.0)),
      QuantitySpec("ac.power", "W", Kind.GAUGE, "real power (apparent power when the voltage is "
                   "assumed)", (-25_000.0, 25_000.0)),
      QuantitySpec("ac.apparent_power", "VA", Kind.GAUGE, "Vrms x Irms", (0.0, 25_000.0)))
VRMS = QuantitySpec("ac.voltage", "V", Kind.GAUGE, "RMS mains voltage", (0.0, 300.0))
GROUPS = {
    "ct": CT,
    "flow": (QuantitySpec("water.pulses", "count", Kind.COUNTER, "flow pulses since MCU boot"),
             QuantitySpec("water.volume", "l", Kind.COUNTER, "litres since MCU boot")),
    "meter": (QuantitySpec("energy.pulses", "count", Kind.COUNTER, "meter pulses since MCU boot"),
              QuantitySpec("energy", "Wh", Kind.COUNTER, "energy since MCU boot")),
    "soil": (QuantitySpec("soil.moisture_voltage", "V", Kind.GAUGE, "soil probe output",
                          (0.0, 3.3)),),
    "temp": (QuantitySpec("mcu.temperature", "Cel", Kind.GAUGE, "RP2040 die temperature",
                          (-40.0, 100.0)),),
}
EVENTS = (QuantitySpec("mcu.boot", None, Kind.EVENT, "the microcontroller (re)started"),
          QuantitySpec("mcu.gap", None, Kind.EVENT, "readings overwritten in a full MCU buffer"))
DIRECT = {proto.CH_IRMS: "ac.current", proto.CH_REAL_POWER: "ac.power",
          proto.CH_APPARENT_POWER: "ac.apparent_power", proto.CH_VRMS: "ac.voltage",
          proto.CH_SOIL_VOLTS: "soil.moisture_voltage", proto.CH_MCU_TEMP: "mcu.temperature"}


@dataclass(frozen=True)
class BridgeOptions:
    source: str  # the sensor's name: the key of its hand-off mark
    port: str
    baud: int
    groups: tuple[str, ...]
    voltage: str
    mcu: dict[str, str]  # settings sent to the MCU (validated by the firmware's own parser)
    flow_pulses_per_litre: float
    meter_pulses_per_kwh: float
    silence_s: float


def parse_bridge(o: Options) -> BridgeOptions:
    groups = o.get("channels", list, ["ct", "flow", "meter", "soil", "temp"])
    if not groups or not all(isinstance(g, str) and g in GROUPS for g in groups):
        raise ValueError(f"channels: {groups!r} must list some of {', '.join(GROUPS)}")
    voltage = o.choice("voltage", ("assumed", "measured"), "assumed")
    mcu = {"channels": ",".join(groups), "voltage": voltage,
           "interval_s": f"{o.number('measure_interval_s', 10.0, low=0.5, high=3600):g}",
           "mains_hz": str(o.integer("mains_hz", 50)),
           "volts": f"{o.number('volts', 230.0, low=1, high=500):g}",
           "ct_amps_per_volt": f"{o.number('ct_amps_per_volt', 30.0, low=0.001):g}",
           "vt_volts_per_volt": f"{o.number('vt_volts_per_volt', 0.0, low=0.0):g}"}
    firmware.parse_settings(mcu)  # the firmware would refuse it: say so at start-up instead
    return BridgeOptions(o.cfg.name, o.get("port", str), o.integer("baud", 115200, low=1200),
                         tuple(groups), voltage, mcu,
                         o.number("flow_pulses_per_litre", 450.0, low=0.001),
                         o.number("meter_pulses_per_kwh", 1000.0, low=0.001),
                         o.number("silence_s", 30.0, low=1.0))


def bridge_quantities(opts: BridgeOptions) -> tuple[QuantitySpec, ...]:
    specs: list[QuantitySpec] = []
    for g in opts.groups:
        specs += GROUPS[g]
        if g == "ct" and opts.voltage == "measured":
            specs.append(VRMS)
    return (*specs, *EVENTS)


def _f32(value: float) -> float:
    return float(f"{value:.7g}")  # a float32's digits, not its binary expansion


class BridgeSensor:
    def __init__(self, opts: BridgeOptions, hw: Hardware) -> None:
        self.opts = opts
        self.quantities = bridge_quantities(opts)
        self.declared = {q.key for q in self.quantities}
        self.handoff = hw.handoff
        port = hw.serial(opts.port, baudrate=opts.baud, timeout=READ_TIMEOUT_S)
        self.bridge = Bridge(port, resume=self.handoff.mark(opts.source), config=opts.mcu)
        self.handoff.listen(opts.source, self.bridge.committed)
        self.opened = time.monotonic()
        self.warned: set[str] = set()

    def _samples(self, channel: int, value: float, at: float) -> list[Sample]:
        if channel == proto.CH_FLOW_PULSES:
            return [Sample("water.pulses", value, time=at),
                    Sample("water.volume", round(value / self.opts.flow_pulses_per_litre, 6),
                           time=at)]
        if channel == proto.CH_METER_PULSES:
            return [Sample("energy.pulses", value, time=at),
                    Sample("energy", round(value * 1000 / self.opts.meter_pulses_per_kwh, 6),
                           time=at)]
        return [Sample(DIRECT[channel], _f32(value), time=at)]

    def read(self, now: float) -> list[Sample]:
        items, mark = self.bridge.take()
        mono_now = time.monotonic()
        out = [Sample(key, text=text, ref=ref,
                      time=None if mono is None else now - max(0.0, mono_now - mono))
               for key, text, ref, mono in self.bridge.events()]
        for r, mono in items:
            for s in self._samples(r.channel, r.value, now - max(0.0, mono_now - mono)):
                if s.key in self.declared:
                    out.append(s)
                elif s.key not in self.warned:
                    self.warned.add(s.key)
                    log.warning("%s: the MCU sends %s, which this sensor's channels do not "
                                "include; dropped", self.opts.source, s.key)
        if mark is not None:  # readings returned: their mark is committed with them
            self.handoff.stage(self.opts.source, mark)
            return out
        if self.bridge.error is not None:
            raise SensorError(f"{self.opts.port}: {self.bridge.error}")
        silent = min(self.bridge.silent_for(), mono_now - self.opened)
        if not out and silent > self.opts.silence_s:
            raise SensorError(f"no frame from the microcontroller on {self.opts.port} for "
                              f"{silent:.0f} s (powered? TX/RX crossed? baud {self.opts.baud}?)")
        return out

    def close(self) -> None:
        self.handoff.unlisten(self.opts.source)
        self.bridge.close()
