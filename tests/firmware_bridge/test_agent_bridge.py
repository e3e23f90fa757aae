"""The pico_bridge sensor inside the real node agent: MCU readings land in the outbox with the
time the MCU measured them, the MCU frees them only after the outbox commit, and a node that
dies without flushing resumes from the mark committed with its data: nothing lost, nothing
twice."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from contract.senml import Kind
from core.clock import SystemClock
from edge.agent import NodeAgent
from edge.config import load_node_config
from edge.fakes.hardware import FakeHardware
from edge.fakes.mcu import SimulatedMcu
from eilfw import proto
from tests.support.site import wait_until

CONFIG = """
site = "s"
node = "n"
data_dir = "state"
[broker]
password = "x"
[publish]
commit_interval_s = 0.2
[[sensors]]
type = "pico_bridge"
id = "pico"
port = "/dev/ttyAMA0"
interval_s = 0.3
measure_interval_s = 0.5
channels = ["ct", "flow", "temp"]
"""


def outbox_rows(agent: NodeAgent) -> list[tuple[float, str, float, str]]:
    return [(r.time, r.name, r.value, r.unit) for r in agent.outbox.pending(0, 10**6)
            if r.kind is not Kind.EVENT]


def test_mcu_readings_are_committed_with_their_time_and_survive_a_node_crash(
        tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(CONFIG)
    cfg = load_node_config(tmp_path / "node.toml")
    hw = FakeHardware(data_dir=tmp_path)
    mcu = SimulatedMcu(measure_interval_s=5.0)  # the node's configuration sets 0.5 s
    hw.attach_serial("/dev/ttyAMA0", mcu)
    try:
        agent = NodeAgent(cfg, SystemClock(), hardware=hw)
        started = time.time()
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            agent.step()
            time.sleep(0.05)
        agent.flush()
        rows = outbox_rows(agent)
        currents = [(t, v) for t, name, v, _ in rows if name == "pico.ac.current"]
        assert len(currents) >= 4
        assert all(started - 0.5 <= t <= time.time() for t, _ in currents)
        gaps = [b[0] - a[0] for a, b in zip(currents, currents[1:], strict=False)]
        # MCU measurement times, not read times (the first measurement precedes the CONFIG)
        assert all(abs(g - 0.5) < 0.05 for g in gaps[1:]), gaps
        assert {v for _, v in currents} == {3.998238}  # 4 A through the simulated clamp (12-bit ADC)
        assert {(n, u) for _, n, _, u in rows} == {
            ("pico.ac.current", "A"), ("pico.ac.power", "W"), ("pico.ac.apparent_power", "VA"),
            ("pico.water.pulses", "count"), ("pico.water.volume", "l"),
            ("pico.mcu.temperature", "Cel")}
        wait_until(lambda: mcu.link.oldest > 0, 2, "the commit to release them on the MCU")

        # Crash: sample without flushing, then abandon the agent (its buffer dies with it).
        for _ in range(10):
            agent._sample(time.time())  # sampling without the step's periodic flush
            time.sleep(0.1)
        assert agent.buffer  # readings received from the MCU, not committed
        # (the outbox is not closed: a crash does not record anything on its way out)
        for sensor in agent.sensors:
            sensor.close()  # type: ignore[attr-defined]

        agent = NodeAgent(cfg, SystemClock(), hardware=hw)
        mcu.pause()

        def all_committed() -> bool:
            agent.step()
            agent.flush()
            return mcu.link.held == 0 and mcu.link.rx_next == mcu.link.head
        wait_until(all_committed, 15, "the MCU to hand over everything after the restart")
        rows = outbox_rows(agent)
        per_name = Counter(name for _, name, _, _ in rows)
        measured = sum(record[0] == proto.CH_IRMS for record in mcu.generated.values())
        assert set(per_name.values()) == {measured}, per_name  # none lost, none twice
        pulses = [v for _, n, v, _ in rows if n == "pico.water.pulses"]
        assert pulses == sorted(pulses)
        agent.shutdown()
    finally:
        mcu.close()
        hw.close()
