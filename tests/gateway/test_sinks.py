"""The InfluxDB-protocol sink against a real VictoriaMetrics: every stored reading and signal
value arrives once with its tags, a replay doubles nothing, a database that is down keeps the
cursor, a point the database refuses is recorded with its reason and skipped, and retention
keeps what a sink has not written."""

from __future__ import annotations

import gzip
import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.topics import NodeId
from core.clock import ManualClock
from core.config import Table
from core.errors import ConfigError
from gateway.config import RetentionConfig
from gateway.sinks.config import SinkConfig, parse_sinks
from gateway.sinks.influx import SAMPLE_CONFIG, InfluxOptions, Unavailable
from gateway.sinks.runner import SinkRunner
from gateway.store import DataDir, Store
from gateway.store.rows import SignalValue, StoredReading
from tests.gateway.test_cold_store import HOUR, T0, A, B, commit, readings
from tests.support.site import wait_until
from tests.support.victoria import Victoria


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Victoria]:
    vm = Victoria(tmp_path_factory.mktemp("vm")).start()
    yield vm
    vm.stop()


def sink(url: str, name: str = "vm", batch: int = 700, flavor: str = "victoriametrics"
         ) -> SinkConfig:
    return SinkConfig(name=name, type="influxdb", batch=batch, start_at_end=False, signals=True,
                      events=True, max_backoff_s=1.0,
                      options=InfluxOptions(url=url, org="eil", bucket="eil", token="",
                                            flavor=flavor, ca_file=None, timeout_s=5.0,
                                            gzip=True))


def drain(runner: SinkRunner, steps: int = 100) -> int:
    written = 0
    try:
        for _ in range(steps):
            step = runner.step()
            if step.idle:
                return written
            written += step.written
    finally:
        runner.close()
    raise AssertionError("the sink did not catch up")


def site_data(tmp_path: Path) -> tuple[DataDir, Store]:
    data = DataDir(tmp_path / "gw")
    store = data.readings()
    commit(store, readings(A, 300))
    commit(store, readings(B, 200))
    while store.move_cold(T0 + 24 * HOUR):  # a day of them in cold chunks, the rest hot
        pass
    with data.signal_history() as history:
        for run in range(5):
            history.add([SignalValue("water.use@site", "water.use", "site", 10.0 + run, "l/d",
                                     "safe", False, None, None, 400.0),
                         SignalValue("soil.water@bed-1", "soil.water", "bed-1", None, "%",
                                     None, False, "no data", 20.0, None)], T0 + run * HOUR)
    return data, store


def stored_points(store: Store, site: str) -> dict[tuple[str, ...], float]:
    return {(r.node, r.name, r.unit or "", r.kind, str(r.t_ms)): float(r.value)  # type: ignore[arg-type]
            for r in store.export() if r.kind != "event" and r.node in site}


def same(got: dict[tuple[str, ...], float], want: dict[tuple[str, ...], float]) -> bool:
    """VictoriaMetrics keeps about 12 significant digits of a value (docs/sinks.md)."""
    return got.keys() == want.keys() and all(
        got[k] == pytest.approx(want[k], rel=1e-11, abs=1e-12) for k in want)


def vm_points(vm: Victoria, nodes: set[str]) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    for s in vm.export('{__name__="eil_reading_value"}'):
        m = s["metric"]
        assert isinstance(m, dict)
        if m["node"] not in nodes:
            continue
        for t, v in zip(s["timestamps"], s["values"], strict=True):  # type: ignore[call-overload]
            key = (m["node"], m["quantity"], m["unit"], m["kind"], str(t))
            assert key not in out, f"{key} twice"
            out[key] = v
    return out


