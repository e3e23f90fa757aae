"""Each sink runs in a process of its own, at a lower CPU priority than ingest: its encoding
and HTTP work never take the interpreter or a core from ingest, and a sink that hangs or dies
stalls nothing. The gateway restarts a sink process that exits (after a pause), and a sink
process ends itself when the gateway that started it is gone (kill -9 included)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

log = logging.getLogger("eil.sinks")
NICE = 10  # below ingest: a sink catches up when ingest leaves the CPU to it
RESTART_PAUSE_S = 5.0


class SinkProcesses:
    """Starts one process per configured sink and keeps it running."""

    def __init__(self, config_path: Path, names: list[str],
                 target: Callable[[str, str, int], None]) -> None:
        """`target(config path, sink name, parent pid)` runs in each process (importable at
        module level: the processes are spawned, not forked)."""
        self.config_path, self.names, self.target = config_path, names, target
        self.ctx = multiprocessing.get_context("spawn")  # no fork of a threaded gateway
        self.procs: dict[str, BaseProcess] = {}

    def _start(self, name: str) -> None:
        proc = self.ctx.Process(target=self.target, name=f"eil-sink-{name}", daemon=True,
                                args=(str(self.config_path), name, os.getpid()))
        proc.start()
        self.procs[name] = proc
        log.info("sink %s started (pid %s)", name, proc.pid)

    def run(self, stop: threading.Event) -> None:
        for name in self.names:
            self._start(name)
        while not stop.wait(1.0):
            for name, proc in list(self.procs.items()):
                if not proc.is_alive():
                    log.error("sink %s exited with %s; restarting in %.0f s", name,
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
