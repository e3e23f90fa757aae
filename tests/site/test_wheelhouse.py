"""The node's wheelhouse (eil/site/wheelhouse.py) for both Raspberry Pi OS architectures, built
from the real package index (cached under ~/.cache/eil-tests, keyed by pyproject.toml, the
architecture and Python) and proved complete without a network: no sdist, every wheel runs on
the node, every requirement met by a wheel, the OS or a stated reason. A wheel for the wrong
machine, a missing dependency and a stale wheel are each refused by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eil.site.layout import SiteError
from eil.site.wheelhouse import build, check, parse_target
from tests.support.deploy import CACHE, ROOT, _build_once, _key, project_wheel

pytestmark = pytest.mark.slow
PYTHON = "3.13"  # Raspberry Pi OS Trixie's


def house(arch: str, tmp: Path) -> Path:
    key = _key((ROOT / "pyproject.toml").read_bytes(), arch, PYTHON)

    def make(target: Path) -> None:
        wheel = project_wheel(tmp / "wheel")
        build(wheel, {"edge", "spi"}, parse_target(arch, PYTHON), target)

    return _build_once(CACHE / f"node-wheelhouse-{arch}-py{PYTHON}-{key}", make)


@pytest.fixture(scope="module", params=["arm64", "armhf"])
def wheelhouse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[str, Path]:
    arch = str(request.param)
    return arch, house(arch, tmp_path_factory.mktemp(arch))


def test_the_wheelhouse_is_complete_for_the_node_with_no_sdist(wheelhouse: tuple[str, Path]
                                                               ) -> None:
    arch, path = wheelhouse
    report = check(path, "eil-stack", {"edge", "spi"}, parse_target(arch, PYTHON))
    files = {p.name for p in path.iterdir()}
    assert all(n.endswith(".whl") for n in files - {"wheelhouse.json"}), files
    for name in ("eil-stack", "paho-mqtt", "pint", "adafruit-blinka", "gpiozero", "pyserial",
                 "adafruit-circuitpython-seesaw", "pymodbus"):
        assert name in report.wheels, name
    # no ARM wheel for spidev: Raspberry Pi OS's own package; psutil has one for 64-bit only
    assert report.from_os["spidev"] == ("spidev", "python3-spidev")
    assert ("psutil" in report.from_os) == (arch == "armhf")
    assert ("psutil" in report.wheels) == (arch == "arm64")
    native = [p.name for p in report.wheels.values() if "none-any" not in p.name]
    machine = "aarch64" if arch == "arm64" else "armv7l"
    assert all(machine in n for n in native), native
    print(f"\n{arch}: {report.summary()}")


def test_a_wrong_missing_or_stale_wheel_is_refused_by_name(wheelhouse: tuple[str, Path],
                                                          tmp_path: Path) -> None:
    arch, path = wheelhouse
    target = parse_target(arch, PYTHON)
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    pint = next(copy.glob("pint-*.whl"))
    pint.unlink()
    with pytest.raises(SiteError, match=r"the wheelhouse lacks pint.* \(needed by eil-stack"):
        check(copy, "eil-stack", {"edge"}, target)
    shutil.copy2(next(path.glob("pint-*.whl")), copy)
    x86 = copy / "psutil-7.0.0-cp36-abi3-manylinux_2_17_x86_64.whl"
    x86.write_bytes(b"")
    with pytest.raises(SiteError, match=r"psutil-7.0.0-cp36-abi3-manylinux_2_17_x86_64.whl does "
                                        rf"not run on {arch} with Python 3.13"):
        check(copy, "eil-stack", {"edge"}, target)
    x86.unlink()
    (copy / "colorama-0.4.6-py2.py3-none-any.whl").write_bytes(b"")  # left from an old build
    with pytest.raises(SiteError, match="wheels nothing needs: colorama"):
        check(copy, "eil-stack", {"edge", "spi"}, target)


def test_an_unknown_architecture_or_python_is_refused() -> None:
    with pytest.raises(SiteError, match="--arch 'riscv64': one of arm64, armhf"):
        parse_target("riscv64", PYTHON)
    with pytest.raises(SiteError, match="--python 'three': a version like 3.13"):
        parse_target("arm64", "three")


def test_a_rebuild_reuses_what_it_has_and_drops_what_is_no_longer_needed(
        wheelhouse: tuple[str, Path], tmp_path: Path) -> None:
    arch, path = wheelhouse
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    (copy / "colorama-0.4.6-py2.py3-none-any.whl").write_bytes(b"")  # an old build's
    before = {p.name: p.stat().st_mtime_ns for p in copy.glob("*.whl")}
    report = build(project_wheel(tmp_path / "wheel"), {"edge", "spi"}, parse_target(arch, PYTHON),
                   copy)
    assert not (copy / "colorama-0.4.6-py2.py3-none-any.whl").exists()
    after = {p.name: p.stat().st_mtime_ns for p in copy.glob("*.whl")}
    reused = {n for n in after if not n.startswith("eil_stack-")}
    assert reused and all(after[n] == before[n] for n in reused)  # nothing fetched again
    assert sorted(p.name for p in report.wheels.values()) == sorted(after)  # all it checked
