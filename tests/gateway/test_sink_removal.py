"""A sink taken out of gateway.toml (gateway/store/sink_cursors.py `configured`, `remove`): the
gateway's next start marks it removed, it holds nothing back from retention, `eil status` and
the fleet API say so, and `eil gateway sink remove` forgets it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import RetentionConfig, load_gateway_config
from gateway.errors import StoreError
from gateway.service import Gateway
from gateway.store import DataDir
from tests.gateway.test_cold_store import HOUR, T0, A, commit, readings

ROOT = Path(__file__).resolve().parents[2]
SINK = """
[[sinks]]
name = "{name}"
type = "influxdb"
url = "http://127.0.0.1:9/"
bucket = "eil"
token = "t"
flavor = "victoriametrics"
"""


def gateway_toml(tmp_path: Path, sinks: list[str]) -> Path:
    (tmp_path / "secret").write_text("pw\n")
    path = tmp_path / "gateway.toml"
    path.write_text(f'site = "site"\ndata_dir = "gw"\n[broker]\n'
                    f'password_file = "{tmp_path / "secret"}"\n[http]\nport = 0\n'
                    + "".join(SINK.format(name=s) for s in sinks))
    return path


def start_gateway(path: Path) -> None:
    """What a gateway's start does to the store (it is not run: no broker here)."""
    Gateway(load_gateway_config(path)).store.close()


def eil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eil", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_a_sink_taken_out_of_the_config_is_shown_removed_holds_nothing_and_is_forgotten(
        tmp_path: Path) -> None:
    data = DataDir(tmp_path / "gw")
    with data.readings() as store:
        commit(store, readings(A, 300))
        while store.move_cold(T0 + 24 * HOUR):
            pass
        for name in ("city", "old"):
            store.sinks.start(name, False, T0)  # neither has written anything
        store.sinks.refused("old", [("bed-1 seq 1", 400, "bad point", "x v=1")], 1.0)
    start_gateway(gateway_toml(tmp_path, ["city", "old"]))
    with data.readings() as store:
        assert [s.removed for s in store.sinks.status(T0)] == [None, None]
    cfg_path = gateway_toml(tmp_path, ["city"])
    start_gateway(cfg_path)
    with data.readings() as store:
        city, old = store.sinks.status(T0)
        assert (city.sink, city.removed, old.sink) == ("city", None, "old")
        assert old.removed is not None and old.behind == city.behind > 0
        # retention holds for the configured sink only: the removed one's cursor does not count
        policy = RetentionConfig(raw_days=1).policy
        readers = load_gateway_config(cfg_path).readers()
        assert readers == ["city"]
        held = store.expire(T0 + 80 * HOUR, policy, readers)
        assert held.raw == 0 and held.held > 0  # city has not written them: kept
    start_gateway(cfg_path)  # a later start keeps the time it was first noticed
    with data.readings() as store:
        assert store.sinks.status(T0)[1].removed == old.removed
    status = eil("status", "--data", str(data.root))
    assert status.returncode == 0, status.stderr
    assert "old: removed from gateway.toml" in status.stdout
    assert "holds nothing back; `eil gateway sink remove old` forgets it" in status.stdout
    refused = eil("gateway", "sink", "remove", "city", "--data", str(data.root))
    assert refused.returncode == 2
    assert "sink 'city' was still in gateway.toml when the gateway last started" in refused.stderr
    unknown = eil("gateway", "sink", "remove", "nope", "--data", str(data.root))
    assert "no sink 'nope' in this store; it knows: city, old" in unknown.stderr
    done = eil("gateway", "sink", "remove", "old", "--data", str(data.root))
    assert done.returncode == 0, done.stderr
    assert "sink old forgotten: its cursors, counters and 1 recorded refusals" in done.stdout
    with data.readings() as store:
        assert [s.sink for s in store.sinks.status(T0)] == ["city"]
        assert store.db.execute("SELECT count(*) FROM sink_cursors WHERE sink = 'old'"
                                ).fetchone() == (0,)
        assert store.sinks.refusals("old") == []
        with pytest.raises(StoreError, match="no sink 'old'"):
            store.sinks.remove("old")
        assert store.sinks.remove("city", force=True) == 0


def test_a_sink_put_back_in_the_config_is_no_longer_removed(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "gw")
    with data.readings() as store:
        store.sinks.start("city", False, T0)
        assert store.sinks.configured([], 5.0) == ["city"]
        assert store.sinks.configured([], 6.0) == []  # already marked
        assert store.sinks.status(T0)[0].removed == 5.0
        assert store.sinks.configured(["city"], 7.0) == []
        assert store.sinks.status(T0)[0].removed is None
