"""A node's first-boot seed for Raspberry Pi OS (Trixie ships cloud-init, which reads `user-data`,
`network-config` and `meta-data` from the FAT boot partition), and writing it into a copy of an
official image without root and without mounting (mtools).

The seed makes the node: hostname, the steward's login (SSH keys, no password login), the
agent's own system user, Wi-Fi (netplan v2), the Pi's interfaces its sensors need (`rpi:
interfaces:`), the agent installed offline from the wheelhouse placed beside the seed (every
package as a wheel for the node's architecture and Python: eil/site/wheelhouse.py; nothing is
fetched or built at first boot), the site's sandboxed unit with the node's device drop-in (the
same files the Ansible role installs), and the node's credential moved off the FAT partition
(readable by anyone who holds the card) into /etc/eil/node at first boot.

First boot runs one script, `eil-node-install` (written by the seed), with `set -e`: any step
that fails stops the rest (the unit is never enabled over a missing agent), says what failed
in the journal (`journalctl -t eil-node-install`) and in /var/lib/eil/node-install.failed,
and cloud-init reports its runcmd as failed. A module the OS was to provide but lacks (say
python3-psutil on a 32-bit image) is a warning there, and the sensor that needs it reports
itself unavailable in the node's status. The Wi-Fi password leaves the boot partition's
network-config and cloud-init's own copies once netplan holds it (/etc/netplan, root only).

`rpi:` is Raspberry Pi OS's own cloud-init module. A cloud-init without that module (Debian's
22.4, which checks the seeds here) accepts the key as an unknown top-level key (`cloud-init
schema` reports the seed valid) and no module acts on it at boot; every standard key is checked.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from eil.broker import find_binary
from eil.site import units
from eil.site.layout import Site, SiteError

SEED_DIR = "eil"  # on the boot partition, beside the seed: the node's files and the wheel
FAT_TYPES = {0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E}  # FAT12/16/32 partition types in an MBR


# the buses Raspberry Pi OS's `rpi:` module switches on (gpio needs nothing; it is always on)
RPI_INTERFACES = ("i2c", "spi", "serial", "onewire")
LOGIN_USER = "steward"  # the steward's SSH login (sudo); the agent runs as units.NODE_USER


@dataclass(frozen=True)
class Seed:
    user_data: str
    network_config: str
    meta_data: str
    files: dict[str, Path]  # name under SEED_DIR on the boot partition -> source file


INSTALLER = "/usr/local/sbin/eil-node-install"
INSTALL_FAILED = "/var/lib/eil/node-install.failed"


def install_script(conf: str, credentials: list[str], os_modules: dict[str, str],
                   wifi: bool, groups: Sequence[str] = ()) -> str:
    """The node's first-boot install, as a POSIX shell script (see the module's docstring)."""
    boot = f"/boot/firmware/{SEED_DIR}"
    checks = "".join(
        f'"$venv/bin/python" -c "import {m}" 2>/dev/null || say "warning: Python module {m} '
        f'is missing (Debian package {pkg}): the sensors that need it will report themselves '
        f'unavailable"\n' for m, pkg in sorted(os_modules.items()))
    moved = " ".join(f"{boot}/{n}" for n in credentials)
    redact = ""
    if wifi:  # netplan has it now (root only): no copy on the card or in cloud-init's files
        redact = """python3 - <<'PY' || fail "removing the Wi-Fi password's copies"
import os, yaml
cfg = "/boot/firmware/network-config"
net = yaml.safe_load(open(cfg))["network"]
points = [ap for i in net.get("wifis", {}).values() for ap in i.get("access-points", {}).values()]
secrets = [ap.pop("password").encode() for ap in points if ap.get("password")]
if secrets:
    with open(cfg, "w") as f:
        f.write(yaml.safe_dump({"network": net}, sort_keys=False))
    for top in ("/var/lib/cloud", "/var/log"):
        for where, _, names in os.walk(top):
            for name in names:
                path = os.path.join(where, name)
                if name.endswith(".journal") or os.path.islink(path):
                    continue  # the journal's own files are checksummed: cloud-init logs to files
                try:
                    data = open(path, "rb").read()
                except OSError:
                    continue
                if not any(x in data for x in secrets):
                    continue
                if name.endswith(".pkl"):
                    os.remove(path)  # cloud-init's cache of the datasource: rebuilt when needed
                    continue
                for x in secrets:
                    data = data.replace(x, b"(redacted)")
                with open(path, "wb") as f:
                    f.write(data)
    print("eil-node-install: the Wi-Fi password is only in /etc/netplan now")
