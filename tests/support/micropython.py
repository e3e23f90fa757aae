"""The official MicroPython VM for the firmware's tests: its WebAssembly port from npm
(`@micropython/micropython-webassembly-pyscript`), run by Node.js, installed once into
~/.cache/eil-tests keyed by version (rebuilt when missing or half-built).

The port has no `machine` module, so the firmware's hardware-free modules run in it and the
hardware is injected, as on CPython. Two things differ from a Pico, and the tests say so:
the port computes floats in double precision where the Pico's rp2 build uses single (the
measurement tests hold at single precision, modelled with float32 on the Pi), and its heap grows
by new areas when a collection cannot make room (`heap_total` tells whether it had to: a
workload fits the Pico's heap when the VM, started with that heap, never grew)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from types import TracebackType

from tests.support.deploy import CACHE, _build_once

VERSION = "1.27.0"
PACKAGE = "@micropython/micropython-webassembly-pyscript"
RUNNER = Path(__file__).with_name("micropython_vm.mjs")
FIRMWARE = Path(__file__).resolve().parents[2] / "hardware" / "firmware"
PICO_HEAP = 192 * 1024  # what a Pico's MicroPython has free for a program, about


class MicroPythonError(AssertionError):
    """Code run in the VM raised: the MicroPython traceback."""


def install() -> Path:
    """The port's micropython.mjs, installed into the cache once."""
    def build(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        str(tmp), f"{PACKAGE}@{VERSION}"], check=True, capture_output=True,
                       timeout=600)

    root = _build_once(CACHE / f"micropython-{VERSION}", build)
    return root / "node_modules" / PACKAGE / "micropython.mjs"


class MicroPython:
    """One VM process: `run` code in its global scope, `put` files into its file system. The
    firmware's `eilfw` package is on its import path."""

    def __init__(self, heap: int = PICO_HEAP, firmware: bool = True) -> None:
        self.proc = subprocess.Popen(["node", str(RUNNER), str(install()), str(heap)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.heap = heap
        if firmware:
            for path in sorted((FIRMWARE / "eilfw").glob("*.py")):
                self.put(f"/lib/eilfw/{path.name}", path.read_bytes())
            self.run("import sys\nsys.path.append('/lib')")

    def _ask(self, request: dict[str, str]) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise MicroPythonError(f"the MicroPython VM ended (exit {self.proc.wait(10)})")
        answer = json.loads(line)
        if answer["error"] is not None:
            raise MicroPythonError(answer["out"] + answer["error"])
        return str(answer["out"])

    def put(self, path: str, data: bytes) -> None:
        self._ask({"file": path, "data": base64.b64encode(data).decode()})

    def run(self, code: str) -> str:
        """What `code` printed."""
        return self._ask({"code": code})

    def heap_total(self) -> int:
        """The GC heap's size now: more than it started with means it had to grow."""
        info = self.run("import micropython\nmicropython.mem_info()")
        found = re.search(r"GC: total: (\d+)", info)
        assert found, info
        return int(found.group(1))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> MicroPython:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