def test_every_stored_reading_and_signal_arrives_once_and_a_replay_doubles_nothing(
        tmp_path: Path, victoria: Victoria) -> None:
    data, store = site_data(tmp_path)
    runner = SinkRunner(sink(victoria.url), "site", data, store, ManualClock(T0 / 1000))
    inserted = victoria.rows_inserted()
    written = drain(runner)
    assert written == 4 * 500 + 10  # readings, events and signal values (one without a value:
    # "no data" still carries its alert flag and limits)
    want = stored_points(store, "bed-1 tank")
    assert len(want) == 3 * 500 and same(vm_points(victoria, {"bed-1", "tank"}), want)
    # the calibration identity and the edge's QARTOD flag travel as a tag and a field
    cal = [s for s in victoria.export('{__name__="eil_reading_value",cal!=""}')]
    assert {s["metric"]["cal"] for s in cal} == {"ads:bed-1:2025-11"}  # type: ignore[index]
    flagged = victoria.export('{__name__="eil_reading_q"}')
    assert sum(len(s["values"]) for s in flagged) == len([  # type: ignore[arg-type, misc]
        r for r in store.export() if r.q is not None])
    events = Counter((s["metric"]["node"], s["metric"]["name"])  # type: ignore[index]
                     for s in victoria.export('{__name__="eil_event_value"}')
                     for _ in s["values"])  # type: ignore[attr-defined]
    assert events == {("bed-1", "tool.lent"): 300, ("tank", "tool.lent"): 200}
    assert not victoria.export('{__name__=~"eil_event_text|.*member.*"}')  # no strings, no ids
    signal = {s["metric"]["signal"]: s for s in victoria.export('{__name__="eil_signal_value"}')}
    assert signal["water.use"]["values"] == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert signal["water.use"]["timestamps"] == [T0 + r * HOUR for r in range(5)]
    upper = victoria.export('{__name__="eil_signal_upper"}')
    assert [s["values"] for s in upper] == [[400.0] * 5]
    (status,) = store.sinks.status(T0 + 30 * HOUR)
    assert (status.behind, status.written, status.refused, status.failing) == (0, written, 0,
                                                                                False)
    # a crash after the database confirmed and before the cursor moved writes it all again:
    # the same series and timestamps, which the database keeps once
    again = SinkRunner(sink(victoria.url, name="replay"), "site", data, store,
                       ManualClock(T0 / 1000))
    assert drain(again) == written
    wait_until(lambda: victoria.rows_inserted() - inserted >= 2 * written, 10,
               "VictoriaMetrics to count both writes")  # it did receive every point twice
    assert same(vm_points(victoria, {"bed-1", "tank"}), want)


def test_a_database_that_is_down_keeps_the_cursor_and_the_sink_catches_up(
        tmp_path: Path) -> None:
    data, store = site_data(tmp_path)
    vm = Victoria(tmp_path / "vm")  # its port is free: nothing listens yet
    runner = SinkRunner(sink(vm.url), "site", data, store, ManualClock(T0 / 1000))
    with pytest.raises(Unavailable, match="Connection refused|NewConnectionError|Max retries"):
        runner.step()
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        deadline = threading.Event()
        deadline.wait(1.5)
        (status,) = store.sinks.status(T0)
        assert status.failing and status.behind == 2000 and status.written == 0
        assert status.last_error is not None and status.behind_s is not None
        vm.start()
        for _ in range(100):  # the runner's back-off is at most 1 s here
            (status,) = store.sinks.status(T0)
            if status.behind == 0 and not status.failing:
                break
            deadline.wait(0.2)
        assert status.behind == 0 and status.written == 2000 + 10
        assert len(vm_points(vm, {"bed-1", "tank"})) == 1500
    finally:
        stop.set()
        thread.join(20)
        vm.stop()


class RefusingInflux(BaseHTTPRequestHandler):
    """In front of VictoriaMetrics, answers as InfluxDB 2 does for points older than its
    bucket's retention (HTTP 422, JSON code and message), and passes everything else on."""

    upstream = ""
    cutoff_ms = 0
    requests: list[int] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        text = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
        old = [line for line in text.decode().splitlines()
               if line and int(line.rsplit(" ", 1)[1]) < self.cutoff_ms]
        if old:
            reply = json.dumps({"code": "unprocessable entity", "message": (
                "failure writing points to database: partial write: points beyond retention "
                f"policy dropped={len(old)}")}).encode()
            self.send_response(422)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            self.requests.append(422)
            return
        forward = urllib.request.Request(self.upstream + self.path, data=body, method="POST",
                                         headers={k: v for k, v in self.headers.items()
                                                  if k.lower() != "host"})
        with urllib.request.urlopen(forward, timeout=10) as r:
            status = r.status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.requests.append(status)

    def log_message(self, *args: object) -> None:
        pass


def test_a_point_the_database_refuses_is_recorded_with_its_reason_and_the_rest_is_written(
        tmp_path: Path, victoria: Victoria) -> None:
    data = DataDir(tmp_path / "gw")
    store = data.readings()
    node = NodeId("refusal", "bed-9")
    rows = [(node, StoredReading(seq, T0 + seq * 60_000, "soil.moisture", "gauge", "%",
                                 float(seq), None, None)) for seq in range(1, 201)]
    commit(store, rows)
    RefusingInflux.upstream, RefusingInflux.cutoff_ms = victoria.url, T0 + 3 * 60_000 + 1
    RefusingInflux.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingInflux)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        runner = SinkRunner(sink(url, name="refusing", batch=64), "refusal", data, store,
                            ManualClock(T0 / 1000 + 86400))  # its own lag point is recent
        assert drain(runner) == 197
    finally:
        server.shutdown()
    refused = store.sinks.refusals("refusing")
    assert sorted(str(r["what"]) for r in refused) == ["bed-9 seq 1", "bed-9 seq 2",
                                                       "bed-9 seq 3"]
    assert all(r["status"] == 422 and "beyond retention policy" in str(r["reason"])
               for r in refused)
    (status,) = store.sinks.status(T0, ["refusing"])
    assert (status.behind, status.written, status.refused) == (0, 197, 3)
    got = vm_points(victoria, {"bed-9"})
    assert sorted(int(k[4]) for k in got) == [T0 + s * 60_000 for s in range(4, 201)]
    assert RefusingInflux.requests.count(422) <= 3 * 7  # halving: a few requests per refusal


