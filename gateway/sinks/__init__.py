"""Sinks: every committed reading and signal value copied to a production database, past a
durable cursor kept in the store (gateway/store/sink_cursors.py).

    config.py   [[sinks]] in gateway.toml, and the registry of sink types
    influx.py   the InfluxDB-protocol sink (InfluxDB 2, InfluxDB 3, VictoriaMetrics)
    lines.py    readings and signal values as line-protocol points
    runner.py   the loop: read past the cursor, write, advance only after the database confirmed
    process.py  each sink in its own process beside ingest, restarted if it dies

docs/sinks.md says what is written where and why a replay doubles nothing.
"""
