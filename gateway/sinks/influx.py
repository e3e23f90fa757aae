"""The InfluxDB-protocol sink: line protocol to `/api/v2/write` with influxdb-client's
synchronous write API, which InfluxDB 2, InfluxDB 3 (its v2 compatibility API) and
VictoriaMetrics all accept. The client keeps nothing: a write either returns (the database has
the points) or raises, and the runner decides (runner.py). No retries inside the client: the
runner owns retrying, with its back-off, so a stop is never held up by one."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from core.config import Table, read_secret
from gateway.sinks.lines import Line

SAMPLE_CONFIG = """
[[sinks]]
name = "city"                       # the cursor's name: renaming starts the sink over
type = "influxdb"
url = "https://influx.example.org:8086"
org = "eil"                         # InfluxDB 2; InfluxDB 3 and VictoriaMetrics ignore it
bucket = "eil"                      # InfluxDB 3: the database
token_file = "/etc/eil/influx.token"
flavor = "influxdb2"                # influxdb2 | influxdb3 | victoriametrics
# ca_file = "/etc/eil/influx-ca.crt"
# timeout_s = 10
# batch = 5000                      # points per write
# start = "beginning"               # or "now": a new sink skips what is already stored
# signals = true
# events = true
# settle_s = 0                      # VictoriaMetrics: 30 (it may lose its newest seconds)
"""
FLAVORS = ("influxdb2", "influxdb3", "victoriametrics")
# How long after confirming a write the database may still lose it on a crash: InfluxDB 2 and
# 3 confirm after their write-ahead log has it; VictoriaMetrics keeps the newest samples in
# memory and flushes them every few seconds (a kill -9 lost them in tests/e2e/test_sink_faults).
SETTLE_S = {"victoriametrics": 30.0}


@dataclass(frozen=True)
class InfluxOptions:
    url: str
    org: str
    bucket: str
    token: str
    flavor: str
    ca_file: str | None
    timeout_s: float
    gzip: bool
    settle_s: float = 0.0  # how long a confirmed write may still be lost (sink_cursors.py)

    @property
    def strings(self) -> bool:
        """Whether string fields are written: VictoriaMetrics keeps numbers only (it would
        store a string field as 0)."""
        return self.flavor != "victoriametrics"


def parse_options(t: Table) -> InfluxOptions:
    url = t.get("url", str)
    if not url.startswith(("http://", "https://")):
        raise t.fail("url", f"must start with http:// or https://, got {url!r}")
    flavor = t.get("flavor", str, "influxdb2")
    if flavor not in FLAVORS:
        raise t.fail("flavor", f"unknown flavor {flavor!r}; known: {', '.join(FLAVORS)}")
    has_token = "token" in t.data or "token_file" in t.data
    if not has_token and flavor != "victoriametrics":
        raise t.fail("token_file", "required key is missing (InfluxDB needs a token)")
    ca = t.get("ca_file", str, None)
    if ca is not None and not os.access(ca, os.R_OK):
        raise t.fail("ca_file", f"cannot read {ca}")
    return InfluxOptions(url=url, org=t.get("org", str, "eil"), bucket=t.get("bucket", str),
                         token=read_secret(t, "token", "token_file") if has_token else "",
                         flavor=flavor, ca_file=ca, timeout_s=t.positive("timeout_s", 10.0),
                         gzip=t.get("gzip", bool, True),
                         settle_s=float(t.get("settle_s", (int, float),
                                              SETTLE_S.get(flavor, 0.0))))


class Unavailable(Exception):
    """The database did not take the write and may later: down, overloaded, or refusing our
    credential. The cursor stays; the runner backs off and tries again."""


class Refused(Exception):
    """The database refused the write as bad data (400, 422): sending it again cannot help."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status, self.reason = status, reason


class TooLarge(Exception):
    """413: the batch must be split."""


class InfluxWriter:
    def __init__(self, opts: InfluxOptions) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        extra: dict[str, Any] = {}
        if opts.ca_file is not None:
            extra["ssl_ca_cert"] = opts.ca_file
        self.opts = opts
        self.client = InfluxDBClient(url=opts.url, token=opts.token or "-", org=opts.org,
                                     timeout=int(opts.timeout_s * 1000), enable_gzip=opts.gzip,
                                     retries=False, **extra)
        self.api = self.client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[Line]) -> None:
        """Returns once the database has confirmed every point; raises Unavailable, Refused
        or TooLarge otherwise."""
        import urllib3
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            self.api.write(bucket=self.opts.bucket, org=self.opts.org,
                           record=[line.text for line in lines],
                           write_precision=WritePrecision.MS)  # type: ignore[arg-type]
        except ApiException as exc:
            status = int(exc.status or 0)
            reason = _message(exc)
            if status == 413:
                raise TooLarge(reason) from exc
            if status in (400, 422):
                raise Refused(status, reason) from exc
            raise Unavailable(f"HTTP {status}: {reason}") from exc
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # refused, reset, timed out
            raise Unavailable(f"cannot reach {self.opts.url}: {transport_reason(exc)}") from exc

    def started(self) -> str | None:
        """When the database process started, where it says so (VictoriaMetrics'
        vm_app_start_timestamp): a change means it restarted and may have lost what it had
        confirmed in its last seconds. None where unknown or not needed."""
        if self.opts.flavor != "victoriametrics":
            return None
        import ssl
        import urllib.request

        ctx = ssl.create_default_context(cafile=self.opts.ca_file) if self.opts.ca_file else None
        try:
            with urllib.request.urlopen(self.opts.url.rstrip("/") + "/metrics",
                                        timeout=self.opts.timeout_s, context=ctx) as r:
                for line in r.read().decode(errors="replace").splitlines():
                    if line.startswith("vm_app_start_timestamp "):
                        return line.split()[1]
        except OSError as exc:
            raise Unavailable(f"cannot reach {self.opts.url}: {transport_reason(exc)}") from exc
        return None

    def close(self) -> None:
        self.client.close()


def transport_reason(exc: BaseException) -> str:
    """What went wrong in words a steward reads ("Connection refused", "timed out"), without
    the transport's object addresses and retry wrappers."""
    text = re.sub(r"<[^<>]* at 0x[0-9a-f]+>:?\s*", "", str(exc))
    errno_msg = re.findall(r"\[Errno -?\d+\] ([^')\]]+)", text)
    if errno_msg:
        return errno_msg[-1].strip()
    if "timed out" in text.lower():
        return "timed out"
    return text.strip() or type(exc).__name__


def _message(exc: Any) -> str:
    """The database's own words: InfluxDB answers JSON {"code", "message"}, others text."""
    body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
    if body:
        import json

        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict) and "message" in parsed:
                return str(parsed["message"])[:500]
        except ValueError:
            pass
        return str(body).strip()[:500]
    return str(exc.reason or "no reason given")
