"""Quiet hours: a daily window of wall-clock time in a recipient's time zone. The window is
judged in local time each day, so "22:00-07:00" stays 22:00-07:00 across a daylight-saving
change (the night it happens is an hour shorter or longer, as it is for the recipient)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class QuietHoursError(ValueError):
    pass


@dataclass(frozen=True)
class QuietHours:
    start: dt.time
    end: dt.time
    zone: ZoneInfo

    @staticmethod
    def parse(window: str, zone: str) -> QuietHours:
        """`window` as "HH:MM-HH:MM" (it may cross midnight), `zone` an IANA name."""
        m = _WINDOW.match(window)
        if not m:
            raise QuietHoursError(f"{window!r} is not HH:MM-HH:MM, e.g. 22:00-07:00")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if (h1, m1) == (h2, m2):
            raise QuietHoursError(f"{window!r} starts and ends at the same time")
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise QuietHoursError(f"{zone!r} is not a known time zone (IANA, e.g. "
                                  "Europe/Warsaw)") from None
        return QuietHours(dt.time(h1, m1), dt.time(h2, m2), tz)

    def _local(self, t_ms: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(t_ms / 1000, self.zone)

    def contains(self, t_ms: int) -> bool:
        now = self._local(t_ms).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def end_after(self, t_ms: int) -> int:
        """The first end of the window after `t_ms` (ms)."""
        local = self._local(t_ms)
        for days in (0, 1):
            end = dt.datetime.combine(local.date() + dt.timedelta(days=days), self.end,
                                      tzinfo=self.zone)
            end_ms = int(end.timestamp() * 1000)
            if end_ms > t_ms:
                return end_ms
        raise AssertionError("unreachable: an end within two days")
