"""A real VictoriaMetrics (Debian's victoria-metrics) for the sink tests: its own data
directory and free port on loopback, deduplication on at 1 ms (docs/sinks.md: what makes a
replay harmless there), retention long enough for any simulated timeline."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

from eil.broker import free_port
from tests.support.site import listening, wait_until


class Victoria:
    def __init__(self, root: Path, dedup: bool = True, port: int | None = None) -> None:
        self.root, self.dedup = root, dedup
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Victoria:
        args = ["victoria-metrics", f"-storageDataPath={self.root / 'data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}", "-retentionPeriod=100y",
                "-search.latencyOffset=0s", "-search.disableCache"]
        if self.dedup:
            args.append("-dedup.minScrapeInterval=1ms")
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "victoria.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: listening(self.port), 20, "VictoriaMetrics to listen")
        return self

    def pause(self, paused: bool) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)  # a stopped process dies only once continued
        self.proc.kill()
        self.proc.wait(20)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def _get(self, path: str, **params: str) -> bytes:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=30) as r:
            return bytes(r.read())

    def flush(self) -> None:
        """Make everything written so far visible to queries and exports."""
        self._get("/internal/force_flush")

    def export(self, match: str = '{__name__=~"eil_.*"}') -> list[dict[str, object]]:
        """Every series with its (deduplicated) samples: /api/v1/export."""
        self.flush()
        # the whole timeline: a simulated one may run ahead of the wall clock
        body = self._get("/api/v1/export", **{"match[]": match, "start": "0",
                                              "end": "4102444800"})
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def query(self, promql: str, at_s: float, step: str | None = None,
              start_s: float | None = None) -> list[dict[str, object]]:
        """A PromQL instant query at `at_s`, or a range query from `start_s` with `step`."""
        self.flush()
        if step is None:
            body = self._get("/api/v1/query", query=promql, time=f"{at_s:.3f}")
        else:
            body = self._get("/api/v1/query_range", query=promql, start=f"{start_s:.3f}",
                             end=f"{at_s:.3f}", step=step)
        reply = json.loads(body)
        assert reply["status"] == "success", reply
        return list(reply["data"]["result"])

    def rows_inserted(self) -> int:
        """Points VictoriaMetrics has read over InfluxDB line protocol since it started (before
        deduplication)."""
        total = 0
        for line in self._get("/metrics").decode().splitlines():
            if line.startswith('vm_protoparser_rows_read_total{type="influx"}'):
                total += int(float(line.split()[-1]))
        return total

