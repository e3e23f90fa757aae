"""The EIL engine: impact signals from the stored time series (docs/signals.md).

`catalogue.py` defines the signals; `soil.py`, `water.py`, `energy.py`, `weather.py` and
`tools.py` compute them; `qc.py` and `quality.py` check every input first; `fao56.py` and
`bands.py` are the published methods and the threshold arithmetic; `config.py` loads thresholds
with their provenance and the site's parameters; `engine.py` evaluates everything, `history.py`
keeps the signals' own time series, `publish.py` runs it at the gateway, `rollup.py` totals
sites into larger scopes.
"""
