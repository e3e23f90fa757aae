"""Times as the command line reads and writes them: RFC 3339, UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from core.errors import EilError


def rfc3339(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def parse_time(text: str | None, what: str) -> int | None:
    """RFC 3339 / ISO 8601 (a date alone means midnight UTC) -> ms since the epoch."""
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise EilError(f"{what}: {text!r} is not an RFC 3339 time such as "
                       "2026-11-23T08:00:00Z or 2026-11-23") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)
