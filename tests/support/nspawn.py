"""Booting a Debian root under a real systemd: `systemd-nspawn --boot` (PID 1 is the root's
own systemd, so cloud-init, the units and their sandboxes run as on a machine), inside a network
namespace of the test's own (tests/support/netns.py) or with no network at all.

`node_root()` is a Debian Trixie root shaped like Raspberry Pi OS Lite where it matters here:
cloud-init 25 and netplan, Python 3.13 with venv, no compiler, no pip packages; cached under
~/.cache/eil-tests keyed by its suite, mirror and packages, copied for every boot. What differs
from Raspberry Pi OS, said where the tests use it: it is amd64 (the units' system-call filters
and mount namespaces are enforced natively; under ARM emulation they are not), and its
cloud-init finds the seed on /boot/firmware through a drop-in (`seedfrom`) where Raspberry Pi
OS finds its boot partition by label."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest

from tests.support.deploy import CACHE, MIRROR, _build_once, _key

SUITE = "trixie"
NODE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "cloud-init", "netplan.io", "python3",
                 "python3-venv", "python3-yaml", "python3-cffi-backend", "iproute2",
                 "ca-certificates", "procps", "util-linux")
CLOUD_CFG = """# tests only: the seed on /boot/firmware (Raspberry Pi OS finds its boot partition by
# its label; a root in a folder has no partition)
datasource_list: [ NoCloud, None ]
datasource:
  NoCloud:
    seedfrom: file:///boot/firmware/
"""


def require() -> None:
    """A clear skip where a booted systemd cannot run (CI on these machines skips nothing)."""
    if os.geteuid() != 0:
        pytest.skip("systemd-nspawn boots need root (CI and the dev machines run as root)")
    if not Path("/sys/fs/cgroup").is_dir():
        pytest.skip("systemd-nspawn needs a cgroup file system, which this machine lacks")


def node_root() -> Path:
    """The pristine node root (copy it before booting it)."""
    key = _key(SUITE, MIRROR, *NODE_PACKAGES)

    def build(tmp: Path) -> None:
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        subprocess.run([debootstrap, "--variant=minbase", f"--include={','.join(NODE_PACKAGES)}",
                        SUITE, str(tmp), MIRROR], check=True, capture_output=True, timeout=1200)

    return _build_once(CACHE / f"debian-{SUITE}-node-{key}", build)


def copy_root(pristine: Path, target: Path) -> Path:
    subprocess.run(["cp", "-a", "--reflink=auto", f"{pristine}/.", str(target)], check=True)
    return target


class Boot:
    """A root booted with systemd as PID 1 until `stop` (SIGTERM: a clean shutdown)."""

    def __init__(self, root: Path, log: Path, netns: str | None = None) -> None:
        self.root, self.log = root, log
        net = [f"--network-namespace-path=/run/netns/{netns}"] if netns else [
            "--private-network"]
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--boot", "--register=no", "--keep-unit",
             "--console=read-only", *net, "-D", str(root)],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    def wait_for(self, relative: str, timeout: float) -> Path:
        """A file of the root, once it exists."""
        path = self.root / relative
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"the container ended ({self.proc.returncode}) before "
                                     f"{relative}:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {relative} after {timeout} s:\n"
                                     f"{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        return path

    def processes(self, marker: str) -> list[int]:
        """Host pids of the container's processes whose command line holds `marker`."""
        out = []
        mine = os.stat(self.root)
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:  # its root directory (a sandboxed service's is a bind mount: the same inode)
                theirs = os.stat(p / "root")
                if (theirs.st_dev, theirs.st_ino) != (mine.st_dev, mine.st_ino):
                    continue
                if marker in (p / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    out.append(int(p.name))
            except OSError:
                continue
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Boot:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def prepare(root: Path) -> Path:
    """A copy of the node root made bootable with a seed: its boot partition's folder, the
    cloud-init drop-in, and the tests' hardware (EIL_HW=fake: the drivers run on bus-level
    fakes; every other line of the unit is the site's own). Returns /boot/firmware."""
    boot = root / "boot" / "firmware"
    boot.mkdir(parents=True)
    (boot / "config.txt").write_text("dtparam=i2c_arm=on\n")  # as a Pi's boot partition has
    (root / "etc" / "cloud" / "cloud.cfg.d" / "99-eil-test-seed.cfg").write_text(CLOUD_CFG)
    dropin = root / "etc" / "systemd" / "system" / "eil-node.service.d"
    dropin.mkdir(parents=True)
    (dropin / "zz-tests-fake-hardware.conf").write_text("[Service]\nEnvironment=EIL_HW=fake\n")
    return boot
