"""Validate one MQTT message into canonical readings or dead letters. Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contract.errors import ContractError, PackError, RecordError
from contract.rfc8428 import decode_device_pack
from contract.senml import Kind, Reading, SeriesColumns, decode_rows
from contract.topics import DATA_CHANNELS, Channel, NodeId, parse
from contract.units import Conversion, conversion
from gateway.store.rows import DeadLetter, StoredReading, StoredSeries


@dataclass(slots=True)
class Outcome:
    node: NodeId | None
    floor: int | None = None
    readings: list[StoredReading] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    series: list[StoredSeries] = field(default_factory=list)  # validate_message(columns=True)

    @property
    def handled_seqs(self) -> list[int]:
        """Sequence numbers durably handled once committed (stored or dead-lettered)."""
        seqs = [r.seq for r in self.readings] + [d.seq for d in self.dead if d.seq is not None]
        for s in self.series:
            seqs += s.seqs
        return seqs


def canonical(r: Reading, now: float, max_future_s: float) -> StoredReading:
    """One reading in the store's canonical form (the per-pack loop in validate_message does the
    same without building a Reading)."""
    if r.time > now + max_future_s:
        raise RecordError(f"time {r.time} is more than {max_future_s:.0f} s in the future")
    if r.kind is Kind.EVENT:
        return StoredReading(r.seq, round(r.time * 1000), r.name, r.kind.value, None, None,
                             r.text, r.ref)
    assert r.unit is not None and r.value is not None
    conv = conversion(r.unit)
    return StoredReading(r.seq, round(r.time * 1000), r.name, r.kind.value, conv.canonical,
                         conv.apply(r.value), None, None, r.cal, r.q)


def _record_json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), default=str).encode()


def validate_message(topic: str, payload: bytes, now: float, *, max_pack_bytes: int,
                     max_future_s: float, columns: bool = False) -> Outcome:
    """The message's readings and dead letters. With `columns`, a plain pack of gauges and
    counters comes back as `series` (the same readings, column by column, for the store's bulk
    path); anything else as `readings`."""
    try:
        node, channel = parse(topic)
    except ContractError as exc:
        return Outcome(None, dead=[DeadLetter(topic, None, None, str(exc), payload)])
    if channel not in DATA_CHANNELS:
        reason = f"channel '{channel}' does not carry readings"
        return Outcome(node, dead=[DeadLetter(topic, node, None, reason, payload)])
    try:
        pack = decode_rows(payload, node, max_pack_bytes, columns=columns)
        if pack.series:
            if channel is Channel.READINGS and max(
                    max(s.times_ms) for s in pack.series) < (now + max_future_s) * 1000 - 1:
                return Outcome(node, pack.floor, series=_canonical_series(pack.series))
            pack = decode_rows(payload, node, max_pack_bytes)  # record by record, with reasons
    except PackError as exc:
        return Outcome(node, dead=[DeadLetter(topic, node, None, str(exc), payload)])
    out = Outcome(node, pack.floor)
    for rej in pack.rejects:
        out.dead.append(DeadLetter(topic, node, rej.seq, rej.reason, _record_json(rej.record)))
    want_events = channel is Channel.EVENTS
    latest = now + max_future_s
    convs: dict[str | None, Conversion] = {}
    keep = out.readings.append
    for seq, time, name, kind, value, unit, text, ref, cal, q in pack.rows:
        if (kind is Kind.EVENT) != want_events:
            reason = f"{kind} record on the {channel} channel"
        elif time > latest:
            reason = f"time {time} is more than {max_future_s:.0f} s in the future"
        elif kind is Kind.EVENT:
            keep(StoredReading(seq, round(time * 1000), name, kind.value, None, None, text, ref))
            continue
        else:
            conv = convs.get(unit)
            if conv is None:
                conv = convs[unit] = conversion(unit)  # type: ignore[arg-type]
            keep(StoredReading(seq, round(time * 1000), name, kind.value, conv.canonical,
                               value * conv.scale + conv.offset,  # type: ignore[operator]
                               None, None, cal, q))
            continue
        out.dead.append(DeadLetter(topic, node, seq, f"seq {seq}: {reason}",
                                   _record_json({"n": name, "seq": seq, "t": time})))
    return out


def _canonical_series(series: list[SeriesColumns]) -> list[StoredSeries]:
    out = []
    for s in series:
        conv = conversion(s.unit)
        values = s.values if (conv.scale, conv.offset) == (1.0, 0.0) else [
            v * conv.scale + conv.offset for v in s.values]  # as the row path computes it
        out.append(StoredSeries(s.name, s.kind.value, conv.canonical, s.seqs, s.times_ms, values,
                                s.cals, s.qs))
    return out


@dataclass(slots=True)
class DeviceOutcome:
    """A third-party device's pack (contract/rfc8428.py): readings without sequence numbers
    (seq 0: the store numbers them), and what was refused."""

    device: NodeId
    readings: list[StoredReading] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


def validate_device_message(topic: str, device: NodeId, payload: bytes, now: float, *,
                            max_pack_bytes: int, max_future_s: float) -> DeviceOutcome:
    out = DeviceOutcome(device)
    try:
        pack = decode_device_pack(payload, now, max_pack_bytes)
    except PackError as exc:
        out.dead.append(DeadLetter(topic, device, None, str(exc), payload))
        return out
    for _, reason, record in pack.rejects:
        out.dead.append(DeadLetter(topic, device, None, reason, _record_json(record)))
    for r in pack.records:
        if r.time > now + max_future_s:
            out.dead.append(DeadLetter(topic, device, None, f"{r.name}: time {r.time} is more "
                                       f"than {max_future_s:.0f} s in the future",
                                       _record_json({"n": r.name, "t": r.time})))
        elif r.kind is Kind.EVENT:
            out.readings.append(StoredReading(0, round(r.time * 1000), r.name, r.kind.value,
                                              None, None, r.text, None))
        else:
            assert r.unit is not None and r.value is not None
            conv = conversion(r.unit)
            out.readings.append(StoredReading(0, round(r.time * 1000), r.name, r.kind.value,
                                              conv.canonical, conv.apply(r.value), None, None))
    return out
