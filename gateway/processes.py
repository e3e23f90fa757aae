"""The gateway's child processes: each sink (gateway/sinks/) and the notification sender
(gateway/alerts/sender.py) runs in a process of its own, at a lower CPU priority than ingest:
its encoding and network work never take the interpreter or a core from ingest, and one that
hangs or dies stalls nothing. The gateway restarts a child that exits (after a pause), and a
child ends itself when the gateway that started it is gone (kill -9 included)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

log = logging.getLogger("eil.gateway")
NICE = 10  # below ingest: a child catches up when ingest leaves the CPU to it
RESTART_PAUSE_S = 5.0


class ChildProcesses:
    """Starts one process per name (`eil-<kind>-<name>`) and keeps it running."""

    def __init__(self, config_path: Path, kind: str, names: list[str],
                 target: Callable[[str, str, int], None]) -> None:
        """`target(config path, name, parent pid)` runs in each process (importable at module
        level: the processes are spawned, not forked)."""
        self.config_path, self.kind, self.names, self.target = config_path, kind, names, target
        self.ctx = multiprocessing.get_context("spawn")  # no fork of a threaded gateway
        self.procs: dict[str, BaseProcess] = {}

    def _start(self, name: str) -> None:
        proc = self.ctx.Process(target=self.target, name=f"eil-{self.kind}-{name}", daemon=True,
                                args=(str(self.config_path), name, os.getpid()))
        proc.start()
        self.procs[name] = proc
        log.info("%s %s started (pid %s)", self.kind, name, proc.pid)

    def run(self, stop: threading.Event) -> None:
        for name in self.names:
            self._start(name)
        while not stop.wait(1.0):
            for name, proc in list(self.procs.items()):
                if not proc.is_alive():
                    log.error("%s %s exited with %s; restarting in %.0f s", self.kind, name,
                              proc.exitcode, RESTART_PAUSE_S)
                    if stop.wait(RESTART_PAUSE_S):
                        break
                    self._start(name)
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
