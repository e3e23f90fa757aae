"""Calibrations: how a raw sensor value becomes a calibrated one, stored with its provenance.

A calibration records when it was made, by which method, from which points (raw value measured,
reference value known), the linear map fitted to them and a note. Its identity is a hash of that
content, and every reading computed with it carries the identity (`cal` on the wire) next to its
raw twin, so stored data can be traced to its calibration and re-computed.

Methods (all fit value = gain * raw + offset):
  two_point    two points, e.g. a soil probe in dry and in wet soil of known water content
  multi_point  least squares over two or more points, e.g. pH 4 / 7 / 10 buffers
  k_factor     one point through zero, e.g. pulses counted while a known volume flowed
A driver may instead calibrate inside the device (Atlas EZO): then the record documents what
was done and the device's readings carry its identity; the map is the identity map.

The book is one JSON file in the node's data directory, rewritten atomically. The agent re-reads
it when it changes, so a new calibration applies to readings taken after it, never before.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from contract.senml import Kind
from edge.driver import CalibrationSpec, QuantitySpec, Sample, Sensor
from edge.errors import EdgeError

METHODS = ("two_point", "multi_point", "k_factor")


class CalibrationError(EdgeError):
    pass


@dataclass(frozen=True)
class Calibration:
    sensor: str
    type: str
    method: str
    points: tuple[tuple[float, float], ...]  # (raw, reference)
    gain: float
    offset: float
    at: float
    note: str = ""
    device: str | None = None  # device-side: what the device reported afterwards
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            body = json.dumps(self._content(), sort_keys=True, separators=(",", ":"))
            object.__setattr__(self, "id", "c-" + hashlib.sha256(body.encode()).hexdigest()[:12])

    def _content(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("id")
        d["points"] = [list(p) for p in self.points]
        return d

    def apply(self, raw: float) -> float:
        return self.gain * raw + self.offset

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, **self._content()}

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Calibration:
        points = tuple((float(r), float(v)) for r, v in d["points"])  # type: ignore[attr-defined]
        return cls(sensor=str(d["sensor"]), type=str(d["type"]), method=str(d["method"]),
                   points=points, gain=float(d["gain"]), offset=float(d["offset"]),  # type: ignore[arg-type]
                   at=float(d["at"]), note=str(d.get("note", "")),  # type: ignore[arg-type]
                   device=d.get("device"), id=str(d["id"]))  # type: ignore[arg-type]

    def summary(self) -> str:
        return json.dumps({"method": self.method, "points": [list(p) for p in self.points],
                           "gain": self.gain, "offset": self.offset, "at": self.at,
                           "note": self.note[:120], "device": self.device},
                          separators=(",", ":"))


def fit(method: str, points: list[tuple[float, float]]) -> tuple[float, float]:
    """(gain, offset) of value = gain * raw + offset through `points` of (raw, reference)."""
    if method not in METHODS:
        raise CalibrationError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if method == "k_factor":
        if len(points) != 1:
            raise CalibrationError(f"k_factor takes one point (raw, reference), got {len(points)}")
        raw, ref = points[0]
        if raw <= 0 or ref <= 0:
            raise CalibrationError(f"k_factor needs a positive raw count and reference, got "
                                   f"{raw} and {ref}")
        return ref / raw, 0.0
    if method == "two_point" and len(points) != 2:
        raise CalibrationError(f"two_point takes exactly two points, got {len(points)}")
    if len(points) < 2:
        raise CalibrationError(f"{method} needs at least two points, got {len(points)}")
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        raise CalibrationError("all points have the same raw value: the sensor did not respond "
                               "to the change of reference (is it in the medium?)")
    gain = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx
    return gain, my - gain * mx


class CalibrationBook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[Calibration] = []
        self._mtime: float | None = None
        self._checked = 0.0
        self.reload()

    def reload(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self.records, self._mtime = [], None
            return
        if st.st_mtime == self._mtime:
            return
        try:
            doc = json.loads(self.path.read_text())
            self.records = [Calibration.from_json(d) for d in doc["calibrations"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"{self.path}: not a calibration book ({exc})") from exc
        self._mtime = st.st_mtime

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked >= 1.0:  # a stat per second, not per reading
            self._checked = now
            self.reload()

    def add(self, cal: Calibration) -> None:
        self.reload()
        records = [*self.records, cal]
        doc = {"calibrations": [c.to_json() for c in records]}
        tmp = self.path.with_suffix(".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.records = records
        self._mtime = self.path.stat().st_mtime

    def find(self, cal_id: str) -> Calibration | None:
        return next((c for c in self.records if c.id == cal_id), None)

    def history(self, sensor: str) -> list[Calibration]:
        return [c for c in self.records if c.sensor == sensor]

    def active(self, sensor: str, pinned: str | None = None) -> Calibration | None:
        self._fresh()
        if pinned is not None:
            return self.find(pinned)
        mine = self.history(sensor)
        return max(mine, key=lambda c: c.at) if mine else None


CALIBRATION_EVENT = QuantitySpec("calibration", None, Kind.EVENT,
                                 "a calibration came into use: vs = its record, ref = its id")


class CalibratedSensor:
    """Adds the calibrated quantities (and their calibration identity) to a driver's raw ones,
    and announces each calibration once, as an event, when it comes into use."""

    def __init__(self, inner: Sensor, spec: CalibrationSpec, book: CalibrationBook, sensor: str,
                 driver_type: str, pinned: str | None = None) -> None:
        self.inner, self.spec, self.book = inner, spec, book
        self.sensor, self.driver_type, self.pinned = sensor, driver_type, pinned
        self.quantities = (*inner.quantities, *(o.spec for o in spec.outputs), CALIBRATION_EVENT)
        self.announced: str | None = None
        if pinned is not None and book.find(pinned) is None:
            raise CalibrationError(f"calibration {pinned!r} is not in {book.path}")

    def current(self) -> tuple[str, Callable[[float], float]] | None:
        cal = self.book.active(self.sensor, self.pinned)
        if cal is not None:
            return cal.id, cal.apply
        if self.spec.nominal is not None:
            gain, offset = self.spec.nominal
            return f"nominal:{self.driver_type}", lambda raw: gain * raw + offset
        return None  # uncalibrated: raw values only, never invented calibrated ones

    def read(self, now: float) -> list[Sample]:
        samples = self.inner.read(now)
        cur = self.current()
        if cur is None:
            return samples
        cal_id, apply = cur
        out: list[Sample] = []
        if cal_id != self.announced:
            cal = self.book.find(cal_id)
            out.append(Sample(CALIBRATION_EVENT.key, text=cal.summary() if cal else cal_id,
                              ref=cal_id))
            self.announced = cal_id
        for s in samples:
            if s.key in self.spec.tagged:  # device-side: only a recorded calibration gets here
                s = Sample(s.key, s.value, cal=cal_id, time=s.time)
            out.append(s)
            if s.value is None:
                continue
            for o in self.spec.outputs:
                if o.raw == s.key:
                    out.append(Sample(o.spec.key, o.factor * apply(s.value), cal=cal_id,
                                      time=s.time))
        return out

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


