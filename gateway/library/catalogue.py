"""The tool catalogue as a library keeps it in a spreadsheet: one CSV row per tool.

Columns (header required, any order): tag, name, category, purchase_price, currency,
embodied_co2e_kg, co2e_source. Every error names the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import math
import re

from gateway.errors import GatewayError
from gateway.store.rows import Tool

COLUMNS = ("tag", "name", "category", "purchase_price", "currency", "embodied_co2e_kg",
           "co2e_source")
_TAG = re.compile(r"^[0-9A-Z]{2,32}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class CatalogueError(GatewayError):
    pass


def normalise_tag(raw: str) -> str:
    return raw.strip().upper().replace(":", "").replace(" ", "")


def parse_catalogue(text: str, source: str) -> list[Tool]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _parse(reader, source)
    except csv.Error as exc:
        raise CatalogueError(f"{source}: line {reader.line_num}: {exc}") from None


def _parse(reader: csv.DictReader[str], source: str) -> list[Tool]:
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CatalogueError(f"{source}: line 1: missing column(s) {', '.join(missing)}; "
                             f"expected {', '.join(COLUMNS)}")
    reader.fieldnames = header
    tools: list[Tool] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num

        def fail(column: str, why: str, line: int = line) -> CatalogueError:
            return CatalogueError(f"{source}: line {line}, column {column}: {why}")

        values = {c: (row.get(c) or "").strip() for c in COLUMNS}
        tag = normalise_tag(values["tag"])
        if not _TAG.match(tag):
            raise fail("tag", f"{values['tag']!r} is not a tag id (2-32 letters and digits)")
        if tag in seen:
            raise fail("tag", f"{tag} is already on line {seen[tag]}")
        seen[tag] = line
        for column in ("name", "category", "co2e_source"):
            if not values[column]:
                raise fail(column, "empty")
        numbers = {}
        for column in ("purchase_price", "embodied_co2e_kg"):
            try:
                numbers[column] = float(values[column])
            except ValueError:
                raise fail(column, f"{values[column]!r} is not a number") from None
            if not math.isfinite(numbers[column]) or numbers[column] < 0:
                raise fail(column, f"{values[column]} must be zero or more")
        currency = values["currency"].upper()
        if not _CURRENCY.match(currency):
            raise fail("currency", f"{values['currency']!r} is not an ISO 4217 code such as EUR")
        tools.append(Tool(tag, values["name"], values["category"].lower(),
                          numbers["purchase_price"], currency, numbers["embodied_co2e_kg"],
                          values["co2e_source"]))
    if not tools:
        raise CatalogueError(f"{source}: no tools (only a header)")
    return tools
