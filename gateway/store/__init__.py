"""The gateway's store: everything in its data directory, behind one object (data_dir.DataDir)
that alone knows the file names: the readings store (readings.py, with its cold chunks:
cold.py, chunk.py, mover.py; roll-ups and retention: rollups.py), the signal history
(signal_history.py), the library's records (library_db.py), the accounts (accounts.py), the rows
they keep (rows.py) and the watermark bookkeeping that decides what is acknowledged
(watermark.py). The sinks' cursors (sink_cursors.py) and a steward's sequence repairs
(sequence_repair.py) are facades of a Store (`store.sinks`, `store.sequences`); sql.py holds
what they share and turns every database error into a StoreError at this package's edge."""

from gateway.store.data_dir import DataDir
from gateway.store.readings import SCHEMA_VERSION, ExportRow, Handled, Store

__all__ = ["SCHEMA_VERSION", "DataDir", "ExportRow", "Handled", "Store"]