PY
"""
    return f"""#!/bin/sh
# First boot of an EIL node (written by `eil site image`): the agent from the wheelhouse on the
# boot partition, nothing from the network; every failure stops the rest and says why.
set -eu
boot={boot}
venv={units.VENV}
say() {{ echo "eil-node-install: $*"; logger -t eil-node-install -- "$*" 2>/dev/null || true; }}
fail() {{ say "FAILED: $*"; mkdir -p "$(dirname {INSTALL_FAILED})"
  echo "$*" > {INSTALL_FAILED}; exit 1; }}
rm -f {INSTALL_FAILED}
# the buses' groups as system groups (Raspberry Pi OS has them; a root without them would get
# ordinary ones from cloud-init), the steward in them
for g in {" ".join(groups)}; do
  getent group "$g" >/dev/null || groupadd --system "$g" || fail "creating the group $g"
  usermod -aG "$g" {LOGIN_USER} || fail "adding {LOGIN_USER} to $g"
done
install -d -m 0750 -o root -g {units.NODE_USER} {conf}
# the credential leaves the FAT partition (anyone with the card can read it); the agent reads
# it and cannot change it
if [ -n "{moved}" ] && [ -e "{boot}/node.toml" ]; then
  install -m 0640 -o root -g {units.NODE_USER} {moved} {conf}/ || fail "moving the credential"
  shred -u {moved} || fail "removing the credential from the boot partition"
