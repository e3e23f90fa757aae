"""The node's wheelhouse: every Python package the agent needs, as wheels for the node's
architecture and Python, made on the steward's machine so that the node installs offline at
first boot and builds nothing (Raspberry Pi OS Lite has no compiler or Python headers).

`build` walks the requirements of the project's wheel (its `edge` extra and any kit extras)
for the target: for each one, a binary wheel for the platform from the package index (`pip
download --only-binary=:all: --platform ... --no-deps`); failing that, the sdist built here
into a wheel, kept only if it is pure Python (`py3-none-any`); failing that, the package
must be one the node's OS provides (`OS_PROVIDED`: the node's virtualenv sees the system's
site packages) or one the project does not use on that platform (`NOT_NEEDED`, each with its
reason). Markers are evaluated for the target, not for this machine.

`check` proves a wheelhouse complete without a network: every wheel fits the target's tags,
and every requirement of every wheel (markers evaluated for the target) is met by a wheel in
it, by the OS, or is not needed. `eil site image` runs it before it writes a seed, and the
node installs exactly the wheelhouse (`pip install --no-index --no-deps`), so what was checked
is what is installed.
"""

from __future__ import annotations

import email.parser
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from eil.site.layout import SiteError

# the node's platforms: Raspberry Pi OS 64-bit and 32-bit (Trixie: Python 3.13, glibc 2.41;
# Bookworm: 3.11, 2.36)
ARCHES = {"arm64": ("aarch64", "aarch64"), "armhf": ("armv7l", "armv7l"),
          "amd64": ("x86_64", "x86_64")}  # a node on a PC, and the tests' native boots
GLIBC = (2, 36)  # Bookworm's: a wheel for it runs on Trixie too
# no wheel for some platforms, but a Debian / Raspberry Pi OS package of its own: the node's
# virtualenv sees the system's site packages (distribution -> (module, Debian package))
OS_PROVIDED = {"spidev": ("spidev", "python3-spidev"), "psutil": ("psutil", "python3-psutil"),
               "lgpio": ("lgpio", "python3-lgpio")}
# required by a library on ARM but not used by any driver of this project
NOT_NEEDED = {
    "sysv-ipc": "Adafruit Blinka's PulseIn (DHT sensors) only; no driver here uses it",
    "rpi-gpio": "Adafruit Blinka's digitalio on old kernels; gpiozero drives the pins here",
    "rpi-ws281x": "Adafruit Blinka's NeoPixel support; no driver here uses it",
}


@dataclass(frozen=True)
class Target:
    arch: str  # arm64 | armhf | amd64
    python: tuple[int, int]

    @property
    def machine(self) -> str:
        return ARCHES[self.arch][0]

    def platforms(self) -> list[str]:
        """Platform tags the node's glibc runs, newest first (manylinux2014 is 2.17's alias)."""
        m = ARCHES[self.arch][1]
        return [f"manylinux_{GLIBC[0]}_{minor}_{m}" for minor in range(GLIBC[1], 16, -1)] + [
            f"manylinux2014_{m}"]

    def tags(self) -> set[Tag]:
        py = self.python
        plats = self.platforms()
        return set(cpython_tags(py, platforms=plats)) | set(
            compatible_tags(py, f"cp{py[0]}{py[1]}", platforms=plats))

    def environment(self, extras: set[str]) -> list[dict[str, str]]:
        """Marker environments of the node: one per extra asked for (and none)."""
        env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
        env.update({"platform_machine": self.machine, "sys_platform": "linux",
                    "platform_system": "Linux", "os_name": "posix",
                    "python_version": f"{self.python[0]}.{self.python[1]}",
                    "python_full_version": f"{self.python[0]}.{self.python[1]}.0",
                    "implementation_name": "cpython",
                    "platform_python_implementation": "CPython"})
        return [{**env, "extra": e} for e in ("", *sorted(extras))]


def parse_target(arch: str, python: str) -> Target:
    if arch not in ARCHES:
        raise SiteError(f"--arch {arch!r}: one of {', '.join(ARCHES)}")
    try:
        major, minor = (int(x) for x in python.split("."))
    except ValueError:
        raise SiteError(f"--python {python!r}: a version like 3.13") from None
    return Target(arch, (major, minor))


def _metadata(wheel: Path) -> tuple[str, str, list[Requirement]]:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(name).decode())
    return meta["Name"], meta["Version"], [Requirement(r) for r in meta.get_all(
        "Requires-Dist") or []]


def _wanted(req: Requirement, envs: list[dict[str, str]]) -> bool:
    return req.marker is None or any(req.marker.evaluate(env) for env in envs)


@dataclass(frozen=True)
class Report:
    wheels: dict[str, Path]  # canonical name -> wheel
    from_os: dict[str, tuple[str, str]]  # distribution -> (module, Debian package) of the OS
    not_needed: dict[str, str]  # canonical name -> why

    def summary(self) -> str:
        size = sum(p.stat().st_size for p in self.wheels.values())
        out = f"{len(self.wheels)} wheels, {size / 2**20:.1f} MiB"
        if self.from_os:
            out += "; from the OS: " + ", ".join(f"{n} ({p})" for n, (_, p) in
                                                  self.from_os.items())
        if self.not_needed:
            out += "; left out: " + ", ".join(self.not_needed)
        return out


