"""Which hardware a node command talks to: the Pi's real buses, or with `EIL_HW=fake` the
simulated devices of edge/fakes (register-level chip models, a pty serial port, gpiozero's
MockFactory). Choosing fakes is the shell's business: no production module imports them."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import ConfigError
from edge.fakes.hardware import FakeHardware
from edge.hardware import Hardware

HW_ENV = "EIL_HW"  # "fake": run a node config against simulated hardware


def hardware_for(data_dir: Path) -> Hardware:
    """Real hardware, unless EIL_HW=fake asks for simulated devices."""
    mode = os.environ.get(HW_ENV, "real")
    if mode == "fake":
        return FakeHardware(data_dir=data_dir)
    if mode != "real":
        raise ConfigError(f"{HW_ENV}={mode!r}: expected 'real' or 'fake'")
    return Hardware(data_dir=data_dir)
