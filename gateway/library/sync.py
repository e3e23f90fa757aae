"""Keeps the stations' view of the library current: the gateway publishes it retained, so a
station that reconnects gets it at once and keeps working from it while offline."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from gateway.errors import GatewayError
from gateway.library.library import Library
from gateway.store.data_dir import DataDir

log = logging.getLogger("eil.library")


class ViewPublisher:
    def __init__(self, data: DataDir, publish: Callable[[bytes], object],
                 every_s: float = 2.0) -> None:
        self.data, self.publish, self.every_s = data, publish, every_s
        self.last_run = 0.0
        self.last_payload: bytes | None = None

    def tick(self) -> None:
        """Called from the ingest loop: recompute every `every_s`, publish when it changed
        (markings, enrolments, loans, a loan turning overdue)."""
        now = time.monotonic()
        if now - self.last_run < self.every_s or not self.data.has_library():
            return
        self.last_run = now
        library = Library(self.data)
        try:
            payload = json.dumps(library.station_view(), sort_keys=True,
                                 separators=(",", ":")).encode()
        except GatewayError as exc:
            log.error("cannot compute the library view: %s", exc)
            return
        finally:
            library.close()
        if payload != self.last_payload:
            self.publish(payload)
            self.last_payload = payload
