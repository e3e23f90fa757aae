"""The programs the test suite may run, and the rule that it skips nothing on CI (a pytest
plugin; tests/conftest.py loads it).

`scripts/programs.txt` lists every program outside Python that the demo and the tests run,
with its Debian package; `scripts/bootstrap` installs from it. An audit hook sees every
process this Python starts (`subprocess`, `os.system`) and looks through the wrappers the tests
use (`ip netns exec`, `unshare`, `env`, `sh -c`, `timeout`) at the programs they run: one that
the list lacks, or that is listed but not installed, makes the starting call raise, the test
fail and the whole run fail (even where a background thread swallowed the error), naming the
program and the test. A program given by a path outside the system's folders (a virtualenv's,
a cached root's, one the test built) is the project's own and needs no entry; a program run
inside a chroot or container resolves in that root, not here.

A test that needs what a machine cannot have skips with its reason; with `CI` set (CI sets it)
or `EIL_FORBID_SKIPS=1`, any skip fails the run: these machines can run everything.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIST = Path(os.environ.get("EIL_PROGRAMS_LIST", ROOT / "scripts" / "programs.txt"))
SYSTEM_DIRS = ("/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/local/bin/",
               "/usr/local/sbin/")
SHELLS = {"sh", "bash", "dash"}
# options of a wrapper that take the next word as their value
_VALUED = {"unshare": {"--propagation", "--setgroups", "--root", "-R", "--wd", "-w",
                       "--map-user", "--map-group", "-S", "--setuid", "-G", "--setgid"},
           "env": {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"},
           "timeout": {"-s", "--signal", "-k", "--kill-after"}}
_BUILTINS = {"exec", "cd", "set", "export", "echo", "test", "[", "true", "false", "read",
             "exit", "trap", "wait", "kill", "printf", ":", "."}


class UnlistedProgram(RuntimeError):
    """A test started a program scripts/programs.txt does not list, or one not installed."""


def load(path: Path = LIST) -> dict[str, str]:
    """program -> Debian package, from the list."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) < 2:
            raise ValueError(f"{path}:{n}: a program needs its Debian package: {line!r}")
        out[words[0]] = words[1]
    return out


def _system_name(word: str) -> str | None:
    """The name to look up for a program word: a bare name or one in a system folder; None for
    a program of the project's own (any other path)."""
    if "/" not in word:
        return word
    if word.startswith(SYSTEM_DIRS):
        return word.rsplit("/", 1)[1]
    return None


def _after_options(wrapper: str, argv: list[str]) -> list[str]:
    """argv past a wrapper's options (and, for env, its NAME=value words)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return argv[i + 1:]
        if word.startswith("-"):
            i += 2 if word in _VALUED.get(wrapper, set()) else 1
        elif wrapper == "env" and "=" in word:
            i += 1
        else:
            break
    return argv[i:]


def _script(script: str, positional: list[str]) -> list[str]:
    """Programs a shell script's simple commands start; "$@" runs the positional words."""
    found: list[str] = []
    for sep in ("&&", "||", ";", "|", "\n"):
        script = script.replace(sep, "\0")
    for part in script.split("\0"):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        while words and "=" in words[0] and not words[0].startswith(("-", "/", ".")):
            words = words[1:]  # VAR=value before the command
        if not words:
            continue
        if words[0] in _BUILTINS:
            words = words[1:]
            if words and words[0] == "$@":
                found += invoked(positional)
                continue
            if not words or words[0].startswith("-"):
                continue
        if words[0] == "$@":
            found += invoked(positional)
        elif not words[0].startswith("$"):
            found += invoked(words)
    return found


def invoked(argv: list[str]) -> list[str]:
    """The system programs a command line runs, wrappers looked through, in order."""
    if not argv:
        return []
    name = _system_name(argv[0])
    if name is None:
        return []
    rest = argv[1:]
    if name == "ip" and len(rest) >= 3 and rest[:2] == ["netns", "exec"]:
        return [name, *invoked(rest[3:])]
    if name in ("unshare", "env", "timeout", "setsid", "nice", "ionice"):
        inner = _after_options(name, rest)
        if name == "timeout" and inner:
            inner = inner[1:]  # the duration
        return [name, *invoked(inner)]
    if name in SHELLS and rest[:1] == ["-c"] and len(rest) >= 2:
        return [name, *_script(rest[1], rest[3:])]
    return [name]  # chroot, systemd-nspawn: what they run resolves inside their root


def problem(name: str, listed: dict[str, str]) -> str | None:
    if name not in listed:
        return (f"runs `{name}`, which scripts/programs.txt does not list: add it there with "
                "its Debian package, so that scripts/bootstrap installs it on a new machine")
    if not (shutil.which(name) or any(os.access(d + name, os.X_OK) for d in SYSTEM_DIRS)):
        return (f"runs `{name}` (Debian package {listed[name]}), which is not installed here: "
                "run scripts/bootstrap")
    return None


class Guard:
    """The audit hook and the run's record of what it refused and what was skipped."""

    def __init__(self, listed: dict[str, str]) -> None:
        self.listed = listed
        self.current = "collection"
        self.refused: list[str] = []
        self.skipped: list[tuple[str, str]] = []
        self.ok: set[str] = set()

    def check(self, argv: list[str]) -> None:
        for name in invoked(argv):
            if name in self.ok:
                continue
            why = problem(name, self.listed)
            if why is None:
                self.ok.add(name)
                continue
            message = f"{self.current} {why}"
            self.refused.append(message)
            raise UnlistedProgram(message)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "subprocess.Popen":
            raw = args[1]
            argv = [raw] if isinstance(raw, str | bytes | os.PathLike) else list(raw)
            self.check([os.fsdecode(a) for a in argv])
        elif event == "os.system":
            self.check(["sh", "-c", os.fsdecode(args[0])])


_guard: Guard | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _guard
    if _guard is None:  # an audit hook stays for the life of the process: add it once
        _guard = Guard(load())
        sys.addaudithook(_guard.audit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    assert _guard is not None
    _guard.current = item.nodeid
    try:
        return (yield)
    finally:
        _guard.current = "between tests"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _guard is not None and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(
            report.longrepr)
        _guard.skipped.append((report.nodeid, reason))


def forbid_skips() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false") or \
        os.environ.get("EIL_FORBID_SKIPS") == "1"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _guard is None:
        return
    if _guard.refused or (_guard.skipped and forbid_skips()):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _guard is None:
        return
    if _guard.refused:
        terminalreporter.section("programs not in scripts/programs.txt or not installed")
        for line in dict.fromkeys(_guard.refused):
            terminalreporter.line(line)
    if _guard.skipped and forbid_skips():
        terminalreporter.section("skips are failures here (CI)")
        for nodeid, reason in _guard.skipped:
            terminalreporter.line(f"{nodeid}: skipped: {reason}")
        terminalreporter.line("these machines can run every test: a skip means something "
                              "scripts/bootstrap should have installed is missing")
