"""The agent's sampling step with injected sensors and a manual clock (no broker needed)."""

from __future__ import annotations

from pathlib import Path

from contract.senml import Kind
from core.clock import ManualClock
from edge.agent import NodeAgent
from edge.config import load_node_config
from edge.driver import QuantitySpec, Sample
from edge.errors import SensorError
from edge.outbox import Sampled

CONFIG = """
site = "s"
node = "n"
data_dir = "state"
[broker]
password = "x"
[[sensors]]
type = "sim.soil"
id = "flaky"
interval_s = 10
[[sensors]]
type = "sim.water"
interval_s = 10
"""


class Flaky:
    quantities = (QuantitySpec("temperature", "Cel", Kind.GAUGE),)

    def __init__(self) -> None:
        self.broken = False

    def read(self, now: float) -> list[Sample]:
        if self.broken:
            raise SensorError("no ACK from 0x48")
        return [Sample("temperature", 21.5)]


class Steady:
    quantities = (QuantitySpec("level", "l", Kind.GAUGE),)

    def read(self, now: float) -> list[Sample]:
        return [Sample("level", 500.0)]


def test_a_failing_sensor_is_reported_once_never_as_zero_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(CONFIG)
    clock = ManualClock(1_795_392_000.0)
    flaky = Flaky()
    agent = NodeAgent(load_node_config(tmp_path / "node.toml"), clock, [flaky, Steady()])
    rows: list[Sampled] = []

    def tick() -> None:
        agent._sample(clock.now())
        rows.extend(agent.buffer)
        agent.buffer.clear()
        clock.advance(10)

    tick()
    flaky.broken = True
    tick()
    tick()
    flaky.broken = False
    tick()
    agent.outbox.close()
    names = [(r.name, r.value, r.text, r.ref) for r in rows]
    assert names == [
        ("flaky.temperature", 21.5, None, None), ("level", 500.0, None, None),
        ("sensor.unavailable", None, "flaky", "no ACK from 0x48"), ("level", 500.0, None, None),
        ("level", 500.0, None, None),  # still broken: no repeat, and no value for it
        ("sensor.available", None, "flaky", None), ("flaky.temperature", 21.5, None, None),
        ("level", 500.0, None, None)]
