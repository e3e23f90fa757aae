"""The EIL engine's computations: agronomy (FAO-56), data quality (QARTOD-style flags), and the
threshold arithmetic every impact signal shares (bands, distance, trend, alert hysteresis).
Pure functions; docs/signals.md says which published method each follows."""
