"""`eil gateway backup` and `eil gateway restore` (docs/backup.md)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from core.errors import EilError


def cmd_backup(args: argparse.Namespace) -> int:
    from gateway.backup.run import backup, drill
    from gateway.config import load_gateway_config

    cfg = load_gateway_config(Path(args.config))
    if args.init:
        from gateway.backup.targets import Restic, target

        t = target(cfg.backup, cfg.site)
        if not isinstance(t, Restic):
            raise EilError("--init: only a restic repository is initialised (a folder needs "
                           "only to exist)")
        t.init()
        print(f"restic repository {cfg.backup.restic_repository} initialised; its key is "
              f"{cfg.backup.password_file}: keep a copy off the gateway, without it nothing "
              "restores")
        return 0
    if args.drill:
        snap = drill(cfg.data, cfg.backup, cfg.site)
        print(f"restore drill passed: the newest backup ({snap.path.name}, "
              f"{snap.bytes / 1e6:.1f} MB) restores and every database passes its checks")
        return 0
    done = backup(cfg.data, cfg.backup, cfg.site)
    print(f"backup {done.name}: {done.bytes / 1e6:.1f} MB verified and sent to {done.where} "
          f"in {done.took_s:.1f} s")
    if cfg.backup.password_file:
        print(f"it is encrypted with the key in {cfg.backup.password_file}: without that file "
              "nothing restores")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from gateway.store.snapshot import restore

    data = Path(args.data)
    if args.source:
        snap = restore(Path(args.source), data)
    else:
        from gateway.backup.run import fetch
        from gateway.config import load_gateway_config

        if not args.config:
            raise EilError("a backup folder (SOURCE) or --config gateway.toml with [backup]")
        cfg = load_gateway_config(Path(args.config))
        with tempfile.TemporaryDirectory(prefix="eil-restore-") as tmp:
            snap = restore(fetch(cfg.backup, cfg.site, args.snapshot, Path(tmp)), data)
    counts = snap.manifest["counts"]
    print(f"restored {len(snap.manifest['files'])} files into {data}: {sum(counts.values())} "
          f"readings of {len(counts)} nodes, as they were at the backup; start the gateway "
          "on it")
    return 0


def add_gateway_parsers(gw: Any) -> None:
    b = gw.add_parser("backup", help="a verified copy of the gateway's data to its [backup] "
                                     "target")
    b.add_argument("--config", required=True, help="gateway.toml")
    b.add_argument("--drill", action="store_true",
                   help="restore the newest backup into a scratch place and check it")
    b.add_argument("--init", action="store_true", help="create the restic repository")
    b.set_defaults(func=cmd_backup)
    r = gw.add_parser("restore", help="a backup into an empty data directory")
    r.add_argument("source", nargs="?", help="a backup folder (with its manifest.json)")
    r.add_argument("--data", required=True, help="the empty data directory to fill")
    r.add_argument("--config", help="gateway.toml: fetch from its [backup] target")
    r.add_argument("--snapshot", help="which backup of the target (default the newest)")
    r.set_defaults(func=cmd_restore)
