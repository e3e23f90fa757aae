"""The `eil` command's error paths: clear messages, exit code 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from eil.broker import BrokerError, find_binary


def eil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eil", *args], capture_output=True, text=True,
                          timeout=60)


def test_missing_config_file(tmp_path: Path) -> None:
    r = eil("node", "run", "--config", str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"eil: error: {tmp_path / 'nope.toml'}: cannot read: No such file or directory"


def test_invalid_gateway_config_names_key(tmp_path: Path) -> None:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text('site = "ok"\n[broker]\npassword = "x"\n[http]\nport = -1\n')
    r = eil("gateway", "run", "--config", str(cfg))
    assert r.returncode == 2 and f"{cfg}: http.port: not a TCP port: -1" in r.stderr


def test_export_of_a_directory_without_a_store(tmp_path: Path) -> None:
    r = eil("export", "--data", str(tmp_path))
    assert r.returncode == 2 and "no EIL store at" in r.stderr
    assert list(tmp_path.iterdir()) == []  # read-only: nothing created


def test_demo_refuses_nonsense_arguments(tmp_path: Path) -> None:
    r = eil("demo", "--data", str(tmp_path), "--nodes", "0")
    assert r.returncode == 2 and "--nodes must be at least 1" in r.stderr


def test_missing_broker_binary_says_how_to_install() -> None:
    try:
        find_binary("mosquitto-not-installed")
    except BrokerError as exc:
        assert "apt-get install mosquitto" in str(exc)
    else:
        raise AssertionError("expected BrokerError")
