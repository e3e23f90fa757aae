"""Gateway side of the EIL stack: ingest (validate, deduplicate, commit, acknowledge), the
embedded store, and the web views."""
