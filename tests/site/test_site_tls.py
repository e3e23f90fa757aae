"""A field site as `eil site` writes it, run for real on loopback: the generated Mosquitto config
with its TLS listener (client certificates from the site CA) and its loopback listener, the
gateway from its generated config, a node agent from the node.toml `add-node` wrote (on
EIL_HW=fake). Readings flow over TLS; strangers, other CAs, a node speaking for another and a
revoked node are refused; running init twice changes nothing; no secret reaches a log."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eil.broker import find_binary, free_port
from eil.cli import main as eil
from eil.site.pki import SiteCa
from gateway.store import DataDir
from tests.support.site import listening, wait_until

pytestmark = pytest.mark.slow


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


STATUS = '{"state": "online", "boot": "by-hand", "time": 0}'


def pub(site: Path, port: int, topic: str, *, node: str | None, ca: Path | None = None,
        extra: list[str] | None = None, message: str = STATUS
        ) -> subprocess.CompletedProcess[str]:
    """mosquitto_pub over TLS, as `node` (its certificate) or as nobody (no certificate)."""
    args = [find_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5",
            "-q", "1", "-t", topic, "-m", message, "--cafile", str(ca or site / "ca" / "ca.crt")]
    if node is not None:
        d = site / "nodes" / node
        args += ["--cert", str(d / "node.crt"), "--key", str(d / "node.key")]
    return subprocess.run(args + (extra or []), capture_output=True, text=True, timeout=20)


class Running:
    def __init__(self, root: Path) -> None:
        self.root, self.procs = root, {}  # type: ignore[var-annotated]

    def spawn(self, key: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.root / f"{key}.log").open("ab")
        self.procs[key] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                           env={**os.environ, **(env or {})})

    def log(self, key: str) -> str:
        return (self.root / f"{key}.log").read_text()

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


@pytest.fixture
def field(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    tls, local = free_port(), free_port()
    argv = ["site", "init", str(site), "--site", "field", "--gateway-host", "127.0.0.1",
            "--gateway-host", "gateway.field.lan", "--tls-port", str(tls), "--local-port",
            str(local), "--bind", "127.0.0.1", "--install-dir", str(site)]
    assert eil(argv) == 0
    first = capsys.readouterr().out
    before = tree_digest(site)
    assert eil(argv) == 0  # a second run changes nothing
    second = capsys.readouterr().out
    assert tree_digest(site) == before and "wrote" not in second, second
    for secret in ("ca/ca.key", "broker/server.key", "gateway/gateway.secret", "broker/passwd",
                   "station.key"):
        assert f"secret {site / secret} (mode 600)" in first, first
        assert (site / secret).stat().st_mode & 0o777 == 0o600
    for node, kind in (("soil-a", "soil"), ("energy-b", "energy"), ("tools-c", "tools")):
        assert eil(["site", "add-node", node, "--kind", kind, "--dir", str(site)]) == 0
    out = capsys.readouterr().out
    assert f"secret {site / 'nodes' / 'soil-a' / 'node.key'} (mode 600)" in out
    run = Running(tmp_path)
    # as root, Debian's mosquitto would switch to its own user, which cannot read a site
    # directory kept mode 700 by the steward: the test runs it as whoever runs the test
    conf = tmp_path / "mosquitto.conf"
    conf.write_text((site / "broker" / "mosquitto.conf").read_text()
                    .replace("log_dest syslog", "log_dest stderr") + "\nuser root\n")
    run.spawn("broker", [find_binary("mosquitto"), "-c", str(conf)])
    wait_until(lambda: listening(local) and listening(tls), 10, "the broker listening")
    yield site, tls, local, run, first + out
    run.close()


def node_config(site: Path, node: str, data: Path) -> Path:
    """The generated node.toml with a data directory of the test's (a node's is /var/lib)."""
    cfg = data / "node.toml"
    data.mkdir(parents=True, exist_ok=True)
    cfg.write_text((site / "nodes" / node / "node.toml").read_text()
                   .replace('data_dir = "/var/lib/eil/node"', f'data_dir = "{data}"')
                   .replace(f'"{site}/node/', f'"{site}/nodes/{node}/')  # as if installed
                   .replace("interval_s = 300", "interval_s = 1")  # a reading a second
                   .replace("[broker]", "[publish]\nack_timeout_s = 3\ncommit_interval_s = 0.2\n"
                            "\n[broker]"))
    return cfg


def start_gateway(site: Path, run: Running, tmp_path: Path) -> Path:
    """The gateway from the site's generated config, with a data directory of the test's;
    returns that directory once the gateway is connected."""
    gw_data = tmp_path / "gw"
    gw_cfg = tmp_path / "gateway.toml"
    gw_cfg.write_text((site / "gateway" / "gateway.toml").read_text()
                      .replace('data_dir = "/var/lib/eil/gateway"', f'data_dir = "{gw_data}"')
                      .replace("port = 8080", "port = 0"))
    run.spawn("gateway", [sys.executable, "-m", "eil", "gateway", "run", "--config", str(gw_cfg)])
    wait_until(lambda: "connected to broker" in run.log("gateway"), 20, "the gateway connected")
    return gw_data


def test_a_field_site_runs_over_tls_and_refuses_strangers(field, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site, tls, local, run, said = field
    gw_data = start_gateway(site, run, tmp_path)
    cfg = node_config(site, "soil-a", tmp_path / "soil-a")
    run.spawn("soil-a", [sys.executable, "-m", "eil", "node", "run", "--config", str(cfg)],
              {"EIL_HW": "fake"})
    data = DataDir(gw_data)

    def stored() -> int:
        if not data.has_readings():
            return 0
        with data.readings(readonly=True) as store:
            return sum(int(n["readings"]) for n in store.node_summary()  # type: ignore[call-overload]
                       if n["node"] == "soil-a")

    wait_until(lambda: stored() > 0, 60, "soil-a's readings stored over TLS")

    topic = "eil/v1/field/{}/status"
    assert pub(site, tls, topic.format("soil-a"), node=None).returncode != 0  # no certificate
    other = SiteCa(tmp_path / "other-ca")  # a certificate from another CA
    other.create("elsewhere")
    (tmp_path / "intruder").mkdir()
    other.issue("soil-a", tmp_path / "intruder" / "node.key", tmp_path / "intruder" / "node.crt",
                server=False)
    stranger = subprocess.run(
        [find_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(tls), "-V", "mqttv5", "-t",
         topic.format("soil-a"), "-m", "{}", "--cafile", str(site / "ca" / "ca.crt"),
         "--cert", str(tmp_path / "intruder" / "node.crt"),
         "--key", str(tmp_path / "intruder" / "node.key")],
        capture_output=True, text=True, timeout=20)
    assert stranger.returncode != 0
    # an expired certificate of the site's own CA (valid for no time at all)
    (tmp_path / "expired").mkdir()
    SiteCa(site / "ca").issue("soil-a", tmp_path / "expired" / "node.key",
                              tmp_path / "expired" / "node.crt", server=False, days=0)
    time.sleep(1.1)
    expired = subprocess.run(
        [find_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(tls), "-V", "mqttv5", "-t",
         topic.format("soil-a"), "-m", STATUS, "--cafile", str(site / "ca" / "ca.crt"),
         "--cert", str(tmp_path / "expired" / "node.crt"),
         "--key", str(tmp_path / "expired" / "node.key")],
        capture_output=True, text=True, timeout=20)
    assert expired.returncode != 0
    # energy-b's certificate connects, but may not publish as soil-a: the broker drops it
    assert pub(site, tls, topic.format("energy-b"), node="energy-b").returncode == 0
    assert pub(site, tls, "eil/v1/field/soil-a/readings", node="energy-b",
               message="not soil-a's").returncode == 0
    time.sleep(1)
    with data.readings(readonly=True) as store:
        assert store.dead_letter_total() == 0  # nothing arrived under soil-a's name
        assert {n["node"] for n in store.node_summary()} == {"soil-a", "energy-b"}
    # a revoked node is refused once the broker has reloaded
    assert eil(["site", "revoke-node", "energy-b", "--dir", str(site)]) == 0
    run.procs["broker"].send_signal(signal.SIGHUP)
    time.sleep(1)
    assert pub(site, tls, topic.format("energy-b"), node="energy-b").returncode != 0
    assert pub(site, tls, topic.format("tools-c"), node="tools-c").returncode == 0  # others go on
    listed = subprocess.run([sys.executable, "-m", "eil", "site", "list", "--dir", str(site)],
                            capture_output=True, text=True, timeout=60).stdout
    assert {line.split()[0]: line.split()[2] for line in listed.splitlines()[1:]} == {
        "energy-b": "revoked", "soil-a": "valid", "tools-c": "valid"}
    before = stored()
    wait_until(lambda: stored() > before + 5, 60, "soil-a still flowing")
    # no secret in any log or output
    secrets = [(site / "gateway" / "gateway.secret").read_text().strip()]
    pem = [p.read_text() for p in site.rglob("*.key") if p.read_bytes().startswith(b"-----")]
    secrets += [line for text in pem for line in text.splitlines()
                if line and not line.startswith("-----")]
    station = (site / "station.key").read_bytes()
    secrets += [station.hex(), base64.b64encode(station).decode()]
    logs = said + "".join(run.log(k) for k in run.procs)
    assert not any(s in logs for s in secrets)


def test_a_third_party_senml_device_publishes_over_tls_with_its_certificate(  # type: ignore[no-untyped-def]
        field, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site, tls, local, run, said = field
    assert eil(["site", "add-device", "meter-9", "--dir", str(site)]) == 0
    assert "eil/v1/field/_senml/meter-9/pack" in capsys.readouterr().out
    assert eil(["site", "add-node", "meter-9", "--kind", "soil", "--dir", str(site)]) != 0
    gw_data = start_gateway(site, run, tmp_path)
    d = site / "devices" / "meter-9"
    example = (Path(__file__).resolve().parents[2] / "contract" / "examples" / "rfc8428" /
               "5.1.2-multiple-datapoints.json").read_text()

    def device_pub(topic: str) -> int:
        return subprocess.run(
            [find_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(tls), "-V", "mqttv5",
             "-q", "1", "-t", topic, "-m", example, "--cafile", str(d / "ca.crt"),
             "--cert", str(d / "device.crt"), "--key", str(d / "device.key")],
            capture_output=True, text=True, timeout=20).returncode

    assert device_pub("eil/v1/field/_senml/meter-9/pack") == 0
    data = DataDir(gw_data)

    def stored(node: str) -> list[tuple[str, str | None, int]]:
        if not data.has_readings():
            return []
        with data.readings(readonly=True) as store:
            return sorted((r.name, r.unit, r.t_ms) for r in store.export(node=node))

    wait_until(lambda: len(stored("meter-9")) == 7, 30, "the device's pack stored")
    assert ("urn:dev:ow:10e2073a01080063:voltage", "V", 1_276_020_076_001) in stored("meter-9")
    device_pub("eil/v1/field/_senml/other/pack")  # another device's topic: not its own
    device_pub("eil/v1/field/soil-a/readings")  # a node's
    time.sleep(2)
    assert stored("other") == [] and stored("soil-a") == []
    assert eil(["site", "revoke-node", "meter-9", "--dir", str(site)]) == 0
    assert str(d / "device.key") not in run.log("gateway")


def test_a_member_site_forwards_to_its_scope_over_tls_with_the_files_add_member_wrote(  # type: ignore[no-untyped-def]
        field, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The scope's steward runs `eil site add-member`; the member's gateway appends the
    upstream.toml it wrote and runs `eil gateway forward`: its summaries arrive over TLS as the
    node garden-a of the scope, and the member's certificate speaks for nobody else."""
    site, tls, local, run, said = field
    assert eil(["site", "add-member", "garden-a", "--dir", str(site)]) == 0
    out = capsys.readouterr().out
    d = site / "members" / "garden-a"
    assert f"secret {d / 'device.key'} (mode 600)" in out and "scopes.toml" in out
    gw_data = start_gateway(site, run, tmp_path)
    member = tmp_path / "garden-a"
    (member / "gw").mkdir(parents=True)
    entry = {"signal": "water.use", "scope": "site", "t": int(time.time() * 1000),
             "value": 123.0, "unit": "l", "band": None, "threshold": None}
    DataDir(member / "gw").save_latest_signals(json.dumps([entry]).encode())
    cfg = member / "gateway.toml"
    cfg.write_text('site = "garden-a"\ndata_dir = "gw"\n[broker]\npassword = "unused"\n' +
                   (d / "upstream.toml").read_text()
                   .replace("/etc/eil/upstream/field", str(d))
                   .replace('host = "127.0.0.1"', 'host = "127.0.0.1"\nevery_s = 0.5'))
    run.spawn("forwarder", [sys.executable, "-m", "eil", "gateway", "forward", "--config",
                            str(cfg)])
    data = DataDir(gw_data)

    def arrived() -> list[tuple[str, str | None]]:
        if not data.has_readings():
            return []
        with data.readings(readonly=True) as store:
            return [(r.name, r.text) for r in store.export(node="garden-a")]

    wait_until(lambda: bool(arrived()), 30, "the member's summary at its scope")
    ((name, text),) = arrived()
    assert name == "summary.water.use" and json.loads(text or "")["value"] == 123.0
    forged = subprocess.run(  # the member's certificate, a node's topic of the scope
        [find_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(tls), "-V", "mqttv5", "-q",
         "1", "-t", "eil/v1/field/soil-a/status", "-m", STATUS, "--cafile", str(d / "ca.crt"),
         "--cert", str(d / "device.crt"), "--key", str(d / "device.key")],
        capture_output=True, text=True, timeout=20)
    time.sleep(1)
    with data.readings(readonly=True) as store:
        assert not [n for n in store.node_summary() if n["node"] == "soil-a"], forged
    assert str(d / "device.key") not in run.log("forwarder") + run.log("gateway")
