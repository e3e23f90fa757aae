"""Booting a Debian root under a real systemd: `systemd-nspawn --boot` (PID 1 is the root's
own systemd, so cloud-init, the units and their sandboxes run as on a machine), inside a network
namespace of the test's own (tests/support/netns.py) or with no network at all.

`node_root(arch)` is a Debian Trixie root shaped like Raspberry Pi OS Lite where it matters
here: cloud-init 25 and netplan, Python 3.13 with venv, no compiler, no pip packages; cached
under ~/.cache/eil-tests keyed by its architecture, suite, mirror and packages, copied for
every boot. An arm64 root runs through qemu-user-static (Debian's 10.x, from
bookworm-backports: scripts/bootstrap) registered with binfmt_misc flags that include `O`
(systemd starts its executor from a file descriptor) and `F`.

What differs from Raspberry Pi OS, said where the tests use it: its cloud-init finds the seed
on /boot/firmware through a drop-in (`seedfrom`) where Raspberry Pi OS finds its boot
partition by label. Under ARM emulation, systemd cannot set up mount namespaces (every
ProtectSystem=/PrivateTmp=-style option fails with 226/NAMESPACE), seccomp filters are not
enforced, and credential imports fail: an emulated boot gets test-only drop-ins that clear
those options (`EMULATION_DROPINS`), so the hardened unit itself is proved on an amd64 root,
booted natively, where all of it is enforced."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import pytest

from eil.broker import find_binary
from gateway.errors import StoreError
from gateway.store import DataDir
from tests.support.deploy import CACHE, MIRROR, _build_once, _key
from tests.support.netns import Star
from tests.support.site import wait_until

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


BINFMT = {"arm64": ("qemu-aarch64", Path("/usr/lib/binfmt.d/qemu-aarch64.conf")),
          "armhf": ("qemu-arm", Path("/usr/lib/binfmt.d/qemu-arm.conf"))}
# the emulated boot only (see the module's docstring): systemd's sandboxing that qemu-user
# cannot carry, cleared for every service and for the agent's unit
EMULATION_DROPINS = {
    "service.d/zz-tests-emulation.conf": "[Service]\nImportCredential=\nLoadCredential=\n"
                                         "SetCredential=\n",
    "eil-node.service.d/zz-tests-emulation.conf": (
        "[Service]\nProtectSystem=no\nProtectHome=no\nPrivateTmp=no\nPrivateDevices=no\n"
        "ProtectKernelTunables=no\nProtectKernelModules=no\nProtectKernelLogs=no\n"
        "ProtectControlGroups=no\nProtectClock=no\nProtectHostname=no\n"
        "ProtectProc=default\n"),
}


def emulation(arch: str) -> None:
    """qemu-user registered for `arch` with the flags an emulated systemd needs."""
    if arch == "amd64":
        return
    name, conf = BINFMT[arch]
    misc = Path("/proc/sys/fs/binfmt_misc")
    if not (misc / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(misc)], check=True)
    entry = misc / name
    if entry.exists() and "flags: " in entry.read_text() and "O" not in \
            entry.read_text().split("flags: ")[1].split()[0]:
        entry.write_text("-1")  # registered without O: systemd's executor would not start
    if not entry.exists():
        if not conf.exists():
            pytest.fail(f"{conf} is missing: scripts/bootstrap installs qemu-user-static")
        (misc / "register").write_text(conf.read_text().strip())


def node_root(arch: str = "amd64") -> Path:
    """The pristine node root for `arch` (copy it before booting it)."""
    key = _key(SUITE, MIRROR, arch, *NODE_PACKAGES)
    emulation(arch)

    def build(tmp: Path) -> None:
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        subprocess.run([debootstrap, f"--arch={arch}", "--variant=minbase",
                        f"--include={','.join(NODE_PACKAGES)}", SUITE, str(tmp), MIRROR],
                       check=True, capture_output=True, timeout=1800)

    suffix = "" if arch == "amd64" else f"-{arch}"
    return _build_once(CACHE / f"debian-{SUITE}-node{suffix}-{key}", build)


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
        """SIGTERM: systemd shuts the container down; an emulated one is slow to, so after
        10 s a second SIGTERM ends it at once (nspawn's own rule), and SIGKILL after 60."""
        for signum, wait in ((signal.SIGTERM, 10), (signal.SIGTERM, 50), (signal.SIGKILL, 30)):
            if self.proc.poll() is not None:
                return
            self.proc.send_signal(signum)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> Boot:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def prepare(root: Path, emulated: bool = False) -> Path:
    """A copy of the node root made bootable with a seed: its boot partition's folder, the
    cloud-init drop-in, and the tests' hardware (EIL_HW=fake: the drivers run on bus-level
    fakes; every other line of the unit is the site's own), and under emulation the
    EMULATION_DROPINS. Returns /boot/firmware."""
    boot = root / "boot" / "firmware"
    boot.mkdir(parents=True)
    (boot / "config.txt").write_text("dtparam=i2c_arm=on\n")  # as a Pi's boot partition has
    (root / "etc" / "cloud" / "cloud.cfg.d" / "99-eil-test-seed.cfg").write_text(CLOUD_CFG)
    dropin = root / "etc" / "systemd" / "system" / "eil-node.service.d"
    dropin.mkdir(parents=True)
    (dropin / "zz-tests-fake-hardware.conf").write_text("[Service]\nEnvironment=EIL_HW=fake\n")
    for name, text in EMULATION_DROPINS.items() if emulated else ():
        path = root / "etc" / "systemd" / "system" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return boot


def site_gateway(hosts: Star, site: Path, tmp: Path) -> Path:
    """The site's broker (its TLS listener, from `eil site init`'s files) and gateway on the
    host `gw` of `hosts`; returns the gateway's data directory."""
    conf = tmp / "mosquitto.conf"
    conf.write_text((site / "broker" / "mosquitto.conf").read_text()
                    .replace("log_dest syslog", "log_dest stderr")
                    .replace("/etc/eil/", f"{site}/") + "\nuser root\n")
    hosts.spawn("gw", "broker", [find_binary("mosquitto"), "-c", str(conf)], tmp / "broker.log")
    data = tmp / "gw"
    cfg = tmp / "gateway.toml"
    cfg.write_text((site / "gateway" / "gateway.toml").read_text()
                   .replace('data_dir = "/var/lib/eil/gateway"', f'data_dir = "{data}"')
                   .replace("/etc/eil/", f"{site}/").replace("port = 8080", "port = 0"))
    wait_until(lambda: hosts.reachable("gw", "127.0.0.1", 1883), 10, "the broker up")
    hosts.spawn("gw", "gateway", [sys.executable, "-m", "eil", "gateway", "run", "--config",
                                  str(cfg)], tmp / "gateway.log")
    wait_until(lambda: "connected to broker" in (tmp / "gateway.log").read_text(), 30,
               "the gateway connected")
    return data


def stored(data: Path, node: str) -> int:
    """Readings of `node` in the gateway's store (0 before it exists)."""
    d = DataDir(data)
    if not d.has_readings():
        return 0
    try:
        with d.readings(readonly=True) as store:
            return sum(int(n["readings"]) for n in store.node_summary()  # type: ignore[call-overload]
                       if n["node"] == node)
    except StoreError:  # the gateway is creating it right now
        return 0
