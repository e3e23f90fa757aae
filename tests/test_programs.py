"""The list of programs the suite runs (scripts/programs.txt) and its guard
(tests/support/programs.py): a test that runs an unlisted program fails naming the program and
the test; every listed program is installed once scripts/bootstrap has run; CI skips nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.programs import LIST, SYSTEM_DIRS, invoked, load

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("argv", "programs"), [
    (["iptables", "-L"], ["iptables"]),
    (["/usr/sbin/iptables", "-L"], ["iptables"]),
    (["ip", "netns", "exec", "eil-a-1", "iptables", "-A", "OUTPUT"], ["ip", "iptables"]),
    (["ip", "-n", "eil-a-1", "link", "set", "lo", "up"], ["ip"]),
    (["unshare", "--mount", "--propagation", "private", "sh", "-c",
      'mount -t proc proc "/r/proc" && mount --bind /dev/pts "/r/dev/pts" && exec "$@"', "sh",
      "chroot", "--userspec=eil:eil", "/r", "/usr/bin/env", "-i", "PATH=/usr/bin", "eil"],
     ["unshare", "sh", "mount", "mount", "chroot"]),
    (["env", "-i", "A=1", "-u", "B", "socat", "-"], ["env", "socat"]),
    (["timeout", "-s", "KILL", "5", "mosquitto", "-c", "x"], ["timeout", "mosquitto"]),
    (["sh", "-c", "X=1 cp a b; rm -rf c | grep d"], ["sh", "cp", "rm", "grep"]),
    (["/work/.venv/bin/python", "-m", "eil"], []),  # the project's own
    (["/root/.cache/eil-tests/ha/bin/hass", "-c", "x"], []),
    ([sys.executable, "-c", "print(1)"], []),
])
def test_wrappers_are_looked_through(argv: list[str], programs: list[str]) -> None:
    assert invoked(argv) == programs


def test_every_listed_program_names_its_package_and_is_installed() -> None:
    """What scripts/bootstrap (run by scripts/test before this) must have installed."""
    listed = load()
    assert listed["iptables"] == "iptables" and listed["mosquitto_pub"] == "mosquitto-clients"
    missing = [f"{name} ({pkg})" for name, pkg in listed.items()
               if not (shutil.which(name) or any(os.access(d + name, os.X_OK)
                                                 for d in SYSTEM_DIRS))]
    assert missing == [], f"listed but not installed (scripts/bootstrap installs them): {missing}"


def test_bootstrap_installs_from_the_list() -> None:
    script = (ROOT / "scripts" / "bootstrap").read_text()
    assert "done < scripts/programs.txt" in script
    assert LIST == ROOT / "scripts" / "programs.txt"


def test_a_list_line_without_a_package_is_refused(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("# comment\nmosquitto mosquitto\niptables\n")
    with pytest.raises(ValueError, match=r"list.txt:3: a program needs its Debian package"):
        load(tmp_path / "list.txt")


UNLISTED = '''
import subprocess, threading
import pytest

def test_cuts_a_link():
    subprocess.run(["ip", "netns", "exec", "eil-none", "iptables", "-L"], capture_output=True)

def test_in_a_thread_that_swallows_errors():
    def quiet():
        try:
            subprocess.run(["iptables", "-L"], capture_output=True)
        except Exception:
            pass
    t = threading.Thread(target=quiet)
    t.start()
    t.join()

def test_a_listed_program_missing():
    subprocess.run(["eil-no-such-program"], capture_output=True)

def test_needs_fuse():
    pytest.skip("no /dev/fuse on this machine")
'''


def run_module(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    """The guard on a module of its own, with a list that lacks iptables."""
    listed = {k: v for k, v in load().items() if k != "iptables"}
    listed["eil-no-such-program"] = "eil-nothing"
    (tmp_path / "programs.txt").write_text(
        "".join(f"{k} {v}\n" for k, v in listed.items()))
    (tmp_path / "test_unlisted.py").write_text(UNLISTED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "EIL_FORBID_SKIPS")}
    env.update({"EIL_PROGRAMS_LIST": str(tmp_path / "programs.txt"),
                "PYTHONPATH": str(ROOT), **({"CI": "true"} if ci else {})})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.support.programs",
                           "-p", "no:cacheprovider", "-rs", "-c", str(tmp_path / "pytest.ini"),
                           str(tmp_path / "test_unlisted.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_an_unlisted_program_fails_its_test_and_the_run_naming_both(tmp_path: Path) -> None:
    done = run_module(tmp_path, ci=False)
    out = done.stdout
    assert done.returncode == 1, out
    assert ("test_unlisted.py::test_cuts_a_link runs `iptables`, which scripts/programs.txt "
            "does not list") in out
    # the thread swallowed the error: the run fails all the same, naming that test
    assert "test_unlisted.py::test_in_a_thread_that_swallows_errors runs `iptables`" in out
    assert ("test_unlisted.py::test_a_listed_program_missing runs `eil-no-such-program` "
            "(Debian package eil-nothing), which is not installed here: run scripts/bootstrap"
            ) in out
    assert "2 failed, 1 passed, 1 skipped" in out, out  # the thread's test itself passed
    assert "skips are failures here" not in out  # outside CI a skip is a skip


def test_on_ci_a_skip_fails_the_run_with_its_reason(tmp_path: Path) -> None:
    done = run_module(tmp_path, ci=True)
    assert done.returncode == 1
    assert "skips are failures here (CI)" in done.stdout
    assert "test_unlisted.py::test_needs_fuse: skipped: Skipped: no /dev/fuse on this machine" \
        in done.stdout, done.stdout
