"""Backups of the gateway's data directory: a copy taken while readings are being committed is
the store at one instant (every node's readings up to a point, the counts agreeing); it restores
into an empty directory only; a damaged or truncated backup is refused naming the file; a
folder target keeps the newest N; a restic repository (Debian's restic) round-trips; the
restore drill, the outcome the views and alerts read, and the command line."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from contract.topics import NodeId
from eil.cli import main
from gateway.alerts.config import AlertsConfig
from gateway.alerts.sources import backup_condition
from gateway.backup.config import BackupConfig
from gateway.backup.run import backup, drill
from gateway.store import DataDir
from gateway.store.rows import StoredReading
from gateway.store.snapshot import BackupError, restore, verify

T0 = 1_780_000_000_000


def fill(data: DataDir, node: str, start: int, n: int) -> None:
    nid = NodeId("site", node)
    with data.readings() as store:
        store.commit([(nid, StoredReading(seq, T0 + seq * 1000, "soil.moisture", "gauge", "%",
                                          20.0 + seq % 7, None, None))
                      for seq in range(start, start + n)], [],
                     {nid: [(list(range(start, start + n)), None)]}, {nid: 0.0})


def seqs(root: Path, node: str) -> list[int]:
    with DataDir(root).readings(readonly=True) as store:
        return [r.seq for r in store.export(node=node)]


def test_a_copy_during_commits_is_the_store_at_one_instant(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "gw")
    fill(data, "n1", 1, 200)
    (data.root / "thresholds.toml").write_text("[site]\ntimezone = \"UTC\"\n")
    stop = threading.Event()

    def writer() -> None:
        k = 201
        while not stop.is_set() and k < 5000:
            fill(data, "n1", k, 20)
            k += 20

    t = threading.Thread(target=writer)
    t.start()
    try:
        snaps = [data.snapshot(tmp_path / f"b{i}") for i in range(3)]
    finally:
        stop.set()
        t.join()
    for i, snap in enumerate(snaps):
        n = snap.manifest["counts"]["site/n1"]
        restore(snap.path, tmp_path / f"r{i}")
        assert seqs(tmp_path / f"r{i}", "n1") == list(range(1, n + 1))  # a prefix, no hole
        assert (tmp_path / f"r{i}" / "thresholds.toml").read_text().startswith("[site]")
    assert len({s.manifest["counts"]["site/n1"] for s in snaps}) > 1  # taken while writing


def test_restore_refuses_a_live_store_and_a_damaged_backup(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "gw")
    fill(data, "n1", 1, 50)
    snap = data.snapshot(tmp_path / "b")
    with pytest.raises(BackupError, match="holds a store already"):
        restore(snap.path, data.root)
    eil_db = snap.path / "eil.db"
    raw = bytearray(eil_db.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    eil_db.write_bytes(bytes(raw))
    with pytest.raises(BackupError, match="eil.db does not match its checksum"):
        restore(snap.path, tmp_path / "new")
    eil_db.write_bytes(bytes(raw[: len(raw) // 3]))
    with pytest.raises(BackupError, match="truncated"):
        verify(snap.path)
    (snap.path / "manifest.json").unlink()
    with pytest.raises(BackupError, match="no readable manifest.json"):
        restore(snap.path, tmp_path / "new")
    assert not (tmp_path / "new" / "eil.db").exists()


def test_a_folder_target_keeps_the_newest_and_the_drill_restores(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    data = DataDir(tmp_path / "gw")
    usb = tmp_path / "usb"
    usb.mkdir()
    cfg = BackupConfig(folder=usb, keep=2)
    clock = iter(range(1_780_000_000, 1_780_100_000, 3600))
    monkeypatch.setattr("gateway.backup.run.time.time", lambda: float(next(clock)))
    names = []
    for i in range(3):
        fill(data, "n1", 1 + i * 10, 10)
        done = backup(data, cfg, "site")
        names.append(done.name)
    assert sorted(p.name for p in usb.iterdir()) == names[1:]  # the newest 2, the oldest gone
    state = data.backup_state()
    assert state["last_ok"]["name"] == done.name and state["last_ok"]["bytes"] > 0
    snap = drill(data, cfg, "site")
    assert snap.manifest["counts"] == {"site/n1": 30}
    assert data.backup_state()["drill_ok"] is True
    assert not any(data.staging.iterdir())  # the drill cleaned up


def test_a_restic_repository_round_trips(tmp_path: Path) -> None:
    from gateway.backup.targets import Restic

    data = DataDir(tmp_path / "gw")
    fill(data, "n1", 1, 100)
    key = tmp_path / "restic.key"
    key.write_text("a long restic key for the tests\n")
    cfg = BackupConfig(restic_repository=str(tmp_path / "repo"), password_file=key, keep=3)
    Restic(str(tmp_path / "repo"), key, 3, "site").init()
    backup(data, cfg, "site")
    fill(data, "n1", 101, 100)
    backup(data, cfg, "site")
    assert not data.staging.exists() or not any(data.staging.iterdir())
    drill(data, cfg, "site")
    restored = tmp_path / "restored"
    assert main(["gateway", "restore", "--data", str(restored), "--config",
                 str(write_gateway_toml(tmp_path, data, cfg))]) == 0
    assert seqs(restored, "n1") == list(range(1, 201))
    key.write_text("the wrong key\n")
    with pytest.raises(Exception, match="wrong password|restic"):
        drill(data, cfg, "site")


def write_gateway_toml(tmp: Path, data: DataDir, cfg: BackupConfig) -> Path:
    secret = tmp / "broker.secret"
    secret.write_text("x\n")
    target = (f'folder = "{cfg.folder}"\n' if cfg.folder else
              f'restic_repository = "{cfg.restic_repository}"\n'
              f'password_file = "{cfg.password_file}"\n')
    path = tmp / "gateway.toml"
    path.write_text(f'site = "site"\ndata_dir = "{data.root}"\n[broker]\n'
                    f'password_file = "{secret}"\n[backup]\n{target}')
    return path


def test_backup_from_the_command_line_and_what_the_steward_is_told(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = DataDir(tmp_path / "gw")
    fill(data, "n1", 1, 10)
    usb = tmp_path / "usb"
    cfg = BackupConfig(folder=usb)
    config = write_gateway_toml(tmp_path, data, cfg)
    rules = AlertsConfig(None)
    assert main(["gateway", "backup", "--config", str(config)]) == 2  # not mounted
    assert "backup folder" in capsys.readouterr().err
    (c,) = backup_condition(data.backup_state(), True, 0.0, rules, 10.0)
    assert "the last attempt failed" in c.text and "does not exist" in c.text
    usb.mkdir()
    assert main(["gateway", "backup", "--config", str(config)]) == 0
    assert "verified and sent to" in capsys.readouterr().out
    state = data.backup_state()
    assert backup_condition(state, True, 0.0, rules, state["last_ok"]["at"] + 3600) == []
    (old,) = backup_condition(state, True, 0.0, rules, state["last_ok"]["at"] + 40 * 3600)
    assert "the last good backup is 40.0 h old" in old.text
    assert main(["status", "--data", str(data.root)]) == 0
    assert "backup: the last good one" in capsys.readouterr().out
    assert main(["gateway", "restore", str(usb / state["last_ok"]["name"]), "--data",
                 str(data.root)]) == 2
    assert "holds a store already" in capsys.readouterr().err
