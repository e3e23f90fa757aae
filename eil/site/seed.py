"""A node's first-boot seed for Raspberry Pi OS (Trixie ships cloud-init, which reads `user-data`,
`network-config` and `meta-data` from the FAT boot partition), and writing it into a copy of an
official image without root and without mounting (mtools).

The seed makes the node: hostname, the steward's login (SSH keys, no password login), the
agent's own system user, Wi-Fi (netplan v2), the Pi's interfaces its sensors need (`rpi:
interfaces:`), the agent from the project's wheel placed beside the seed, the site's sandboxed
unit with the node's device drop-in (the same files the Ansible role installs), and the node's
credential moved off the FAT partition (readable by anyone who holds the card) into
/etc/eil/node at first boot.

`rpi:` is Raspberry Pi OS's own cloud-init module. A cloud-init without that module (Debian's
22.4, which checks the seeds here) accepts the key as an unknown top-level key (`cloud-init
schema` reports the seed valid) and no module acts on it at boot; every standard key is checked.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
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


def node_seed(site: Site, node: str, *, ssh_keys: list[str], wifi: tuple[str, str] | None,
              country: str, wheel: Path | None) -> Seed:
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
    if wheel is not None:
        files[wheel.name] = wheel
    unit_dir = "/etc/systemd/system"
    installed_units = {f"{unit_dir}/eil-node.service": site.root / "systemd" / "eil-node.service",
                       f"{unit_dir}/eil-node.service.d/devices.conf": d / "devices.conf"}
    for path in installed_units.values():
        if not path.exists():
            raise SiteError(f"{path} is missing: run `eil site init` and `eil site add-node "
                            f"{node} --kind {kind} --renew` with this version")
    boot = f"/boot/firmware/{SEED_DIR}"
    install = (f"python3 -m venv {units.VENV} && {units.VENV}/bin/pip install "
               f"'{boot}/{wheel.name}[edge]'" if wheel is not None else
               f"echo 'no agent wheel in the seed: install eil-stack[edge] into {units.VENV}'")
    moved = " ".join(f"{boot}/{n}" for n in files if not n.endswith(".whl"))
    conf = site.installed(site.config(), "node")
    groups = sorted({units.INTERFACES[i].group for i in units.KIND_INTERFACES[kind]})
    user = {
        "hostname": node, "manage_etc_hosts": True,
        "groups": groups,
        "users": [{"name": LOGIN_USER, "groups": ", ".join(groups), "shell": "/bin/bash",
                   "lock_passwd": True, "ssh_authorized_keys": list(ssh_keys),
                   "sudo": "ALL=(ALL) NOPASSWD:ALL"},
                  {"name": units.NODE_USER, "system": True, "no_create_home": True,
                   "shell": "/usr/sbin/nologin", "lock_passwd": True}],
        "ssh_pwauth": False, "disable_root": True,
        "rpi": {"interfaces": {i: True for i in units.KIND_INTERFACES[kind]
                               if i in RPI_INTERFACES}},
        "write_files": [{"path": path, "content": src.read_text(), "permissions": "0644"}
                        for path, src in installed_units.items()],
        "runcmd": [
            f"install -d -m 0750 -o root -g {units.NODE_USER} {conf}",
            # the credential leaves the FAT partition (anyone with the card can read it); the
            # agent reads it and cannot change it
            f"install -m 0640 -o root -g {units.NODE_USER} {moved} {conf}/",
            f"shred -u {moved}",
            install,
            "systemctl daemon-reload",
            "systemctl enable --now eil-node.service",
        ],
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
    if "/" in name:
        subprocess.run([find_binary("mmd", "mtools"), "-D", "s", "-i", target, f"::/{name.split('/')[0]}"],
                       capture_output=True, text=True)  # exists already: fine
    result = subprocess.run([find_binary("mcopy", "mtools"), "-o", "-i", target, str(src), f"::/{name}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SiteError(f"mcopy into the boot partition failed: {result.stderr.strip()} "
                        "(install mtools)")
