"""The gateway's store: the embedded database of readings, dead letters, conflicts and
acknowledgement watermarks (readings.py), the rows it keeps (rows.py) and the watermark
bookkeeping that decides what is acknowledged (watermark.py)."""

from gateway.store.readings import SCHEMA_VERSION, ExportRow, Handled, Store, sequence_state

__all__ = ["SCHEMA_VERSION", "ExportRow", "Handled", "Store", "sequence_state"]
