"""Heavy set-ups for the deployment tests, built when missing and cached outside the repository
(keyed by what they are made of): an Ansible virtualenv, a Debian 12 root from debootstrap, and
a wheelhouse of the project's dependencies served on loopback to the roots' pip.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EIL_TEST_CACHE", Path.home() / ".cache" / "eil-tests"))
ANSIBLE_REQUIREMENTS = ROOT / "scripts" / "ansible-requirements.txt"
SUITE, MIRROR = "bookworm", os.environ.get("EIL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# what the roles' hosts have before Ansible: Python for its modules, apt's bindings, systemctl
ROOT_PACKAGES = ("python3", "python3-apt", "systemd", "ca-certificates")


def _key(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
    return h.hexdigest()[:12]


def _build_once(target: Path, build) -> Path:  # type: ignore[no-untyped-def]
    """`build(target)` unless a finished build is there (its marker beside it): a half-built
    cache (a run killed while building) is thrown away and built again. In place, because a
    virtualenv names its own path in its scripts."""
    done = target.with_name(target.name + ".complete")
    if done.exists() and target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    build(target)
    done.touch()
    return target


def ansible_venv() -> Path:
    """A virtualenv with ansible (its collections include community.general) and ansible-lint."""
    key = _key(ANSIBLE_REQUIREMENTS.read_bytes(), sys.version)

    def build(tmp: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(tmp)], check=True)
        subprocess.run([str(tmp / "bin" / "pip"), "install", "-q", "-r",
                        str(ANSIBLE_REQUIREMENTS)], check=True, timeout=900)

    return _build_once(CACHE / f"ansible-{key}", build)


def debian_root() -> Path:
    """A pristine Debian 12 root (minbase plus ROOT_PACKAGES); copy it before changing it."""
    key = _key(SUITE, MIRROR, *ROOT_PACKAGES)

    def build(tmp: Path) -> None:
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        subprocess.run([debootstrap, "--variant=minbase", f"--include={','.join(ROOT_PACKAGES)}",
                        SUITE, str(tmp), MIRROR], check=True, capture_output=True, timeout=1200)

    return _build_once(CACHE / f"debian-{SUITE}-{key}", build)


def copy_root(pristine: Path, target: Path) -> Path:
    subprocess.run(["cp", "-a", "--reflink=auto", f"{pristine}/.", str(target)], check=True)
    return target


def project_wheel(out: Path) -> Path:
    """The project's wheel, built from a copy of the files git knows (tracked or new, not
    ignored): setuptools' in-tree build/ keeps files of earlier builds, which would hide a file
    missing from package-data."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    src = out / "src"
    for name in files:
        if (ROOT / name).is_symlink():  # eil/kitdata -> hardware/kits: a link, as git keeps it
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(ROOT / name), src / name)
        elif (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(src)], check=True, capture_output=True, timeout=600)
    return next(out.glob("eil_stack-*.whl"))


def wheelhouse() -> Path:
    """Wheels of every dependency of the edge and gateway extras (not the project itself)."""
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    key = _key(pyproject, sys.version)

    def build(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(tmp),
                        f"{ROOT}[edge,gateway]"], check=True, capture_output=True, timeout=1200)
        for own in tmp.glob("eil_stack-*.whl"):
            own.unlink()

    return _build_once(CACHE / f"wheelhouse-{key}", build)


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """A directory served over HTTP on loopback (pip's --find-links); yields the URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
