"""What the agent keeps of a sensor's read (edge/sampling.py), on literal samples."""

from __future__ import annotations

from contract.senml import Kind
from edge.driver import QuantitySpec, Sample
from edge.outbox import Sampled
from edge.sampling import QARTOD_FAIL, available, check_samples, unavailable

SPECS = {"temperature": QuantitySpec("temperature", "Cel", Kind.GAUGE, valid=(-40.0, 85.0)),
         "tap": QuantitySpec("tap", None, Kind.EVENT)}
T = 1_795_392_000.0


def name_for(key: str) -> str:
    return f"bed-1.{key}"


def test_declared_samples_are_named_and_timed() -> None:
    checked = check_samples([Sample("temperature", 21.5), Sample("tap", text="T1", ref="m-1"),
                             Sample("temperature", 20.0, time=T - 60)], SPECS, name_for, T)
    assert checked.readings == [
        Sampled(T, "bed-1.temperature", Kind.GAUGE, 21.5, "Cel"),
        Sampled(T, "bed-1.tap", Kind.EVENT, text="T1", ref="m-1"),
        Sampled(T - 60, "bed-1.temperature", Kind.GAUGE, 20.0, "Cel")]  # buffered upstream
    assert checked.latest == {"bed-1.temperature": 20.0} and checked.dropped == []


def test_impossible_values_are_kept_flagged_and_never_the_latest() -> None:
    checked = check_samples([Sample("temperature", 140.0)], SPECS, name_for, T)
    assert [r.q for r in checked.readings] == [QARTOD_FAIL] and checked.latest == {}


def test_undeclared_quantities_and_textless_events_are_dropped_with_the_reason() -> None:
    checked = check_samples([Sample("humidity", 50.0), Sample("tap")], SPECS, name_for, T)
    assert checked.readings == []
    assert checked.dropped == ["undeclared quantity 'humidity'", "event tap without a text"]


def test_a_failing_sensor_becomes_an_event_never_a_zero() -> None:
    gone = unavailable(T, "flaky", "no ACK from 0x48 " * 30)
    assert (gone.name, gone.kind, gone.value, gone.text) == ("sensor.unavailable", Kind.EVENT,
                                                             None, "flaky")
    assert gone.ref is not None and len(gone.ref) == 200
    assert available(T, "flaky") == Sampled(T, "sensor.available", Kind.EVENT, text="flaky")
