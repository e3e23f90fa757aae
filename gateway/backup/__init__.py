"""Backups of the gateway's data directory (docs/backup.md): `config.py` ([backup] in
gateway.toml), `targets.py` (a folder, or a restic repository), `run.py` (take, verify, send,
keep, record). The consistent copy itself is the store's: gateway/store/snapshot.py."""
