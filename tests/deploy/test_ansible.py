"""The Ansible roles applied for real: `deploy/ansible/site.yml` through the chroot connection to
fresh copies of a Debian 12 root made by debootstrap (cached), one gateway host and two node
hosts, from the files `eil site init` and `add-node` wrote. The playbook succeeds, a second run
changes nothing, ansible-lint's production profile passes, every installed unit passes
`systemd-analyze verify` and rates 2.0 or lower in `systemd-analyze security`, the installed
Mosquitto starts on its config, and the installed gateway and agent, started from their
virtualenvs inside the roots, carry readings over TLS into the store. No secret reaches the
playbook's output or any file of the roots but its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from eil.broker import find_binary, free_port
from eil.cli import main as eil
from gateway.errors import StoreError
from gateway.store import DataDir
from tests.support import deploy, nspawn
from tests.support.netns import Star
from tests.support.site import listening, wait_until
from tests.support.victoria import Victoria

pytestmark = pytest.mark.slow
ANSIBLE_DIR = deploy.ROOT / "deploy" / "ansible"
NODES = {"bed-1": "soil", "tank-1": "water"}
INFLUX_TOKEN = "influx-token-for-the-deployment-test-7f3a9c"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class Deployed:
    site: Path
    roots: dict[str, Path]  # inventory host -> its root
    ports: tuple[int, int]  # TLS, loopback
    victoria_port: int = 0  # the VictoriaMetrics the installed gateway's sink writes to
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    def recap(self, run: int) -> dict[str, tuple[int, ...]]:
        return {m[1]: tuple(int(x) for x in m.groups()[1:])
                for m in RECAP.finditer(self.runs[run].stdout)}


def ansible(venv: Path, tool: str, *args: str, cwd: Path = ANSIBLE_DIR,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{venv}/bin:{os.environ['PATH']}", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"), "PY_COLORS": "0"}
    return subprocess.run([str(venv / "bin" / tool), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def venv() -> Path:
    if os.geteuid() != 0:
        pytest.skip("the chroot connection needs root (CI and the dev machines run as root)")
    return deploy.ansible_venv()


@pytest.fixture(scope="module")
def deployed(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    tmp = tmp_path_factory.mktemp("deploy")
    site = tmp / "site"
    tls, local = free_port(), free_port()
    assert eil(["site", "init", str(site), "--site", "field", "--gateway-host", "127.0.0.1",
                "--tls-port", str(tls), "--local-port", str(local)]) == 0
    for node, kind in NODES.items():
        assert eil(["site", "add-node", node, "--kind", kind, "--dir", str(site)]) == 0
    scope = tmp / "north"  # the scope above the site: its steward makes field a member
    assert eil(["site", "init", str(scope), "--site", "north", "--gateway-host",
                "north.example.org"]) == 0
    assert eil(["site", "add-member", "field", "--dir", str(scope)]) == 0
    pristine = deploy.debian_root()
    roots = {host: deploy.copy_root(pristine, tmp / f"{host}-root")
             for host in ("gw", *NODES)}
    wheel = deploy.project_wheel(tmp / "dist")
    # the nodes install offline from their own wheelhouse (Debian 12's Python, this machine's
    # architecture), the gateway from a wheel mirror on the LAN
    assert eil(["site", "wheelhouse", "--wheel", str(wheel), "--arch", "amd64", "--python",
                "3.11", "--dir", str(site)]) == 0
    node_house = site / "wheelhouse" / "amd64-py3.11"
    with deploy.serve(deploy.wheelhouse()) as url:
        pip = f"--no-index --find-links {url}"
        chroot = lambda host: {"ansible_host": str(roots[host]),  # noqa: E731
                               "ansible_connection": "community.general.chroot",
                               "ansible_become": False}
        vm_port = free_port()
        (tmp / "influx.token").write_text(INFLUX_TOKEN + "\n")
        (tmp / "alerts.toml").write_text(  # a steward's: checked by the gateway at its start
            '[recipients.sam]\nchannels = ["ntfy://ntfy.example/garden-sam"]\n')
        gateway_vars = {  # one sink that works, one whose database is never there
            "eil_gateway_sinks": [
                {"name": "vm", "url": f"http://127.0.0.1:{vm_port}", "bucket": "eil",
                 "flavor": "victoriametrics", "batch": 2000},
                {"name": "city", "url": f"http://127.0.0.1:{free_port()}", "org": "eil",
                 "bucket": "eil", "flavor": "influxdb2", "timeout_s": 2, "max_backoff_s": 2,
                 "token_src": str(tmp / "influx.token")}],
            "eil_gateway_upstream_dir": str(scope / "members" / "field"),
            "eil_gateway_upstream_series": ["bed-1/soil.moisture"],
            "eil_gateway_alerts_src": str(tmp / "alerts.toml"),
            "eil_gateway_grafana_render": True,
            "eil_gateway_grafana_victoria_url": f"http://127.0.0.1:{vm_port}"}
        inventory = {"all": {
            "vars": {"eil_site_dir": str(site), "eil_wheel": str(wheel),
                     "eil_gateway_pip_extra_args": pip, "eil_node_pip_extra_args": pip},
            "children": {"gateway": {"hosts": {"gw": {**chroot("gw"), **gateway_vars}}},
                         "nodes": {"hosts": {n: chroot(n) for n in NODES},
                                   "vars": {"eil_node_wheelhouse": str(node_house)}}}}}
        (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
        out = Deployed(site, roots, (tls, local), victoria_port=vm_port)
        for i in range(2):
            started = time.monotonic()
            run = ansible(venv, "ansible-playbook", "-i", str(tmp / "hosts.yml"), "site.yml")
            print(f"playbook run {i + 1}: {time.monotonic() - started:.1f} s")
            out.runs.append(run)
            assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    return out


def test_ansible_lint_passes_the_production_profile(venv: Path) -> None:
    run = ansible(venv, "ansible-lint", "--offline", "--profile", "production", ".")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Profile 'production' was required, and it passed" in run.stdout + run.stderr


def test_the_playbook_applies_and_a_second_run_changes_nothing(deployed: Deployed) -> None:
    first, second = deployed.recap(0), deployed.recap(1)
    assert set(first) == set(second) == {"gw", *NODES}
    for host in first:
        ok, changed, unreachable, failed = first[host]
        assert unreachable == failed == 0 and changed > 5, (host, first[host])
    assert {h: r[1:] for h, r in second.items()} == {h: (0, 0, 0) for h in second}, \
        deployed.runs[1].stdout[-4000:]


def test_files_are_installed_with_their_owners_and_modes(deployed: Deployed) -> None:
    gw, bed = deployed.roots["gw"], deployed.roots["bed-1"]

    def owner(root: Path, path: str) -> tuple[str, str, int]:
        ids = lambda db: {int(line.split(":")[2]): line.split(":")[0]  # noqa: E731
                          for line in (root / "etc" / db).read_text().splitlines()}
        st = (root / path.lstrip("/")).stat()
        return ids("passwd")[st.st_uid], ids("group")[st.st_gid], st.st_mode & 0o777

    assert owner(gw, "/etc/eil/broker/server.key") == ("mosquitto", "mosquitto", 0o600)
    assert owner(gw, "/etc/eil/broker/passwd") == ("mosquitto", "mosquitto", 0o600)
    assert owner(gw, "/etc/eil/gateway/gateway.secret") == ("root", "eil-gateway", 0o640)
    assert owner(gw, "/var/lib/eil/gateway") == ("eil-gateway", "eil-gateway", 0o750)
    assert owner(gw, "/etc/eil/gateway/sink-city.token") == ("root", "eil-gateway", 0o640)
    assert owner(gw, "/etc/eil/gateway/alerts.toml") == ("root", "eil-gateway", 0o640)
    config = (gw / "etc/eil/gateway/gateway.toml").read_text()
    assert config.startswith((deployed.site / "gateway" / "gateway.toml").read_text())
    sinks = tomllib.loads(config)["sinks"]  # the site's config, then the inventory's sinks
    assert [(x["name"], x["flavor"]) for x in sinks] == [("vm", "victoriametrics"),
                                                        ("city", "influxdb2")]
    assert sinks[1]["token_file"] == "/etc/eil/gateway/sink-city.token"
    upstream = tomllib.loads(config)["upstream"]  # the scope's add-member, installed paths
    assert (upstream["scope"], upstream["host"], upstream["series"]) == (
        "north", "north.example.org", ["bed-1/soil.moisture"])
    assert upstream["key_file"] == "/etc/eil/upstream/north/device.key"
    assert owner(gw, "/etc/eil/upstream/north/device.key") == ("root", "eil-gateway", 0o640)
    assert owner(gw, "/etc/eil/upstream/north") == ("root", "eil-gateway", 0o750)
    assert "token_src" not in config and INFLUX_TOKEN not in config
    grafana = gw / "etc/eil/grafana"
    assert (grafana / "dashboards/prometheus/eil-garden.json").is_file()
    sources = yaml.safe_load((grafana / "provisioning/datasources/eil.yaml").read_text())
    assert sources["datasources"][0]["url"] == f"http://127.0.0.1:{deployed.victoria_port}"
    assert owner(bed, "/etc/eil/node/node.key") == ("root", "eil-node", 0o640)
    assert owner(bed, "/var/lib/eil/node") == ("eil-node", "eil-node", 0o750)
    site = deployed.site
    assert (gw / "etc/mosquitto/conf.d/eil.conf").read_bytes() == (
        site / "broker" / "mosquitto.conf").read_bytes()
    assert (bed / "etc/eil/node/node.toml").read_bytes() == (
        site / "nodes" / "bed-1" / "node.toml").read_bytes()
    # each node's buses, from its kind: the soil kit is on I2C, the water kit on GPIO + UART
    assert "dtparam=i2c_arm=on" in (bed / "boot/firmware/config.txt").read_text().splitlines()
    tank = (deployed.roots["tank-1"] / "boot/firmware/config.txt").read_text().splitlines()
    assert "enable_uart=1" in tank and "dtparam=i2c_arm=on" not in tank
    drop_in = (deployed.roots["tank-1"] / "etc/systemd/system/eil-node.service.d/devices.conf")
    assert "SupplementaryGroups=gpio dialout" in drop_in.read_text()
    assert "Storage=volatile" in (bed / "etc/systemd/journald.conf.d/eil.conf").read_text()
    wants = lambda root: {p.name for p in (  # noqa: E731 (the links name paths inside the root)
        root / "etc/systemd/system/multi-user.target.wants").iterdir() if p.is_symlink()}
    assert {"eil-gateway.service", "eil-forward.service", "mosquitto.service"} <= wants(gw)
    assert "eil-node.service" in wants(bed)


UNITS = {"gw": ("eil-gateway.service", "eil-forward.service", "mosquitto.service"),
         "bed-1": ("eil-node.service",), "tank-1": ("eil-node.service",)}


def test_every_installed_unit_is_verified_and_exposed_at_2_or_less(deployed: Deployed) -> None:
    analyze = find_binary("systemd-analyze", "systemd")
    exposure: dict[str, float] = {}
    for host, units in UNITS.items():
        root = deployed.roots[host]
        for unit in units:
            verify = subprocess.run([analyze, "verify", f"--root={root}", unit],
                                    capture_output=True, text=True, timeout=120)
            assert verify.returncode == 0, (host, unit, verify.stderr)
            assert unit not in verify.stderr, verify.stderr  # no warning about our unit
            security = subprocess.run([analyze, "security", "--offline=true", f"--root={root}",
                                       unit], capture_output=True, text=True, timeout=120)
            level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
            assert level is not None, security.stdout + security.stderr
            exposure[f"{host}/{unit}"] = float(level[1])
    print("systemd-analyze security exposure:", exposure)
    assert all(v <= 2.0 for v in exposure.values()), exposure


def nodes_with_readings(data: DataDir) -> set[str]:
    """The nodes the gateway's store holds readings of (none before the store exists)."""
    if not data.has_readings():
        return set()
    try:
        with data.readings(readonly=True) as store:
            return {str(n["node"]) for n in store.node_summary() if n["readings"]}
    except StoreError:  # the gateway is creating the store right now
        return set()


