"""A node's first boot and its agent's cost, on the roots the first-boot test boots
(tests/support/nspawn.py): the seed of `eil site image` on a Debian Trixie root shaped like
Raspberry Pi OS Lite, booted with systemd-nspawn in a network namespace beside the site's
broker and gateway.

Prints: seconds from the start of the boot to cloud-init's end and to the first reading stored
at the gateway; then, over `--window` seconds of the agent at work (its node clock `--speed`
times real time, so the soil kit's 5-minute readings come often), the agent's resident memory
(now and its peak) and its CPU per stored reading. Natively (amd64) the agent's unit gets
`MemoryMax=512M` (a Pi Zero 2 W's memory) from a drop-in; under emulation (arm64, and armhf:
Raspberry Pi OS 32-bit, whose boot the tests do not run for time) the figures are qemu's: they
say nothing of a Pi's speed, only that it works. A cold armhf or arm64 root takes about five
minutes to make (cached). Asserts nothing. Needs root.

    .venv/bin/python -m bench.first_boot [--arch amd64|arm64|armhf] [--window 60] [--speed 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from eil.cli import main as eil
from tests.support.deploy import project_wheel
from tests.support.netns import Star
from tests.support.nspawn import Boot, copy_root, node_root, prepare, site_gateway, stored

GW = "198.51.100.1"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def memory_kib(pid: int) -> tuple[int, int]:
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":\t" in line)
    return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="amd64", choices=("amd64", "arm64", "armhf"))
    ap.add_argument("--window", type=float, default=60.0, help="real seconds measured")
    ap.add_argument("--speed", type=float, default=60.0, help="the node clock's speed")
    args = ap.parse_args()
    native = args.arch == "amd64"
    with tempfile.TemporaryDirectory(prefix="eil-bench-boot-") as d:
        tmp = Path(d)
        site = tmp / "site"
        eil(["site", "init", str(site), "--site", "garden", "--gateway-host", GW])
        eil(["site", "add-node", "bed-1", "--kind", "soil", "--dir", str(site)])
        toml = site / "nodes" / "bed-1" / "node.toml"
        toml.write_text(toml.read_text().replace(
            "[broker]", f"[clock]\nspeed = {args.speed}\n\n[broker]", 1))
        (tmp / "key.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx bench\n")
        root = copy_root(node_root(args.arch), tmp / "root")
        boot = prepare(root, emulated=not native)
        if native:
            (root / "etc/systemd/system/eil-node.service.d/zz-bench-memory.conf").write_text(
                "[Service]\nMemoryMax=512M\n")
        eil(["site", "image", "--node", "bed-1", "--write-boot", str(boot), "--ssh-key",
             str(tmp / "key.pub"), "--wheel", str(project_wheel(tmp / "dist")), "--arch",
             args.arch, "--dir", str(site)])
        hosts = Star("gw", ("node",))
        try:
            data = site_gateway(hosts, site, tmp)
            with Boot(root, tmp / "boot.log", netns=hosts.ns["node"]) as node:
                node.wait_for("var/lib/cloud/data/result.json", 1800)
                cloud_init = time.monotonic() - node.started
                while stored(data, "bed-1") == 0:
                    time.sleep(0.2)
                first = time.monotonic() - node.started
                (pid,) = node.processes("eil node run")
                n0, c0, t0 = stored(data, "bed-1"), cpu_s(pid), time.monotonic()
                time.sleep(args.window)
                n1, c1, t1 = stored(data, "bed-1"), cpu_s(pid), time.monotonic()
                rss, peak = memory_kib(pid)
        finally:
            hosts.close()
    how = "native amd64, the unit's MemoryMax=512M" if native else \
        f"{args.arch} under qemu-user emulation (not a Pi's speed)"
    print(f"first boot ({how}): cloud-init done {cloud_init:.1f} s after the boot began, "
          f"first reading stored at the gateway {first:.1f} s after")
    readings = n1 - n0
    print(f"agent over {t1 - t0:.0f} s: {readings} readings stored ({readings / (t1 - t0):.1f}/s "
          f"at clock speed {args.speed:g}); CPU {c1 - c0:.2f} s = "
          f"{1000 * (c1 - c0) / max(readings, 1):.2f} ms a reading; RSS {rss / 1024:.1f} MiB "
          f"(peak {peak / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
