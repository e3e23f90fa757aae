"""Node seeds and images: every generated user-data passes `cloud-init schema` (Debian's
cloud-init, which accepts the Pi-only `rpi:` key as an unknown key), the seed is read back byte
for byte out of a synthetic Raspberry Pi OS-like image (MBR, a FAT32 boot partition, an ext4
root) with mtools, the base image is never modified, and images that are not such images are
refused."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
import yaml

from eil.broker import find_binary
from eil.cli import main as eil
from eil.site import units as units_mod
from eil.site.layout import Site, SiteConfig, SiteError
from eil.site.nodes import KINDS, add_node
from eil.site.seed import (
    INSTALLER,
    RPI_INTERFACES,
    SEED_DIR,
    fat_partition_offset,
    node_seed,
    validate,
)
from eil.site.units import KIND_INTERFACES, NODE_USER

pytestmark = pytest.mark.slow
BOOT_START, BOOT_SECTORS, ROOT_START = 8192, 131072, 8192 + 131072


def synthetic_image(path: Path, *, fat: bool = True) -> Path:
    """64 MiB + 32 MiB: an MBR with a FAT32 boot partition (type c) and an ext4 root."""
    subprocess.run(["truncate", "-s", "100M", str(path)], check=True)
    table = (f"label: dos\nstart={BOOT_START}, size={BOOT_SECTORS}, type={'c' if fat else '83'}\n"
             f"start={ROOT_START}, type=83\n")
    subprocess.run([find_binary("sfdisk", "fdisk"), "-q", str(path)], input=table, text=True,
                   check=True, capture_output=True)
    if fat:
        subprocess.run([find_binary("mkfs.vfat", "dosfstools"), "-F", "32", "--offset",
                        str(BOOT_START), str(path), str(BOOT_SECTORS // 2)], check=True,
                       capture_output=True)
    subprocess.run([find_binary("mkfs.ext4", "e2fsprogs"), "-q", "-F", "-E",
                    f"offset={ROOT_START * 512}", str(path), "30M"], check=True,
                   capture_output=True)
    return path


def read_back(image: Path, name: str) -> bytes:
    return subprocess.run([find_binary("mcopy", "mtools"), "-n", "-i",
                           f"{image}@@{BOOT_START * 512}", f"::/{name}", "-"],
                          capture_output=True, check=True).stdout


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path / "site")
    s.init(SiteConfig("field", ("10.0.0.2",)))
    (tmp_path / "steward.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx steward@home\n")
    return s


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_generated_user_data_passes_cloud_init_schema(site: Site, tmp_path: Path,
                                                            kind: str) -> None:
    add_node(site, f"{kind}-1", kind)
    seed = node_seed(site, f"{kind}-1", ssh_keys=["ssh-ed25519 AAAA steward"],
                     wifi=("garden-net", "a wifi password"), country="GB", wheelhouse=None)
    user_data = tmp_path / "user-data"
    user_data.write_text(seed.user_data)
    assert "Valid cloud-config" in validate(user_data)
    assert "rpi:" in seed.user_data and "ssh_pwauth: false" in seed.user_data
    assert "lock_passwd: true" in seed.user_data and "version: 2" in seed.network_config
    doc = yaml.safe_load(seed.user_data)
    assert doc["hostname"] == f"{kind}-1" and doc["users"][0]["ssh_authorized_keys"] == [
        "ssh-ed25519 AAAA steward"]
    assert doc["rpi"]["interfaces"] == {i: True for i in KIND_INTERFACES[kind]
                                        if i in RPI_INTERFACES}
    # the agent runs as its own system user, not as the steward's sudo-capable login
    agent = next(u for u in doc["users"] if u["name"] == NODE_USER)
    assert agent["system"] is True and "sudo" not in agent
    units = {f["path"]: f["content"] for f in doc["write_files"]}
    node_dir = site.root / "nodes" / f"{kind}-1"
    assert units["/etc/systemd/system/eil-node.service"] == (
        site.root / "systemd" / "eil-node.service").read_text()
    assert units["/etc/systemd/system/eil-node.service.d/devices.conf"] == (
        node_dir / "devices.conf").read_text()
    # first boot is one script that stops at the first failure (runcmd's own shell does not)
    assert doc["runcmd"] == [INSTALLER]
    script = units[INSTALLER]
    assert script.startswith("#!/bin/sh\n") and "\nset -eu\n" in script
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
    assert "pip\" install --no-index --no-deps" in script and "--system-site-packages" in script
    assert script.index('fail "no wheelhouse') < script.index("systemctl enable --now")
    assert "network-config" in script  # the Wi-Fi password leaves the card
    assert "groups" not in doc and "groups" not in doc["users"][0]  # system groups: the script
    groups = sorted({units_mod.INTERFACES[i].group for i in KIND_INTERFACES[kind]})
    assert f"for g in {' '.join(groups)}; do" in script


def test_the_seed_is_in_the_image_byte_for_byte_and_the_base_untouched(site: Site,
                                                                        tmp_path: Path) -> None:
    add_node(site, "bed-1", "soil")
    base = synthetic_image(tmp_path / "raspios-trixie-lite.img")
    before = hashlib.sha256(base.read_bytes()).hexdigest()
    (tmp_path / "wifi.secret").write_text("a wifi password\n")
    out = tmp_path / "bed-1.img"
    assert eil(["site", "image", "--node", "bed-1", "--base", str(base), "-o", str(out),
                "--ssh-key", str(tmp_path / "steward.pub"), "--wifi-ssid", "garden-net",
                "--wifi-password-file", str(tmp_path / "wifi.secret"), "--dir",
                str(site.root)]) == 0
    assert hashlib.sha256(base.read_bytes()).hexdigest() == before
    seed = node_seed(site, "bed-1", ssh_keys=[(tmp_path / "steward.pub").read_text().strip()],
                     wifi=("garden-net", "a wifi password"), country="GB", wheelhouse=None)
    assert not any(n.startswith("wheels/") for n in seed.files)  # none given: first boot says so
    assert read_back(out, "user-data") == seed.user_data.encode()
    assert read_back(out, "network-config") == seed.network_config.encode()
    assert read_back(out, "meta-data") == seed.meta_data.encode()
    node_dir = site.root / "nodes" / "bed-1"
    for name in ("node.toml", "node.key", "node.crt", "ca.crt"):
        assert read_back(out, f"{SEED_DIR}/{name}") == (node_dir / name).read_bytes()
    # the node's key appears in the image only inside its intended file
    key = (node_dir / "node.key").read_bytes()
    assert out.read_bytes().count(key.splitlines()[1]) == 1


def test_an_already_flashed_card_gets_the_same_seed(site: Site, tmp_path: Path) -> None:
    add_node(site, "bed-1", "soil")
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "config.txt").write_text("dtparam=audio=on\n")
    assert eil(["site", "image", "--node", "bed-1", "--write-boot", str(boot), "--ssh-key",
                str(tmp_path / "steward.pub"), "--dir", str(site.root)]) == 0
    assert (boot / "user-data").read_text().startswith("#cloud-config\n")
    assert (boot / SEED_DIR / "node.crt").read_bytes() == (
        site.root / "nodes" / "bed-1" / "node.crt").read_bytes()


def test_images_that_are_not_raspberry_pi_images_are_refused(site: Site, tmp_path: Path) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8" + b"\0" * 4096)
    with pytest.raises(SiteError, match="is not a disk image with an MBR partition table"):
        fat_partition_offset(junk)
    no_fat = synthetic_image(tmp_path / "server.img", fat=False)
    with pytest.raises(SiteError, match="has no FAT boot partition"):
        fat_partition_offset(no_fat)
    assert fat_partition_offset(synthetic_image(tmp_path / "pi.img")) == BOOT_START * 512
    add_node(site, "bed-1", "soil")
    assert eil(["site", "image", "--node", "bed-1", "--base", str(no_fat), "-o",
                str(tmp_path / "x.img"), "--ssh-key", str(tmp_path / "steward.pub"), "--dir",
                str(site.root)]) == 2
    assert not (tmp_path / "x.img").exists()
    with pytest.raises(SiteError, match="not a Raspberry Pi boot partition"):
        from eil.site.seed import write_boot_dir
        write_boot_dir(node_seed(site, "bed-1", ssh_keys=["k"], wifi=None, country="GB",
                                 wheelhouse=None), tmp_path, tmp_path / "scratch")


def test_the_wheelhouse_goes_onto_the_boot_partition(site: Site, tmp_path: Path) -> None:
    add_node(site, "bed-1", "soil")
    house = tmp_path / "house"
    house.mkdir()
    wheels = {"eil_stack-0.1.0-py3-none-any.whl": b"PK one", "pint-0.26-py3-none-any.whl":
              b"PK two", "psutil-7.2.2-cp36-abi3-manylinux2014_aarch64.whl": b"PK three"}
    for name, data in wheels.items():
        (house / name).write_bytes(data)
    seed = node_seed(site, "bed-1", ssh_keys=["k"], wifi=None, country="GB", wheelhouse=house,
                     os_modules={"spidev": "python3-spidev"})
    base = synthetic_image(tmp_path / "pi.img")
    from eil.site.seed import write_image
    write_image(seed, base, tmp_path / "bed-1.img", tmp_path / "scratch")
    for name, data in wheels.items():
        assert read_back(tmp_path / "bed-1.img", f"{SEED_DIR}/wheels/{name}") == data
    script = next(f["content"] for f in yaml.safe_load(seed.user_data)["write_files"]
                  if f["path"] == INSTALLER)
    assert "import spidev" in script and "python3-spidev" in script
    assert "network-config" not in script  # no Wi-Fi: nothing to take off the card