def check(house: Path, project: str, extras: set[str], target: Target) -> Report:
    """A wheelhouse proved complete for `target`, or SiteError naming what is missing."""
    wheels: dict[str, Path] = {}
    tags = target.tags()
    for w in sorted(house.glob("*.whl")):
        name, _, _, wheel_tags = parse_wheel_filename(w.name)
        if not wheel_tags & tags:
            raise SiteError(f"{w.name} does not run on {target.arch} with Python "
                            f"{target.python[0]}.{target.python[1]} (tags "
                            f"{', '.join(sorted(str(t) for t in wheel_tags))})")
        wheels[canonicalize_name(name)] = w
    from_os: dict[str, tuple[str, str]] = {}
    not_needed: dict[str, str] = {}
    todo = [(Requirement(f"{project}[{','.join(sorted(extras))}]" if extras else project),
             "the node")]
    seen: set[str] = set()
    while todo:
        req, who = todo.pop()
        key = canonicalize_name(req.name)
        if key in wheels:
            _, version, reqs = _metadata(wheels[key])
            if version not in req.specifier:
                raise SiteError(f"{who} needs {req}, the wheelhouse has {version}")
            seen_key = f"{key}[{','.join(sorted(req.extras))}]"
            if seen_key in seen:
                continue
            seen.add(seen_key)
            envs = target.environment(set(req.extras))
            todo += [(r, f"{key} {version}") for r in reqs if _wanted(r, envs)]
        elif key in NOT_NEEDED:
            not_needed[key] = NOT_NEEDED[key]
        elif key in OS_PROVIDED:
            from_os[key] = OS_PROVIDED[key]
        else:
            raise SiteError(f"the wheelhouse lacks {req} (needed by {who}) for {target.arch}: "
                            "rebuild it (eil site wheelhouse)")
    unused = sorted(set(wheels) - {s.split("[")[0] for s in seen})
    if unused:
        raise SiteError(f"wheels nothing needs: {', '.join(unused)} (a stale wheelhouse?)")
    return Report(wheels, from_os, not_needed)


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=600)


def _fetch(req: Requirement, target: Target, out: Path) -> Path | None:
    """A wheel for `req` on the target: binary from the index, else a pure wheel built here
    from the sdist; None when neither exists (only a native build would do)."""
    before = set(out.glob("*.whl"))
    spec = str(Requirement(f"{req.name}{req.specifier}"))
    got = _pip("download", "-q", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", f"{target.python[0]}.{target.python[1]}", "--abi",
               f"cp{target.python[0]}{target.python[1]}",
               *(x for p in target.platforms() for x in ("--platform", p)), "-d", str(out), spec)
    if got.returncode == 0:
        new = set(out.glob("*.whl")) - before
        return next(iter(new), None) or _already(out, req)
    with tempfile.TemporaryDirectory() as tmp:
        built = _pip("wheel", "-q", "--no-deps", "--no-binary=:all:", "-w", tmp, spec)
        if built.returncode != 0:
            return None
        wheel = next(Path(tmp).glob("*.whl"))
        if not any(t.platform == "any" and t.abi == "none"
                   for t in parse_wheel_filename(wheel.name)[3]):
            return None  # native code: the node cannot use a wheel built for this machine
        return Path(shutil.copy2(wheel, out / wheel.name))


def _already(out: Path, req: Requirement) -> Path | None:
    for w in out.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(w.name)
        if canonicalize_name(name) == canonicalize_name(req.name) and str(version) in req.specifier:
            return w
    return None


def build(project_wheel: Path, extras: set[str], target: Target, out: Path) -> Report:
    """The wheelhouse for `target` in `out` (kept across builds: what is there and still
    needed is reused, a wheel no longer needed is removed)."""
    out.mkdir(parents=True, exist_ok=True)
    name, _, _ = _metadata(project_wheel)
    own = out / project_wheel.name
    for stale in out.glob(f"{canonicalize_name(name).replace('-', '_')}-*.whl"):
        if stale.name != project_wheel.name:
            stale.unlink()
    shutil.copy2(project_wheel, own)
    todo = [(r, name) for r in _metadata(own)[2]
            if _wanted(r, target.environment(extras))]
    done: set[str] = {canonicalize_name(name)}  # name[extras]: extras pull in more
    kept: set[str] = {canonicalize_name(name)}  # the distributions this build needs
    while todo:
        req, who = todo.pop()
        key = canonicalize_name(req.name)
        with_extras = f"{key}[{','.join(sorted(req.extras))}]"
        if with_extras in done:
            continue
        done.add(with_extras)
        if key in NOT_NEEDED:
            continue
        wheel = _already(out, req) or _fetch(req, target, out)
        if wheel is None:
            if key in OS_PROVIDED:
                continue
            raise SiteError(f"{req} (needed by {who}) has no wheel for {target.arch} and is not "
                            "pure Python: add it to the OS packages the node brings, or make it "
                            "an optional extra")
        kept.add(key)
        _, version, reqs = _metadata(wheel)
        envs = target.environment(set(req.extras))
        todo += [(r, f"{key} {version}") for r in reqs if _wanted(r, envs)]
    for w in out.glob("*.whl"):  # left by an earlier build whose requirements differed
        if canonicalize_name(parse_wheel_filename(w.name)[0]) not in kept:
            w.unlink()
    report = check(out, name, extras, target)
    (out / "wheelhouse.json").write_text(json.dumps({
        "arch": target.arch, "python": ".".join(map(str, target.python)),
        "extras": sorted(extras), "from_os": report.from_os,
        "not_needed": report.not_needed}, indent=2))
    return report
