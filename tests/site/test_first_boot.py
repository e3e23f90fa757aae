"""A node's first boot as a maker meets it, under a real systemd: the seed `eil site image`
writes, on the boot partition of a Debian Trixie root shaped like Raspberry Pi OS Lite
(tests/support/nspawn.py), booted with systemd-nspawn inside a network namespace whose only
link is a veth to the gateway host's namespace (the broker and gateway of the site): cloud-init
runs the seed, the agent installs from the wheelhouse with no network, starts under the site's
hardened unit (enforced: this root is amd64, booted natively) and its readings arrive at the
gateway over TLS. The same seed without the wheelhouse fails the first boot and says why.

Twice: on an amd64 root booted natively, where the hardened unit's sandbox is enforced and
checked (seccomp, no new privileges, no capabilities), and on an arm64 root (Raspberry Pi OS
64-bit's architecture, with its own arm64 wheelhouse) through qemu-user, where systemd cannot
apply mount namespaces or seccomp and the test's drop-ins clear them
(tests/support/nspawn.py). Timings under emulation say nothing of a Pi's speed.

Not proven here: a real Pi (its boot partition found by label, real buses)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eil.cli import main as eil
from tests.support.deploy import project_wheel
from tests.support.netns import Star, star
from tests.support.nspawn import Boot, copy_root, node_root, prepare, require, site_gateway
from tests.support.nspawn import stored as stored_of
from tests.support.site import wait_until

pytestmark = pytest.mark.slow
GW = "198.51.100.1"
WIFI = "a garden wifi password 7731"


@pytest.fixture
def hosts() -> Iterator[Star]:
    yield from star("gw", ("node",))


@pytest.fixture(scope="module", params=["amd64", "arm64"])
def pristine(request: pytest.FixtureRequest) -> tuple[str, Path]:
    require()
    return str(request.param), node_root(str(request.param))


def seeded(tmp: Path, pristine: tuple[str, Path], *, wheel: Path | None) -> tuple[Path, Path]:
    """A site with node bed-1 (soil kit), and a copy of the node root with its seed."""
    site = tmp / "site"
    if not site.exists():
        assert eil(["site", "init", str(site), "--site", "garden", "--gateway-host", GW]) == 0
        assert eil(["site", "add-node", "bed-1", "--kind", "soil", "--dir", str(site)]) == 0
        (tmp / "steward.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx steward\n")
        (tmp / "wifi.secret").write_text(WIFI + "\n")
    arch, pristine_root = pristine
    root = copy_root(pristine_root, tmp / ("root" if wheel else "root-no-wheels"))
    boot = prepare(root, emulated=arch != "amd64")
    args = ["site", "image", "--node", "bed-1", "--write-boot", str(boot), "--ssh-key",
            str(tmp / "steward.pub"), "--wifi-ssid", "garden-net", "--wifi-password-file",
            str(tmp / "wifi.secret"), "--dir", str(site)]
    if wheel is not None:
        args += ["--wheel", str(wheel), "--arch", arch, "--python", "3.13"]
    assert eil(args) == 0
    return site, root


def ids(root: Path, name: str, table: str) -> int:
    for line in (root / "etc" / table).read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split(":")[2])
    raise AssertionError(f"no {name} in the root's /etc/{table}")


def test_an_offline_first_boot_installs_the_agent_and_its_readings_arrive_over_tls(
        hosts: Star, pristine: tuple[str, Path], tmp_path: Path) -> None:
    arch = pristine[0]
    native = arch == "amd64"
    wheel = project_wheel(tmp_path / "dist")
    site, root = seeded(tmp_path, pristine, wheel=wheel)
    gw_data = site_gateway(hosts, site, tmp_path)

    def stored() -> int:
        return stored_of(gw_data, "bed-1")

    if native:  # the seed against the root's own cloud-init (Trixie's 25.x), before booting
        net = subprocess.run(["chroot", str(root), "cloud-init", "schema", "-t",
                              "network-config", "-c", "/boot/firmware/network-config"],
                             capture_output=True, text=True, timeout=120)
        assert net.returncode == 0 and "Valid schema" in net.stdout, net.stdout + net.stderr
        user = subprocess.run(["chroot", str(root), "cloud-init", "schema", "-c",
                               "/boot/firmware/user-data"], capture_output=True, text=True,
                              timeout=120)
        errors = [line for line in (user.stdout + user.stderr).splitlines()
                  if "Cloud config schema errors" in line]
        # Debian's cloud-init has no Raspberry Pi OS `rpi:` module: that key, and only it
        assert errors == ["Error: Cloud config schema errors: rpi: Additional properties are not "
                          "allowed ('rpi' was unexpected)"], user.stdout + user.stderr
    with Boot(root, tmp_path / "boot.log", netns=hosts.ns["node"]) as node:
        result = json.loads(node.wait_for("var/lib/cloud/data/result.json",
                                          180 if native else 900).read_text())
        finished = time.monotonic() - node.started
        assert result["v1"]["errors"] == [], result
        status = json.loads((root / "var/lib/cloud/data/status.json").read_text())
        assert status["v1"]["stage"] is None and not any(
            s.get("errors") for s in status["v1"].values() if isinstance(s, dict)), status
        wait_until(lambda: stored() > 0, 90 if native else 300,
                   "bed-1's readings stored at the gateway over TLS")
        first_reading = time.monotonic() - node.started
        # the agent runs as its own user under the site's hardened unit, sandbox enforced
        (pid,) = node.processes("eil node run")
        proc = (Path("/proc") / str(pid) / "status").read_text()
        fields = dict(line.split(":\t", 1) for line in proc.splitlines() if ":\t" in line)
        assert int(fields["Uid"].split()[0]) == ids(root, "eil-node", "passwd")
        assert fields["NoNewPrivs"].strip() == "1"
        assert fields["CapEff"].strip() == "0000000000000000"
        if native:  # under qemu-user the filter is qemu's, not the unit's: not enforced
            assert fields["Seccomp"].strip() == "2"  # SystemCallFilter= is a live filter
        assert (root / "etc/systemd/system/multi-user.target.wants/eil-node.service"
                ).is_symlink()
        assert "[Service]\nEnvironment=EIL_HW=fake" in (
            root / "etc/systemd/system/eil-node.service.d/zz-tests-fake-hardware.conf"
        ).read_text()  # the one test-only line: the drivers on bus-level fakes
    # the credential left the boot partition; it is root's, readable by the agent's group
    left = sorted(p.name for p in (root / "boot/firmware/eil").iterdir())
    assert left == ["wheels"], left
    key = root / "etc/eil/node/node.key"
    st = key.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (
        0o640, 0, ids(root, "eil-node", "group"))
    # no secret anywhere else on the card: the node's key only in /etc/eil/node, the Wi-Fi
    # password only in netplan's own file (root only)
    secret_key = (site / "nodes" / "bed-1" / "node.key").read_text().splitlines()[1]
    for secret, home in ((WIFI, "etc/netplan/50-cloud-init.yaml"),
                         (secret_key, "etc/eil/node/node.key")):
        found = subprocess.run(["grep", "-rlF", "--", secret, "."], cwd=root,
                               capture_output=True, text=True).stdout.split()
        assert sorted(f.removeprefix("./") for f in found) == [home], (secret[:8], found)
    assert stat.S_IMODE((root / "etc/netplan/50-cloud-init.yaml").stat().st_mode) == 0o600
    # the bus's group is a system group (not cloud-init's ordinary gid 1000), the steward in it
    i2c = next(line.split(":") for line in (root / "etc/group").read_text().splitlines()
               if line.startswith("i2c:"))
    assert int(i2c[2]) < 1000 and "steward" in i2c[3].split(","), i2c
    assert "password" not in (root / "boot/firmware/network-config").read_text()
    log = subprocess.run(["journalctl", "-D", str(root / "var/log/journal"), "-t",
                          "eil-node-install", "-o", "cat"], capture_output=True, text=True
                         ).stdout
    assert "the agent is installed from the wheelhouse and started" in log, log
    how = "native amd64 root" if native else f"{arch} root under qemu-user emulation"
    print(f"\nfirst boot ({how}): cloud-init finished {finished:.1f} s after the boot began, "
          f"first reading stored at the gateway {first_reading:.1f} s after")


def test_a_seed_without_the_wheelhouse_fails_the_first_boot_and_says_why(
        pristine: tuple[str, Path], tmp_path: Path) -> None:
    _, root = seeded(tmp_path, pristine, wheel=None)
    with Boot(root, tmp_path / "boot.log") as node:  # no network at all
        result = json.loads(node.wait_for("var/lib/cloud/data/result.json", 900).read_text())
    assert any("scripts_user" in e or "runcmd" in e for e in result["v1"]["errors"]), result
    failed = (root / "var/lib/eil/node-install.failed").read_text()
    assert failed.startswith("no wheelhouse in /boot/firmware/eil/wheels: this image was "
                             "written without the agent"), failed
    log = subprocess.run(["journalctl", "-D", str(root / "var/log/journal"), "-t",
                          "eil-node-install", "-o", "cat"], capture_output=True, text=True
                         ).stdout
    assert "FAILED: no wheelhouse" in log, log
    # nothing after the failure ran: no agent, no unit enabled to restart every 5 s forever
    assert not (root / "opt/eil").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/eil-node.service"
                ).exists()
    assert not (root / "boot/firmware/eil/node.key").exists()  # the key left the card first
    assert os.path.exists(root / "etc/eil/node/node.key")
