"""The gardener's view as data: per bed, water now or not and how many litres, the soil
moisture bands (field capacity, readily available water, wilting point) with the p the depletion
signal used, soil temperature against the crop's sowing minimum, the last wetting; frost and
ET0 for the site. Pure: the route gives it the published signals and a way to read a bed's
recent moisture."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.signals.config import SignalConfig, bed_params

WETTING_RISE = 2.0  # %-points of soil moisture within an hour: rain or watering reached the bed
WETTING_DAYS = 7  # how far back the last wetting is looked for
Json = dict[str, Any]
# (node, series name, since ms, until ms, points) -> (unit, times ms, values)
Moisture = Callable[[str, str, int, int, int], tuple[str | None, list[int], list[float]]]


def garden_view(signals: list[Json], cfg: SignalConfig, now_ms: int, moisture: Moisture) -> Json:
    """`signals`: the latest published summaries; `moisture` reads a bed's recent soil
    moisture in hourly means (the store's; a literal table in tests)."""
    by_id = {s["id"]: s for s in signals}
    beds = []
    for s in by_id.values():
        if s["signal"] != "soil.depletion":
            continue
        scope = s["scope"]
        node, _, prefix = scope.partition("/")
        name = f"{prefix}.soil.moisture" if prefix else "soil.moisture"
        bed = bed_params(cfg, scope)
        fc, wp = cfg.soils[bed["soil"]]
        # the p the depletion signal used (Table 22, adjusted for ETc), else the table's
        p = (s.get("numbers") or {}).get("p") or bed["p"] or cfg.depletion[bed["crop"]]
        need = by_id.get(f"soil.irrigation_need@{scope}", {})
        temp = by_id.get(f"soil.sowing_temperature@{scope}") or \
            by_id.get(f"soil.sowing_temperature@{node}")
        unit, times, values = moisture(node, name, now_ms - WETTING_DAYS * 86_400_000,
                                       now_ms + 1, WETTING_DAYS * 24)
        beds.append({
            "scope": scope, "node": node, "series": name, "name": bed["name"] or scope,
            "crop": bed["crop"], "soil": bed["soil"], "area_m2": bed["area_m2"],
            "depletion": s["value"], "band": s["band"], "note": s.get("note"),
            "water_now": None if s["value"] is None else s["value"] >= 1.0,
            "litres": need.get("value"), "signal": s["id"], "t": s.get("t"),
            "moisture": {"latest": values[-1] if values else None, "unit": unit,
                         "latest_ms": times[-1] if times else None,
                         "field_capacity": fc * 100, "wilting_point": wp * 100,
                         "readily_available": (fc - p * (fc - wp)) * 100},
            "temperature": None if not temp else {
                "signal": temp["id"], "mean_24h": temp["value"],
                "minimum": (temp.get("threshold") or {}).get("lower"), "band": temp["band"],
                "note": temp.get("note")},
            "last_wetting_ms": next((times[i] for i in range(len(values) - 1, 0, -1)
                                     if values[i] - values[i - 1] >= WETTING_RISE), None)})
    frosts = [s for s in by_id.values() if s["signal"] == "weather.frost"]
    frost = min(frosts, key=lambda s: (s["value"] is None, s["value"] or 0.0), default=None)
    et0 = next((s for s in by_id.values() if s["signal"] == "weather.et0"), None)
    return {"beds": sorted(beds, key=lambda b: b["scope"]), "frost": frost, "et0": et0,
            "computed_ms": max((int(s["t"]) for s in by_id.values()), default=None)}
