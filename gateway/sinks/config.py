"""`[[sinks]]` in gateway.toml: the options every sink has, then its type's own (each type
parses and checks its options at start-up, naming file, key and reason; an unknown type names
the known ones)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.config import Table

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
COMMON = ("name", "type", "batch", "start", "signals", "events", "max_backoff_s")


@dataclass(frozen=True)
class SinkConfig:
    name: str  # the cursor's name in the store: renaming a sink starts it over
    type: str
    batch: int  # points per write, at most
    start_at_end: bool  # a new sink: only what arrives from now on ("now"), or everything
    signals: bool  # also write the signal values
    events: bool  # also write events (tool loans, sensor availability; never member ids)
    max_backoff_s: float  # the longest wait between tries while the database is down
    options: Any  # the type's own, parsed (for "influxdb": influx.InfluxOptions)


def _influx(t: Table) -> Any:
    from gateway.sinks.influx import parse_options  # parsing needs no client library

    return parse_options(t)


TYPES: dict[str, tuple[Callable[[Table], Any], tuple[str, ...]]] = {
    "influxdb": (_influx, ("url", "org", "bucket", "token", "token_file", "flavor", "ca_file",
                           "timeout_s", "gzip", "settle_s")),
}


def parse_sinks(root: Table) -> tuple[SinkConfig, ...]:
    raw = root.get("sinks", list, [])
    out: list[SinkConfig] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise root.fail(f"sinks[{i}]", "must be a table ([[sinks]])")
        t = Table(root.path, item, f"sinks[{i}].")
        name, kind = t.get("name", str), t.get("type", str)
        if not _NAME.match(name):
            raise t.fail("name", f"{name!r} must be 1-32 of a-z, 0-9, '_', '-'")
        if name in {s.name for s in out}:
            raise t.fail("name", f"two sinks are called {name!r}")
        if kind not in TYPES:
            raise t.fail("type", f"unknown sink type {kind!r}; known: {', '.join(sorted(TYPES))}")
        parse, own = TYPES[kind]
        unknown = sorted(set(item) - set(COMMON) - set(own))
        if unknown:
            raise t.fail(unknown[0], f"unknown option(s) {', '.join(unknown)} for type {kind!r}; "
                                     f"it takes: {', '.join(sorted(COMMON + own))}")
        start = t.get("start", str, "beginning")
        if start not in ("beginning", "now"):
            raise t.fail("start", f"must be 'beginning' or 'now', got {start!r}")
        out.append(SinkConfig(
            name=name, type=kind, batch=int(t.positive("batch", 5000)),
            start_at_end=start == "now", signals=t.get("signals", bool, True),
            events=t.get("events", bool, True),
            max_backoff_s=t.positive("max_backoff_s", 60.0), options=parse(t)))
    return tuple(out)