@pytest.fixture
def running(deployed: Deployed) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def in_root_args(root: Path, user: str, *cmd: str, env: dict[str, str] | None = None
                 ) -> list[str]:
    """The command line running a program of the root inside it as `user` (what the unit
    would run), with /proc and the host's /dev/pts mounted in a mount namespace of its own
    (gone when it ends): the fake serial devices are ptys, and node_health reads /proc."""
    chroot = ["chroot", f"--userspec={user}:{user}", str(root), "/usr/bin/env", "-i",
              "PATH=/usr/bin:/bin", *(f"{k}={v}" for k, v in (env or {}).items()), *cmd]
    script = (f'mount -t proc proc "{root}/proc" && mount --bind /dev/pts "{root}/dev/pts" && '
              'exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *chroot]


def in_root(root: Path, user: str, *cmd: str, env: dict[str, str] | None = None,
            log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(in_root_args(root, user, *cmd, env=env), stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def test_the_installed_broker_gateway_and_agents_carry_readings_over_tls(
        deployed: Deployed, running: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    gw = deployed.roots["gw"]
    tls, local = deployed.ports
    (gw / "run" / "mosquitto").mkdir(exist_ok=True)  # systemd's RuntimeDirectory= would
    os.chown(gw / "run" / "mosquitto", (gw / "etc/eil/broker/passwd").stat().st_uid, -1)
    running.append(subprocess.Popen(["chroot", str(gw), "/usr/sbin/mosquitto", "-c",
                                     "/etc/mosquitto/mosquitto.conf"],
                                    stdout=(tmp_path / "mosquitto.log").open("wb"),
                                    stderr=subprocess.STDOUT))
    wait_until(lambda: listening(tls) and listening(local), 15, "the installed mosquitto")
    running.append(in_root(gw, "eil-gateway", "/opt/eil/bin/eil", "gateway", "run", "--config",
                           "/etc/eil/gateway/gateway.toml", log=tmp_path / "gateway.log"))
    for node in NODES:
        running.append(in_root(deployed.roots[node], "eil-node", "/opt/eil/bin/eil", "node",
                               "run", "--config", "/etc/eil/node/node.toml",
                               env={"EIL_HW": "fake"}, log=tmp_path / f"{node}.log"))
    data = DataDir(gw / "var/lib/eil/gateway")

    def stored() -> set[str]:
        return nodes_with_readings(data)

    victoria = Victoria(tmp_path / "vm", port=deployed.victoria_port).start()
    running.append(victoria.proc)  # type: ignore[arg-type]

    def sunk() -> set[str]:
        return {str(x["metric"]["node"])  # type: ignore[index]
                for x in victoria.export('{__name__="eil_reading_value"}')}

    try:
        wait_until(lambda: stored() == set(NODES), 60, "readings of both installed nodes")
        # the installed sink (influxdb-client beside grafana-client's urllib3-future, as pip
        # installed them) writes them to VictoriaMetrics; the dead one stalls nothing
        wait_until(lambda: sunk() == set(NODES), 60, "the installed sink writing them")
        with data.readings(readonly=True) as store:
            status = {s.sink: s for s in store.sinks.status(int(time.time() * 1000))}
        assert status["vm"].written > 0 and not status["vm"].failing, status
        assert status["city"].failing and status["city"].written == 0, status
        assert "Connection refused" in str(status["city"].last_error), status
    finally:
        for p in running:
            assert p.poll() is None, [(f.name, f.read_text()[-2000:])
                                      for f in sorted(tmp_path.glob("*.log"))]
    # the plain listener is loopback-only and wants the gateway's password
    conf = (gw / "etc/mosquitto/conf.d/eil.conf").read_text()
    assert f"listener {local} 127.0.0.1" in conf and "require_certificate true" in conf


def test_no_secret_reaches_the_output_or_a_file_but_its_own(deployed: Deployed) -> None:
    site = deployed.site
    secrets = {"gateway.secret": (site / "gateway" / "gateway.secret").read_text().strip(),
               "influx.token": INFLUX_TOKEN}
    for name, path in (("server.key", site / "broker" / "server.key"),
                       ("upstream.key", site.parent / "north" / "members" / "field" /
                        "device.key"),
                       *((f"{n}/node.key", site / "nodes" / n / "node.key") for n in NODES)):
        secrets[name] = path.read_text().splitlines()[1]  # a line of the key's base64
    logs = "".join(r.stdout + r.stderr for r in deployed.runs)
    assert [n for n, s in secrets.items() if s in logs] == []
    own = {"gateway.secret": {"etc/eil/gateway/gateway.secret"},
           "server.key": {"etc/eil/broker/server.key"},
           "influx.token": {"etc/eil/gateway/sink-city.token"},
           "upstream.key": {"etc/eil/upstream/north/device.key"},
           **{f"{n}/node.key": {"etc/eil/node/node.key"} for n in NODES}}
    for name, secret in secrets.items():
        for host, root in deployed.roots.items():
            found = subprocess.run(["grep", "-rlF", "--", secret, "."], cwd=root,
                                   capture_output=True, text=True).stdout.split()
            places = {f.removeprefix("./") for f in found}
            assert places <= own[name], (name, host, places)


def test_the_installed_units_run_under_a_real_systemd_and_carry_readings(
        deployed: Deployed, running: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    """The gateway host as installed, booted with its own systemd as PID 1 (systemd-nspawn, in
    a network namespace of the test's own): systemd starts Debian's mosquitto with the role's
    drop-in, eil-gateway and eil-forward under their units, each sandbox enforced (a live
    system-call filter, no new privileges, a read-only root), and the installed agents, run in
    the same namespace, carry readings through them into the store. The forwarder's scope
    (north.example.org) is unreachable here: it runs, keeps its outbox and retries."""
    nspawn.require()
    gw = deploy.copy_root(deployed.roots["gw"], tmp_path / "gw-root")  # the others stay as built
    data = DataDir(gw / "var/lib/eil/gateway")
    for stale in data.root.glob("*"):  # what the chroot test's gateway stored
        subprocess.run(["rm", "-rf", str(stale)], check=True)
    host = Star("gw", ())
    try:
        with nspawn.Boot(gw, tmp_path / "boot.log", netns=host.ns["gw"]) as booted:
            tls, local = deployed.ports
            wait_until(lambda: host.reachable("gw", "127.0.0.1", tls), 60,
                       "mosquitto started by systemd")
            units = {"mosquitto": "/usr/sbin/mosquitto", "eil-gateway": "eil gateway run",
                     "eil-forward": "eil gateway forward"}
            pids: dict[str, int] = {}

            def started() -> bool:
                for unit, marker in units.items():
                    found = booted.processes(marker)
                    if found:
                        pids[unit] = found[0]
                return len(pids) == len(units)

            wait_until(started, 60, "systemd to start the three units")
            for unit, pid in pids.items():
                status = (Path("/proc") / str(pid) / "status").read_text()
                fields = dict(x.split(":\t", 1) for x in status.splitlines() if ":\t" in x)
                assert fields["Seccomp"].strip() == "2", (unit, fields["Seccomp"])
                assert fields["NoNewPrivs"].strip() == "1", unit
                mounts = [m.split() for m in (Path("/proc") / str(pid) / "mountinfo")
                          .read_text().splitlines()]
                top = [m[5].split(",") for m in mounts if m[4] == "/"]
                assert top and "ro" in top[-1], (unit, top)  # ProtectSystem=: a read-only root
            for node in NODES:
                running.append(subprocess.Popen(
                    host.command("gw", in_root_args(deployed.roots[node], "eil-node",
                                                    "/opt/eil/bin/eil", "node", "run",
                                                    "--config", "/etc/eil/node/node.toml",
                                                    env={"EIL_HW": "fake"})),
                    stdout=(tmp_path / f"{node}.log").open("wb"), stderr=subprocess.STDOUT))

            wait_until(lambda: nodes_with_readings(data) == set(NODES), 90,
                       "readings through the units systemd started")
            for unit, pid in pids.items():  # none of them was stopped by its sandbox meanwhile
                assert Path(f"/proc/{pid}").exists(), (unit, (tmp_path / "boot.log").read_text())
            for p in running:
                p.send_signal(signal.SIGTERM)
    finally:
        host.close()
