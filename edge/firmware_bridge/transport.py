"""The bridge on a serial port: a reader thread feeds the decoder and the session; the agent's
thread takes readings and reports commits. One lock guards the session between the two."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from edge.firmware_bridge.codec import Decoder, encode
from edge.firmware_bridge.session import McuReading, Session, Stats
from edge.handoff import Mark

log = logging.getLogger("eil.bridge")
READ_TIMEOUT_S = 0.02  # also the poll period of the session's timers


class Bridge:
    def __init__(self, port: Any, *, resume: Mark | None = None,
                 config: Mapping[str, str] | None = None) -> None:
        """`port` is an open pyserial Serial (timeout READ_TIMEOUT_S)."""
        self.port = port
        self.port.write_timeout = 1.0  # an MCU that stopped reading must not hang the agent
        self.decoder = Decoder()
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.tx_seq = 0
        self.session = Session(self._send, resume, dict(config or {}))
        self.error: str | None = None  # the port failed (unplugged): the reader has stopped
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"bridge {port.port}", daemon=True)
        self.thread.start()

    def _send(self, typ: int, payload: bytes) -> None:
        frame = encode(typ, self.tx_seq, payload)
        self.tx_seq = (self.tx_seq + 1) & 0xFFFF
        with self.write_lock:
            try:
                self.port.write(frame)
            except Exception as exc:  # pyserial raises SerialTimeoutException, OSError, ...
                log.warning("cannot write to %s: %s", self.port.port, exc)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.port.read(max(1, self.port.in_waiting))
            except Exception as exc:  # SerialException, OSError: the device went away
                if self.stop.is_set():
                    return  # closed under the reader
                self.error = str(exc)
                log.error("bridge port %s failed: %s", self.port.port, exc)
                return
            with self.lock:
                for frame in self.decoder.feed(data) if data else ():
                    self.session.on_frame(frame)
                self.session.poll()

    def take(self) -> tuple[list[tuple[McuReading, float]], Mark | None]:
        with self.lock:
            return self.session.take()

    def events(self) -> list[tuple[str, str, str | None, float | None]]:
        with self.lock:
            events, self.session.events = self.session.events, []
            return events

    def committed(self, mark: Mark) -> None:
        with self.lock:
            self.session.committed(*mark)

    def silent_for(self) -> float:
        with self.lock:
            return time.monotonic() - self.session.last_frame

    @property
    def stats(self) -> Stats:
        return self.session.stats

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2.0)
        self.port.close()
