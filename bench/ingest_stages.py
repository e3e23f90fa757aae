"""Where the gateway's ingest time goes, stage by stage, in-process (no broker): decoding and
validating packs, then committing them to a fresh store in the batches the service makes.

    .venv/bin/python -m bench.ingest_stages [--packs 200] [--per-pack 500] [--profile] [--rows]

--rows takes the record-by-record decoder and row commits (what the service did before the bulk
path, and still does for small packs).
Prints CPU µs per reading for each stage; --profile adds the top functions of each.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from bench.ingest_throughput import SITE, make_packs
from contract.topics import Channel, NodeId
from gateway.ingest.validate import Outcome, validate_message
from gateway.store import Handled, Store
from gateway.store.rows import StoredReading


def validate_batch(topic: str, packs: list[bytes], now: float, columns: bool) -> list[Outcome]:
    return [validate_message(topic, p, now, max_pack_bytes=1 << 20, max_future_s=1e9,
                             columns=columns) for p in packs]


def commit_batch(store: Store, node: NodeId, batch: list[Outcome]) -> None:
    readings: list[tuple[NodeId, StoredReading]] = [(node, r) for o in batch for r in o.readings]
    handled: Handled = {node: [(o.handled_seqs, o.floor) for o in batch]}
    series = [(node, s) for o in batch for s in o.series]
    store.commit(readings, [], handled, {node: time.time()}, (), series)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", type=int, default=200)
    ap.add_argument("--per-pack", type=int, default=500)
    ap.add_argument("--batch", type=int, default=10, help="packs per commit")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--rows", action="store_true",
                    help="decode record by record and commit rows (the path before the bulk one)")
    a = ap.parse_args()
    node = NodeId(SITE, "n1")
    now = time.time()
    packs = make_packs(node, a.packs, a.per_pack, now - 86400)
    n = a.packs * a.per_pack
    topic = node.topic(Channel.READINGS)
    spent = {"decode + validate": 0.0, "commit": 0.0}
    outcomes: list[Outcome] = []
    profiles = {k: cProfile.Profile() for k in spent} if a.profile else {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "eil.db")
        # batch by batch, as the service does: each batch's objects are freed before the next
        for i in range(0, len(packs), a.batch):
            for stage in spent:
                prof = profiles.get(stage)
                t0 = time.process_time()
                if prof:
                    prof.enable()
                if stage == "commit":
                    commit_batch(store, node, outcomes)
                else:
                    outcomes = validate_batch(topic, packs[i:i + a.batch], now, not a.rows)
                if prof:
                    prof.disable()
                spent[stage] += time.process_time() - t0
        for stage, seconds in spent.items():
            print(f"{stage:20s}: {seconds / n * 1e6:6.2f} µs per reading")
        print(f"store: {store.bytes_on_disk() / n:.1f} bytes per reading on disk")
        for stage, prof in profiles.items():
            print(f"--- {stage}")
            pstats.Stats(prof).sort_stats("tottime").print_stats(14)
        store.close()


if __name__ == "__main__":
    main()
