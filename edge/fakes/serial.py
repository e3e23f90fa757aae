"""Simulated serial devices on a real pseudo-terminal pair.

The driver opens the pty's slave path with pyserial exactly as it would open /dev/ttyAMA0; the
device model answers on the master side from a thread. Subclasses implement `respond`.
"""

from __future__ import annotations

import os
import select
import threading
import tty


class Pty:
    """A raw pseudo-terminal pair: the device model writes to `master`, the driver opens `path`.
    The slave end stays open here, so the pty survives the driver closing and reopening it."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)

    def close_pty(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        self.close_pty()


class PtyDevice(Pty):
    def __init__(self) -> None:
        super().__init__()
        self.received = bytearray()
        self.silent = False  # a device that has died: reads time out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"pty {self.path}", daemon=True)
        self._thread.start()

    def respond(self, data: bytes) -> bytes:
        """Bytes the device sends back after receiving `data` (may be b"")."""
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        """Unsolicited bytes from the device (free-running output, noise)."""
        os.write(self.master, data)

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            self.received += data
            if not self.silent and (reply := self.respond(data)):
                os.write(self.master, reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.close_pty()
