"""Writing node images for a site: the wheelhouse (once per architecture; cold and warm) and
then one image per node, each a copy of the base with the node's seed and the wheelhouse
written into its FAT boot partition by mtools.

The base is a synthetic Raspberry Pi OS-like image (MBR, FAT32 boot, ext4 root) of `--size`
MiB: a real one is 2.7 GB, and then copying it dominates (disk speed): the figure per image
apart from the copy is printed too. Prints figures; asserts nothing. Needs the package index
for a cold wheelhouse.

    .venv/bin/python -m bench.images [--nodes 50] [--arch arm64] [--size 100]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eil.cli import main as eil
from tests.site.test_site_image import synthetic_image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--arch", default="arm64")
    ap.add_argument("--size", type=int, default=100, help="MiB of the synthetic base image")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eil-bench-images-") as d:
        tmp = Path(d)
        site = tmp / "site"
        eil(["site", "init", str(site), "--site", "bench", "--gateway-host", "192.0.2.10"])
        for i in range(args.nodes):
            eil(["site", "add-node", f"bed-{i + 1}", "--kind", "soil", "--dir", str(site)])
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                        str(tmp / "dist"), str(Path(__file__).resolve().parents[1])], check=True)
        wheel = next((tmp / "dist").glob("*.whl"))
        base = synthetic_image(tmp / "base.img")
        if args.size != 100:
            subprocess.run(["truncate", "-s", f"{args.size}M", str(base)], check=True)
        (tmp / "key.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx bench\n")
        common = ["--ssh-key", str(tmp / "key.pub"), "--wheel", str(wheel), "--arch", args.arch,
                  "--dir", str(site)]
        t0 = time.perf_counter()
        eil(["site", "image", "--node", "bed-1", "--base", str(base), "-o",
             str(tmp / "bed-1.img"), *common])
        cold = time.perf_counter() - t0
        out = tmp / "out"
        out.mkdir()
        t0 = time.perf_counter()
        for i in range(args.nodes):
            img = out / f"bed-{i + 1}.img"
            eil(["site", "image", "--node", f"bed-{i + 1}", "--base", str(base), "-o", str(img),
                 *common])
            img.unlink()  # keep the disk free: one image at a time
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(5):
            shutil.copyfile(base, tmp / "copy.img")
        copy = (time.perf_counter() - t0) / 5
        wheels = list(next((site / "wheelhouse").iterdir()).glob("*.whl"))
        size = sum(p.stat().st_size for p in wheels)
    print(f"wheelhouse {args.arch}: {len(wheels)} wheels, {size / 2**20:.1f} MiB")
    print(f"first image (wheelhouse built, cold or from the site's cache): {cold:.1f} s")
    print(f"{args.nodes} images: {warm:.1f} s, {warm / args.nodes:.2f} s each; of which copying "
          f"the {args.size} MiB base {copy:.2f} s each")


if __name__ == "__main__":
    main()
