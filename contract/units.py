"""SenML unit symbols the contract accepts, and their conversion to canonical units.

Symbols come from the SenML units registry (RFC 8428 section 12.1) and its secondary-unit
registry (RFC 8798). Each accepted symbol maps to a pint expression (the meaning) and to the
canonical symbol the gateway stores values in. Conversions are derived with pint once per symbol
and then applied as an affine function (scale, offset), so the hot path does no unit parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from contract.errors import RecordError

if TYPE_CHECKING:
    import pint

# symbol -> (pint expression, canonical SenML symbol)
UNITS: dict[str, tuple[str, str]] = {
    # temperature
    "Cel": ("degC", "Cel"),
    "K": ("kelvin", "Cel"),
    # dimensionless proportions (soil water content, state of charge...)
    "%": ("percent", "%"),
    "/": ("dimensionless", "%"),
    "%RH": ("percent", "%RH"),
    "lat": ("degree", "lat"),  # WGS84 latitude, degrees north (RFC 8428 registry)
    "lon": ("degree", "lon"),  # WGS84 longitude, degrees east
    "%EL": ("percent", "%EL"),
    "ppm": ("ppm", "ppm"),
    "count": ("dimensionless", "count"),
    "pH": ("dimensionless", "pH"),
    # EIL extension, not in the SenML registries: turbidity has no SI unit; nephelometric
    # turbidity units (ISO 7027 formazin units read the same) are what probes and guidelines use
    "NTU": ("dimensionless", "NTU"),
    # power and energy
    "W": ("watt", "W"),
    "kW": ("kilowatt", "W"),
    "Wh": ("watt_hour", "Wh"),
    "kWh": ("kilowatt_hour", "Wh"),
    "J": ("joule", "Wh"),
    "V": ("volt", "V"),
    "mV": ("millivolt", "V"),
    "A": ("ampere", "A"),
    "mA": ("milliampere", "A"),
    "Ah": ("ampere_hour", "Ah"),
    "VA": ("volt_ampere", "VA"),
    "var": ("volt_ampere", "var"),
    "W/m2": ("watt/meter**2", "W/m2"),
    # water
    "l": ("liter", "l"),
    "m3": ("meter**3", "l"),
    "l/s": ("liter/second", "l/s"),
    "m3/s": ("meter**3/second", "l/s"),
    "mm/h": ("millimeter/hour", "mm/h"),
    "S/m": ("siemens/meter", "S/m"),
    "kg/m3": ("kilogram/meter**3", "kg/m3"),
    # length, pressure, time, misc
    "m": ("meter", "m"),
    "cm": ("centimeter", "m"),
    "mm": ("millimeter", "m"),
    "km": ("kilometer", "m"),
    "Pa": ("pascal", "Pa"),
    "hPa": ("hectopascal", "Pa"),
    "s": ("second", "s"),
    "ms": ("millisecond", "s"),
    "min": ("minute", "s"),
    "h": ("hour", "s"),
    "m/s": ("meter/second", "m/s"),
    "lx": ("lux", "lx"),
    "Hz": ("hertz", "Hz"),
    "1/s": ("1/second", "Hz"),
    "B": ("byte", "B"),
    "KiB": ("kibibyte", "B"),
    "deg": ("degree", "deg"),
}


@dataclass(frozen=True, slots=True)
class Conversion:
    """value_in_canonical = value * scale + offset"""

    canonical: str
    scale: float
    offset: float

    def apply(self, value: float) -> float:
        return value * self.scale + self.offset


@cache
def registry() -> pint.UnitRegistry:
    import pint  # imported lazily: it is the slowest import of the contract

    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


def check_symbol(symbol: str) -> str:
    if symbol not in UNITS:
        raise RecordError(
            f"unknown unit {symbol!r}: not a SenML unit this contract accepts (the accepted "
            f"symbols are listed in docs/contract.md, 'Units'; e.g. Cel, %, W, Wh, l, m3, Pa)"
        )
    return symbol


@cache
def conversion(symbol: str) -> Conversion:
    """Affine conversion of `symbol` into its canonical unit, derived with pint."""
    expr, canonical = UNITS[check_symbol(symbol)]
    if symbol == canonical:
        return Conversion(canonical, 1.0, 0.0)
    ureg = registry()
    target = UNITS[canonical][0]
    zero = ureg.Quantity(0.0, expr).to(target).magnitude
    one = ureg.Quantity(1.0, expr).to(target).magnitude
    return Conversion(canonical, float(one - zero), float(zero))


def to_canonical(value: float, symbol: str) -> tuple[float, str]:
    conv = conversion(symbol)
    return conv.apply(value), conv.canonical


def quantity(value: float, symbol: str) -> pint.Quantity:
    """A pint Quantity for a SenML value, for code that computes with units."""
    return registry().Quantity(value, UNITS[check_symbol(symbol)][0])


def from_quantity(q: pint.Quantity, symbol: str) -> float:
    """Magnitude of pint quantity `q` expressed in SenML unit `symbol` (raises on wrong dimension)."""
    import pint

    try:
        return float(q.to(UNITS[check_symbol(symbol)][0]).magnitude)
    except pint.DimensionalityError as exc:
        raise RecordError(f"quantity {q} cannot be expressed in {symbol!r}: {exc}") from exc