def test_retention_keeps_what_a_sink_has_not_written(tmp_path: Path, victoria: Victoria
                                                     ) -> None:
    data, store = site_data(tmp_path)
    while store.move_cold(T0 + 1000 * HOUR):
        pass
    store.sinks.start("late", False, T0)
    policy = RetentionConfig(raw_days=1).policy
    now = T0 + 80 * HOUR
    before = len(list(store.export()))
    kept = store.expire(now, policy, ["late"])
    assert (kept.raw, kept.held) == (0, kept.held) and kept.held > 0
    assert len(list(store.export())) == before  # nothing the sink still needs is gone
    runner = SinkRunner(sink(victoria.url, name="late"), "site", data, store,
                        ManualClock(T0 / 1000))
    drain(runner)
    gone = store.expire(now, policy, ["late"])
    assert gone.held == 0 and gone.raw == kept.held  # written now: retention goes ahead
    assert store.expire(now, policy, []).raw == 0


def test_the_sample_config_parses_and_mistakes_are_named(tmp_path: Path) -> None:
    token = tmp_path / "influx.token"
    token.write_text("s3cret\n")
    sample = SAMPLE_CONFIG.replace("/etc/eil/influx.token", str(token))
    root = Table(tmp_path / "gateway.toml", __import__("tomllib").loads(sample))
    (cfg,) = parse_sinks(root)
    assert (cfg.name, cfg.batch, cfg.start_at_end, cfg.options.token) == ("city", 5000, False,
                                                                          "s3cret")

    def fails(text: str, match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            parse_sinks(Table(tmp_path / "gateway.toml", __import__("tomllib").loads(text)))

    base = '[[sinks]]\nname = "x"\ntype = "influxdb"\nurl = "http://h:8086"\nbucket = "b"\n'
    fails(base, r"sinks\[0\]\.token_file: required key is missing")
    fails(base + 'flavor = "victoria"\n', "unknown flavor 'victoria'; known: influxdb2")
    fails(base.replace('"influxdb"', '"kafka"'), "unknown sink type 'kafka'; known: influxdb")
    fails(base + 'token = "t"\nbuket = "b"\n', r"unknown option\(s\) buket for type 'influxdb'")
    fails(base + 'token = "t"\n' + base + 'token = "t"\n', "two sinks are called 'x'")
    fails(base.replace("http://", "") + 'token = "t"\n', "must start with http://")


units = st.sampled_from(["%", "Cel", "m3", "W", "Wh", "l", "l/min", "uS/cm", "m3/s", "lx"])
cals = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True))
names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,63}", fullmatch=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(names, units, cals, st.floats(-1e12, 1e12, allow_nan=False)),
                min_size=1, max_size=8, unique_by=lambda x: (x[0], x[1], x[2])))
def test_any_name_unit_and_calibration_arrives_as_sent(tmp_path_factory: pytest.TempPathFactory,
                                                       victoria: Victoria,
                                                       series: list[tuple[str, str, str | None,
                                                                          float]]) -> None:
    root = tmp_path_factory.mktemp("s")
    data = DataDir(root / "gw")
    store = data.readings()
    node = NodeId("hyp", f"n{abs(hash(root)) % 10**8}")
    commit(store, [(node, StoredReading(i + 1, T0 + i, name, "gauge", unit, value, None, None,
                                        cal)) for i, (name, unit, cal, value) in enumerate(series)])
    drain(SinkRunner(sink(victoria.url), "hyp", data, store, ManualClock(T0 / 1000)))
    got = {}
    for s in victoria.export(f'{{__name__="eil_reading_value",node="{node.node}"}}'):
        m = s["metric"]
        got[(m["quantity"], m["unit"], m.get("cal"))] = s["values"]  # type: ignore[index, union-attr]
    assert got.keys() == {(name, unit, cal) for name, unit, cal, _ in series}
    for name, unit, cal, value in series:
        assert got[(name, unit, cal)] == [pytest.approx(value, rel=1e-11, abs=1e-12)]
    store.close()
