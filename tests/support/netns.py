"""Hosts of the test's own: network namespaces joined in a star (a hub and its leaves, each
leaf on a /30 veth link to the hub, addresses from the documentation range 198.51.100.0/24,
inside those namespaces only). A link can be cut hard (the hub's end down) or silently
(iptables DROP on the leaf, both directions: packets vanish, nobody is told)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, timeout=20)


def link_addresses(i: int) -> tuple[str, str]:
    """(hub end, leaf end) of the i-th leaf's /30."""
    return f"198.51.100.{4 * i + 1}", f"198.51.100.{4 * i + 2}"


class Star:
    def __init__(self, hub: str, leaves: tuple[str, ...]) -> None:
        tag = secrets.token_hex(3)
        self.hub = hub
        self.ns = {name: f"eil-{name}-{tag}" for name in (hub, *leaves)}
        self.link = {leaf: f"eil{i}{tag}" for i, leaf in enumerate(leaves)}
        self.addr = {leaf: link_addresses(i) for i, leaf in enumerate(leaves)}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for ns in self.ns.values():
                sh("ip", "netns", "add", ns)
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            for leaf, (hub_ip, leaf_ip) in self.addr.items():
                hub_end, leaf_end = self.link[leaf], self.link[leaf] + "n"
                sh("ip", "link", "add", hub_end, "netns", self.ns[hub], "type", "veth", "peer",
                   "name", leaf_end, "netns", self.ns[leaf])
                sh("ip", "-n", self.ns[hub], "addr", "add", f"{hub_ip}/30", "dev", hub_end)
                sh("ip", "-n", self.ns[leaf], "addr", "add", f"{leaf_ip}/30", "dev", leaf_end)
                sh("ip", "-n", self.ns[hub], "link", "set", hub_end, "up")
                sh("ip", "-n", self.ns[leaf], "link", "set", leaf_end, "up")
                sh("ip", "-n", self.ns[leaf], "route", "add", "default", "via", hub_ip)
        except BaseException:
            self.close()
            raise

    def hub_ip(self, leaf: str) -> str:
        """The hub's address as `leaf` reaches it."""
        return self.addr[leaf][0]

    def command(self, host: str, args: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns[host], *args]

    def spawn(self, host: str, key: str, args: list[str], log: Path,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`args` run on `host` (ip netns exec execs it: the process is the program itself)."""
        self.procs[key] = subprocess.Popen(
            self.command(host, args), stdout=log.open("ab"), stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})})
        return self.procs[key]

    def reachable(self, host: str, ip: str, port: int) -> bool:
        probe = (f"import socket; s = socket.socket(); s.settimeout(2); "
                 f"print(s.connect_ex(('{ip}', {port})))")
        out = subprocess.run(self.command(host, [sys.executable, "-c", probe]),
                             capture_output=True, text=True, timeout=20).stdout.strip()
        return out == "0"

    def cut(self, leaf: str, down: bool) -> None:
        """A hard cut: the hub's end of the leaf's link down (or up again)."""
        sh("ip", "-n", self.ns[self.hub], "link", "set", self.link[leaf],
           "down" if down else "up")

    def silence(self, leaf: str, on: bool) -> None:
        """A silent cut: every packet between the leaf and the hub dropped on the leaf (or no
        longer)."""
        hub_ip = self.hub_ip(leaf)
        op = "-A" if on else "-D"
        sh(*self.command(leaf, ["iptables", op, "OUTPUT", "-d", hub_ip, "-j", "DROP"]))
        sh(*self.command(leaf, ["iptables", op, "INPUT", "-s", hub_ip, "-j", "DROP"]))

    def kill(self, key: str) -> None:
        p = self.procs.pop(key)
        p.send_signal(signal.SIGKILL)
        p.wait(30)

    def stop(self, key: str) -> int:
        p = self.procs.pop(key)
        p.send_signal(signal.SIGTERM)
        return p.wait(60)

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def star(hub: str, leaves: tuple[str, ...]) -> Iterator[Star]:
    """A Star for a fixture: skipped without root, torn down after the test."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (CI and the dev machines run as root)")
    s = Star(hub, leaves)
    try:
        yield s
    finally:
        s.close()