fi
{redact}ls "$boot"/wheels/*.whl >/dev/null 2>&1 || fail "no wheelhouse in $boot/wheels: \
this image was written without the agent (eil site image --wheel)"
python3 -m venv --system-site-packages "$venv" || fail "python3 -m venv $venv"
"$venv/bin/pip" install --no-index --no-deps --disable-pip-version-check -q "$boot"/wheels/*.whl \
  || fail "installing the agent from $boot/wheels (pip's words above)"
"$venv/bin/eil" --help >/dev/null || fail "the installed agent does not start"
{checks}systemctl daemon-reload
systemctl enable --now eil-node.service || fail "starting eil-node.service"
say "the agent is installed from the wheelhouse and started"
"""


def node_seed(site: Site, node: str, *, ssh_keys: list[str], wifi: tuple[str, str] | None,
              country: str, wheelhouse: Path | None, os_modules: dict[str, str] | None = None
              ) -> Seed:
    """`wheelhouse`: a checked wheelhouse (eil/site/wheelhouse.py) for the node's platform;
    `os_modules`: module -> Debian package the node's OS is to provide (checked at first
    boot)."""
    nodes = site.inventory()
    if node not in nodes:
        raise SiteError(f"no node {node!r} in {site.root}: eil site add-node {node} --kind ...")
    if nodes[node].get("revoked"):
        raise SiteError(f"node {node} is revoked: an image for it would be refused")
    if nodes[node]["kind"] == "senml":
        raise SiteError(f"{node} is a third-party SenML device, not a node: it has no image")
    if not ssh_keys:
        raise SiteError("--ssh-key: the steward's public key (a node has no password login)")
    kind = str(nodes[node]["kind"])
    d = site.root / "nodes" / node
    files = {name: d / name for name in ("node.toml", "node.key", "node.crt", "ca.crt",
                                         "station.key") if (d / name).exists()}
    credentials = list(files)
    if wheelhouse is not None:
        files.update({f"wheels/{w.name}": w for w in sorted(wheelhouse.glob("*.whl"))})
    unit_dir = "/etc/systemd/system"
    installed_units = {f"{unit_dir}/eil-node.service": site.root / "systemd" / "eil-node.service",
                       f"{unit_dir}/eil-node.service.d/devices.conf": d / "devices.conf"}
    for path in installed_units.values():
        if not path.exists():
            raise SiteError(f"{path} is missing: run `eil site init` and `eil site add-node "
                            f"{node} --kind {kind} --renew` with this version")
    conf = site.installed(site.config(), "node")
    groups = sorted({units.INTERFACES[i].group for i in units.KIND_INTERFACES[kind]})
    script = install_script(conf, credentials, os_modules or {}, wifi is not None, groups)
    user = {
        "hostname": node, "manage_etc_hosts": True,
        "users": [{"name": LOGIN_USER, "shell": "/bin/bash",
                   "lock_passwd": True, "ssh_authorized_keys": list(ssh_keys),
                   "sudo": "ALL=(ALL) NOPASSWD:ALL"},
                  {"name": units.NODE_USER, "system": True, "no_create_home": True,
                   "shell": "/usr/sbin/nologin", "lock_passwd": True}],
        "ssh_pwauth": False, "disable_root": True,
        "rpi": {"interfaces": {i: True for i in units.KIND_INTERFACES[kind]
                               if i in RPI_INTERFACES}},
        "write_files": [{"path": path, "content": src.read_text(), "permissions": "0644"}
                        for path, src in installed_units.items()] + [
            {"path": INSTALLER, "content": script, "permissions": "0755"}],
        "runcmd": [INSTALLER],
    }
    network: dict[str, object] = {"version": 2, "ethernets": {
        "eth0": {"dhcp4": True, "optional": True}}}
    if wifi is not None:
        network["wifis"] = {"wlan0": {"dhcp4": True, "optional": True,
                                      "regulatory-domain": country,
                                      "access-points": {wifi[0]: {"password": wifi[1]}}}}
    serial = str(nodes[node]["serial"])
    return Seed("#cloud-config\n" + yaml.safe_dump(user, sort_keys=False),
                yaml.safe_dump({"network": network}, sort_keys=False),
                f"instance-id: eil-{node}-{serial[-12:]}\nlocal-hostname: {node}\n", files)


def validate(user_data: Path) -> str:
    """`cloud-init schema` on the user-data; returns its report, raises on a refusal."""
    result = subprocess.run([find_binary("cloud-init", "cloud-init"), "schema", "--config-file",
                             str(user_data)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SiteError(f"cloud-init refuses {user_data}: {result.stdout}{result.stderr}")
    return result.stdout


def fat_partition_offset(image: Path) -> int:
    """The byte offset of the first FAT partition of an MBR disk image (Raspberry Pi OS's boot
    partition); a clear error for anything else."""
    try:
        with image.open("rb") as f:
            mbr = f.read(512)
    except OSError as exc:
        raise SiteError(f"--base {image}: {exc.strerror}") from exc
    if len(mbr) < 512 or mbr[510:512] != b"\x55\xaa":
        raise SiteError(f"--base {image} is not a disk image with an MBR partition table (a "
                        "Raspberry Pi OS .img, unpacked)")
    for i in range(4):
        entry = mbr[446 + 16 * i: 462 + 16 * i]
        ptype, start = entry[4], struct.unpack_from("<I", entry, 8)[0]
        if ptype in FAT_TYPES and start:
            return start * 512
    raise SiteError(f"--base {image} has no FAT boot partition for the seed")


def write_image(seed: Seed, base: Path, out: Path, scratch: Path) -> None:
    """A copy of `base` with the seed in its FAT boot partition (the base is never touched)."""
    offset = fat_partition_offset(base)
    if out.resolve() == base.resolve():
        raise SiteError("-o: the output must not be the base image (it is never modified)")
    shutil.copyfile(base, out)
    try:
        write_boot(seed, scratch, lambda src, name: _mcopy(out, offset, src, name))
    except SiteError:
        out.unlink(missing_ok=True)
        raise


def write_boot_dir(seed: Seed, boot: Path, scratch: Path) -> None:
    """The seed into an already flashed card's mounted boot partition."""
    if not (boot / "config.txt").exists() and not (boot / "cmdline.txt").exists():
        raise SiteError(f"--write-boot {boot} is not a Raspberry Pi boot partition (no "
                        "config.txt or cmdline.txt)")

    def put(src: Path, name: str) -> None:
        target = boot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)

    write_boot(seed, scratch, put)


def write_boot(seed: Seed, scratch: Path, put) -> None:  # type: ignore[no-untyped-def]
    scratch.mkdir(parents=True, exist_ok=True)
    for name, text in (("user-data", seed.user_data), ("network-config", seed.network_config),
                       ("meta-data", seed.meta_data)):
        (scratch / name).write_text(text)
        put(scratch / name, name)
    for name, src in seed.files.items():
        put(src, f"{SEED_DIR}/{name}")


def _mcopy(image: Path, offset: int, src: Path, name: str) -> None:
    target = f"{image}@@{offset}"
    parts = name.split("/")[:-1]
    for depth in range(1, len(parts) + 1):  # eil/, then eil/wheels/
        subprocess.run([find_binary("mmd", "mtools"), "-D", "s", "-i", target,
                        "::/" + "/".join(parts[:depth])],
                       capture_output=True, text=True)  # exists already: fine
    result = subprocess.run([find_binary("mcopy", "mtools"), "-o", "-i", target, str(src), f"::/{name}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SiteError(f"mcopy into the boot partition failed: {result.stderr.strip()} "
                        "(install mtools)")
