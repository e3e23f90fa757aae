"""`eil node calibrate`: measure calibration points on the sensor itself (or take them from the
command line), fit the method's map, and add the calibration to the node's book.

Interactive use prompts for each reference and waits for Enter while the probe settles; scripts
pass `--reference` values with `--yes` (measured straight away, one after another) or `--raw
RAW=REFERENCE` pairs measured earlier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import ConfigError
from edge.calibration import Calibration, CalibrationBook, CalibrationError, fit
from edge.config import NodeConfig
from edge.driver import SensorConfig
from edge.hardware import Hardware
from edge.registry import driver_for, parse_options

Ask = Callable[[str], str]  # prompt -> answer (input() interactively)


@dataclass
class Request:
    sensor: str
    method: str | None = None
    references: tuple[float, ...] = ()
    raws: tuple[tuple[float, float], ...] = ()  # (raw, reference) measured earlier
    note: str = ""
    samples: int = 5  # readings averaged per point


def sensor_config(cfg: NodeConfig, name: str) -> SensorConfig:
    for sc in cfg.sensors:
        if sc.name == name:
            return sc
    names = ", ".join(sc.name for sc in cfg.sensors)
    raise ConfigError(f"{cfg.path}: no sensor {name!r}; this node has: {names}")


def calibrate(cfg: NodeConfig, req: Request, hw: Hardware, ask: Ask | None,
              say: Callable[[str], None] = print) -> Calibration:
    sc = sensor_config(cfg, req.sensor)
    driver = driver_for(sc)
    spec = driver.calibration
    if spec is None:
        raise CalibrationError(f"{sc.name} ({sc.type}) takes no calibration")
    method = req.method or spec.methods[0]
    if method not in spec.methods:
        raise CalibrationError(f"{sc.type} calibrates by {', '.join(spec.methods)}, not {method}")
    if req.raws:
        if spec.device_side:
            raise CalibrationError(f"{sc.type} is calibrated inside the device: points must be "
                                   "measured now, not given with --raw")
        points = list(req.raws)
    else:
        options = parse_options(sc)
        if hw.fake and driver.simulate is not None:
            driver.simulate(options, hw)  # type: ignore[arg-type]
        device = driver.open(options, hw)
        points = _measure(device, spec.raw, method, spec.device_side, list(req.references),
                          spec.reference, req.samples, hw, ask, say)
    report = None
    if spec.device_side:
        gain, offset = 1.0, 0.0
        report = device.calibration_report()  # type: ignore[attr-defined]
    else:
        gain, offset = fit(method, points)
    cal = Calibration(sc.name, sc.type, method, tuple(points), gain, offset, at=time.time(),
                      note=req.note, device=report)
    CalibrationBook(cfg.data_dir / "calibrations.json").add(cal)
    return cal


def _mean_raw(device: object, key: str, samples: int, hw: Hardware) -> float:
    values = []
    for i in range(samples):
        if i:
            hw.sleep(1.0)
        for s in device.read(time.time()):  # type: ignore[attr-defined]
            if s.key == key and s.value is not None:
                values.append(s.value)
    if not values:
        raise CalibrationError(f"the sensor returned no {key!r}")
    return sum(values) / len(values)


def _measure(device: object, key: str, method: str, device_side: bool, refs: list[float],
             what: str, samples: int, hw: Hardware, ask: Ask | None,
             say: Callable[[str], None]) -> list[tuple[float, float]]:
    if ask is None and not refs:
        raise CalibrationError("no --reference given (or run interactively)")
    if method == "k_factor" and ask is None:
        raise CalibrationError("a k_factor calibration times a known volume or dose: run it "
                               "interactively, or give --raw COUNT=REFERENCE")
    points: list[tuple[float, float]] = []
    given = bool(refs)  # from the command line: take those, ask for no more
    i = 0
    while True:
        if i < len(refs):
            ref = refs[i]
        elif ask is None or given:
            break
        else:
            answer = ask(f"reference {i + 1} ({what}); empty to finish: ").strip()
            if not answer:
                break
            try:
                ref = float(answer)
            except ValueError:
                say(f"not a number: {answer!r}")
                continue
            refs.append(ref)
        if method == "k_factor":
            assert ask is not None
            ask("press Enter, then let exactly that amount pass; ")
            before = _mean_raw(device, key, 1, hw)
            ask("press Enter when it has passed: ")
            raw = _mean_raw(device, key, 1, hw) - before
        else:
            if ask is not None:
                ask(f"put the probe in {ref} and wait until it settles, then press Enter: ")
            if device_side:
                raw = device.calibrate_point(ref, i, refs)  # type: ignore[attr-defined]
            else:
                raw = _mean_raw(device, key, samples, hw)
        say(f"point {i + 1}: raw {raw:g} -> {ref:g}")
        points.append((raw, ref))
        i += 1
    return points
