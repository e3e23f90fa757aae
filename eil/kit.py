"""The sensor kits a maker builds (`eil kit`), from one source each: `hardware/kits/<kind>.toml`
(reached as `eil/kitdata`, a link to that folder that the wheel carries as package data). A
kit names its drivers (the node.toml `eil site add-node --kind` writes), its parts with models,
quantities, indicative prices and current per state, its wiring, its enclosure and, off-grid,
how its battery and panel are sized.

The power budget takes the duty cycle from the node's own schedule: each driver's `interval_s`
in the node.toml the kit gets (the drivers' sample configs), a part active for `active_s` per
reading of what it serves (the Pi: per reading of any sensor). The solar sizing uses the
project's own sun model (FAO-56's extraterrestrial radiation and the Angstrom formula,
gateway/signals/fao56.py) for the site's latitude and the kit's worst-month sunshine, on a
horizontal panel (a panel tilted toward the equator does better in winter: the figure is
conservative)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.config import Table
from core.errors import ConfigError
from edge.registry import REGISTRY
from gateway.signals.fao56 import extraterrestrial_radiation, solar_from_sunshine

DAY_S = 86_400
# FAO-56's representative day of each month (its Annex 2, table 2.5's "mid-month" days)
MONTH_DAYS = (17, 47, 75, 105, 135, 162, 198, 228, 258, 288, 318, 344)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
SERVES_OTHER = ("node", "power", "enclosure")


@dataclass(frozen=True)
class Part:
    name: str
    model: str
    qty: int
    eur: float  # indicative, each
    serves: str  # "node", "power", "enclosure" or a driver type of the kit
    volts: float | None = None
    idle_ma: float = 0.0
    active_ma: float = 0.0
    active_s: float = 0.0  # per reading of what it serves
    sized: str | None = None  # "battery" or "panel": its size comes from the budget


@dataclass(frozen=True)
class Wire:
    part: str
    connection: str
    bus: str = ""
    address: str = ""
    pull_ups: str = ""
    cable: str = ""


@dataclass(frozen=True)
class Solar:
    autonomy_days: float
    battery_volts: float
    depth_of_discharge: float
    system_efficiency: float
    sunshine_fraction: float
    panel_derate: float


@dataclass(frozen=True)
class Kit:
    kind: str
    title: str
    drivers: tuple[str, ...]
    parts: tuple[Part, ...]
    wiring: tuple[Wire, ...]
    enclosure: str
    solar: Solar | None


@dataclass(frozen=True)
class Draw:
    part: Part
    readings_per_day: float
    duty: float  # share of the day active
    wh_per_day: float


@dataclass(frozen=True)
class Sizing:
    month: str  # the worst month at this latitude
    sun_hours: float  # its daily irradiation on a horizontal panel, kWh/m2 (peak sun hours)
    from_battery_wh: float  # a day's draw from the battery, losses included
    battery_wh: float
    battery_ah: float
    panel_w: float


def _kits_dir() -> Path:
    """hardware/kits, as `eil/kitdata` (a link to it in the checkout, a copy in the wheel)."""
    return Path(__file__).resolve().parent / "kitdata"


def kinds() -> list[str]:
    return sorted(p.stem for p in _kits_dir().glob("*.toml"))


def load(kind: str) -> Kit:
    """A kit, checked: every part and line named, numbers where numbers go, the BOM covering
    every driver; errors name the file, the key and the reason."""
    if kind not in kinds():
        raise ConfigError(f"no kit {kind!r}; the kits are: {', '.join(kinds())}")
    path = _kits_dir() / f"{kind}.toml"
    where = f"hardware/kits/{kind}.toml"
    try:
        root = Table(Path(where), tomllib.loads(path.read_text()))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    drivers = tuple(root.get("drivers", list))
    for d in drivers:
        if d not in REGISTRY:
            raise root.fail("drivers", f"unknown driver {d!r}")
    parts = []
    for i, raw_part in enumerate(root.get("parts", list)):
        t = Table(Path(where), raw_part, f"parts[{i}].")
        serves = t.get("serves", str)
        if serves not in (*SERVES_OTHER, *drivers):
            raise t.fail("serves", f"{serves!r} is not one of {', '.join(SERVES_OTHER)} or the "
                                   f"kit's drivers ({', '.join(drivers)})")
        volts = t.get("volts", (int, float), None)
        currents = [t.get(k, (int, float), 0.0) for k in ("idle_ma", "active_ma", "active_s")]
        if any(c < 0 for c in currents):
            raise t.fail("idle_ma", "currents and times are 0 or more")
        if volts is None and any(currents[:2]):
            raise t.fail("volts", "a part that draws current needs its supply voltage")
        sized = t.get("sized", str, None)
        if sized not in (None, "battery", "panel"):
            raise t.fail("sized", f"{sized!r} is not battery or panel")
        idle, active, active_s = (float(c) for c in currents)
        parts.append(Part(t.get("name", str), t.get("model", str), int(t.get("qty", int)),
                          float(t.get("eur", (int, float))), serves,
                          None if volts is None else float(volts), idle, active, active_s,
                          sized))
    missing = [d for d in drivers if not any(p.serves == d for p in parts)]
    if missing:
        raise root.fail("parts", f"no part serves {', '.join(missing)}: the BOM must cover "
                                 "every sensor of the kit's node.toml")
    wiring = []
    for i, w in enumerate(root.get("wiring", list, [])):
        t = Table(Path(where), w, f"wiring[{i}].")
        unknown = sorted(set(w) - set(Wire.__dataclass_fields__))
        if unknown:
            raise t.fail(unknown[0], f"unknown key; a line has {', '.join(Wire.__dataclass_fields__)}")
        wiring.append(Wire(**{k: t.get(k, str) for k in w}))
    names = {p.name for p in parts}
    for i, w in enumerate(wiring):
        if w.part not in names:
            raise root.fail(f"wiring[{i}].part", f"{w.part!r} is not a part of the kit")
    solar = None
    if "solar" in root.data:
        s = root.table("solar")
        solar = Solar(*(s.positive(k, 1.0) for k in (
            "autonomy_days", "battery_volts", "depth_of_discharge", "system_efficiency",
            "sunshine_fraction", "panel_derate")))
    return Kit(root.get("kind", str), root.get("title", str), drivers, tuple(parts), tuple(wiring),
               root.get("enclosure", str, "").strip(), solar)


def schedule(kit: Kit) -> dict[str, float]:
    """Driver type -> interval_s in the node.toml the kit gets (node_health included)."""
    out = {}
    for driver in (*kit.drivers, "node_health"):
        sensors = tomllib.loads(REGISTRY[driver].sample_config)["sensors"]
        out[driver] = float(sensors[0].get("interval_s", 60.0))
    return out


def budget(kit: Kit, intervals: dict[str, float]) -> list[Draw]:
    """Each powered part's draw over a day at the node's schedule."""
    out = []
    for p in kit.parts:
        if p.volts is None:
            continue
        served = intervals.values() if p.serves == "node" else (
            [intervals[p.serves]] if p.serves in intervals else [])
        per_day = sum(DAY_S / i for i in served)
        duty = min(1.0, p.active_s * per_day / DAY_S)
        ma = p.active_ma * duty + p.idle_ma * (1.0 - duty)
        out.append(Draw(p, per_day, duty, p.qty * p.volts * ma / 1000.0 * 24.0))
    return out


def worst_month(lat_deg: float, sunshine_fraction: float) -> tuple[str, float]:
    """The month with the least sun on a horizontal panel, and its kWh/m2 a day."""
    best = None
    for name, doy in zip(MONTHS, MONTH_DAYS, strict=True):
        ra, daylight = extraterrestrial_radiation(lat_deg, doy)
        rs = solar_from_sunshine(ra, sunshine_fraction * daylight, daylight) if daylight else 0.0
        kwh = rs / 3.6  # MJ/m2 -> kWh/m2
        if best is None or kwh < best[1]:
            best = (name, kwh)
    assert best is not None
    return best


def size(kit: Kit, wh_per_day: float, lat_deg: float) -> Sizing | None:
    """Battery and panel for an off-grid kit to get through its worst month at `lat_deg`."""
    s = kit.solar
    if s is None:
        return None
    if not -90 <= lat_deg <= 90:
        raise ConfigError(f"--latitude {lat_deg}: between -90 and 90")
    month, sun = worst_month(lat_deg, s.sunshine_fraction)
    draw = wh_per_day / s.system_efficiency
    battery = draw * s.autonomy_days / s.depth_of_discharge
    panel = math.inf if sun <= 0 else draw / (sun * s.panel_derate)
    return Sizing(month, sun, draw, battery, battery / s.battery_volts, panel)


def report(kit: Kit, lat_deg: float, markdown: bool = False) -> str:
    """BOM, wiring and power budget, as text for a terminal or as the kit's page."""
    intervals = schedule(kit)
    draws = budget(kit, intervals)
    total = sum(d.wh_per_day for d in draws)
    sizing = size(kit, total, lat_deg)
    h = (lambda t: f"\n## {t}\n\n") if markdown else (lambda t: f"\n{t}\n{'-' * len(t)}\n")
    out = [f"# {kit.title}\n" if markdown else f"{kit.title}\n{'=' * len(kit.title)}\n",
           f"\nKit `{kit.kind}`: `eil site add-node NAME --kind {kit.kind}` writes a node.toml with "
           f"the drivers {', '.join(kit.drivers)} (and node_health). Prices are indicative, in "
           "EUR.\n"]
    out.append(h("Bill of materials"))
    rows: list[tuple[str, ...]] = [("qty", "part", "model", "for", "EUR")]
    for p in kit.parts:
        model = p.model
        if p.sized == "battery" and sizing:
            model += f" ({sizing.battery_wh:.0f} Wh: {sizing.battery_ah:.1f} Ah at "\
                     f"{kit.solar.battery_volts:g} V or more)"  # type: ignore[union-attr]
        if p.sized == "panel" and sizing:
            model += f" ({sizing.panel_w:.0f} W or more)"
        rows.append((str(p.qty), p.name, model, p.serves, f"{p.qty * p.eur:.2f}"))
    rows.append(("", "total", "", "", f"{sum(p.qty * p.eur for p in kit.parts):.2f}"))
    out.append(_table(rows, markdown))
    out.append(h("Wiring"))
    for w in kit.wiring:
        facts = [("connection", w.connection), ("bus", w.bus), ("address", w.address),
                 ("pull-ups", w.pull_ups), ("cable", w.cable)]
        out.append(f"- **{w.part}**: " if markdown else f"* {w.part}:\n")
        out.append("; ".join(f"{k} {v}" for k, v in facts if v) + "\n" if markdown else
                   "".join(f"    {k}: {v}\n" for k, v in facts if v))
    out.append(h("Enclosure"))
    out.append(kit.enclosure + "\n")
    out.append(h("Power budget"))
    rows = [("part", "V", "idle mA", "active mA", "active s / reading", "readings / day",
             "duty", "Wh / day")]
    for d in draws:
        p = d.part
        rows.append((f"{p.qty} x {p.name}" if p.qty > 1 else p.name, f"{p.volts:g}",
                     f"{p.idle_ma:g}", f"{p.active_ma:g}", f"{p.active_s:g}",
                     f"{d.readings_per_day:,.0f}", f"{d.duty:.2%}", f"{d.wh_per_day:.2f}"))
    rows.append(("total", "", "", "", "", "", "", f"{total:.2f}"))
    out.append(_table(rows, markdown))
    out.append(f"\nSchedule: {', '.join(f'{k} every {v:g} s' for k, v in intervals.items())}"
               " (the node.toml's interval_s: change them and the budget changes).\n")
    if sizing is not None:
        s = kit.solar
        assert s is not None
        out.append(h(f"Off-grid at latitude {lat_deg:g}"))
        out.append(
            f"Worst month: {sizing.month}, {sizing.sun_hours:.2f} kWh/m2 a day on a horizontal "
            f"panel (sunshine {s.sunshine_fraction:.0%} of the day's daylight). A day's draw "
            f"from the battery: {total:.1f} Wh / {s.system_efficiency:g} efficiency = "
            f"{sizing.from_battery_wh:.1f} Wh.\n"
            f"Battery: {sizing.from_battery_wh:.1f} Wh x {s.autonomy_days:g} days / "
            f"{s.depth_of_discharge:g} depth of discharge = {sizing.battery_wh:.0f} Wh "
            f"({sizing.battery_ah:.1f} Ah at {s.battery_volts:g} V).\n"
            f"Panel: {sizing.from_battery_wh:.1f} Wh / ({sizing.sun_hours:.2f} h x "
            f"{s.panel_derate:g} derating) = {sizing.panel_w:.0f} W; choose the next size up, "
            "tilted toward the equator at about the latitude's angle for winter.\n")
    return "".join(out)


def _table(rows: list[tuple[str, ...]], markdown: bool) -> str:  # rows of equal length
    if markdown:
        head, *body = rows
        return "".join(["| " + " | ".join(head) + " |\n",
                        "|" + "---|" * len(head) + "\n",
                        *("| " + " | ".join(r) + " |\n" for r in body)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n"
                   for r in rows)
