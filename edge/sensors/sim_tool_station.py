"""Simulated tool-library station: members check tools out and in during opening hours.

Each loan is an event record: name `loan.checkout` or `loan.checkin`, the tool tag as the value
and the member's pseudonym as `ref`. Pseudonyms are HMAC-SHA256 of the card UID with the site key,
made on the station, so the raw UID never leaves it (the same rule the real station follows).
"""

from __future__ import annotations

import random

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.station import pseudonym

SAMPLE_CONFIG = """
[[sensors]]
type = "sim.tool_station"
interval_s = 60       # how often the station is polled for taps
seed = 4
tools = 40
members = 25
taps_per_open_hour = 6.0  # a quarter of that when closed (unattended station)
"""

DAY = 86_400.0
DEMO_KEY = b"demo-site-key"


def member_uid(i: int, seed: int) -> str:
    return f"04{i:02X}A1{seed:02X}00"  # a simulated card
OPEN_H, CLOSE_H = 9.0, 18.0


class SimToolStation:
    quantities = (
        QuantitySpec("loan.checkout", None, Kind.EVENT, "a tool leaves the library"),
        QuantitySpec("loan.checkin", None, Kind.EVENT, "a tool comes back"),
    )

    def __init__(self, seed: int = 4, tools: int = 40, members: int = 25,
                 taps_per_open_hour: float = 6.0, site_key: bytes = DEMO_KEY) -> None:
        self.rng = random.Random(seed)
        self.tools = [f"T{i:03d}" for i in range(1, tools + 1)]
        self.members = [pseudonym(site_key, member_uid(i, seed)) for i in range(members)]
        self.rate = taps_per_open_hour
        self.out: dict[str, str] = {}  # tool -> member pseudonym
        self.last: float | None = None

    def read(self, now: float) -> list[Sample]:
        dt = 0.0 if self.last is None else max(0.0, now - self.last)
        self.last = now
        hour = (now % DAY) / 3600.0
        rate = self.rate if OPEN_H <= hour < CLOSE_H else self.rate / 4
        if self.rng.random() >= rate * dt / 3600.0:
            return []
        home = [t for t in self.tools if t not in self.out]
        if self.out and (not home or self.rng.random() < 0.45):
            tool = self.rng.choice(sorted(self.out))
            return [Sample("loan.checkin", text=tool, ref=self.out.pop(tool))]
        tool, member = self.rng.choice(home), self.rng.choice(self.members)
        self.out[tool] = member
        return [Sample("loan.checkout", text=tool, ref=member)]


def parse(o: Options) -> dict[str, float]:
    return {"seed": o.integer("seed", 4),
                "tools": o.integer("tools", 40),
                "members": o.integer("members", 25),
                "taps_per_open_hour": o.number("taps_per_open_hour", 6.0)}


DRIVERS = (Driver(
    type="sim.tool_station", summary="simulated tool-library station: check-out / check-in events",
    parse=parse, open=lambda kw, hw: SimToolStation(**kw), quantities=lambda kw: SimToolStation.quantities,
    sample_config=SAMPLE_CONFIG),)
