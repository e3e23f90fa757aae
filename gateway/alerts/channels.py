"""One channel URL through Apprise (e-mail, ntfy, Gotify, Matrix, Signal's REST API, Telegram,
JSON webhooks, MQTT, ...): a send with a timeout, and a verdict: delivered, failed (try again
later), or refused (the service said no: a wrong address, a bad token; shown to the steward and
the next channel used). Apprise keeps nothing on disk and retries in-process: the durability is
the outbox's (gateway/store/alert_book.py), and this is called from the sender process only."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Apprise's plugins log an HTTP refusal as "error=401." or "error=403", and an SMTP
# authentication refusal in words; a connection error or a timeout is not a refusal
_REFUSED = re.compile(r"error=4\d\d\b|\b(?:401|403|404)\b|authentic|unauthori|forbidden|"
                      r"invalid (?:token|user|recipient)", re.I)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    refused: bool = False
    error: str | None = None


def send(url: str, title: str, body: str, timeout_s: float) -> Outcome:
    import apprise  # the sender process's only

    a = apprise.Apprise()
    if not a.add(url):
        return Outcome(False, True, "the channel URL is not usable (see alerts.toml)")
    result = a.notify(body=body, title=title, timeout=timeout_s)
    if result:
        return Outcome(True)
    said = "; ".join(e.message for e in result.logs()) or f"{result.status.name.lower()}"
    # no secret of the URL is in Apprise's messages, but keep them short for the views
    return Outcome(False, bool(_REFUSED.search(said)), said[:400])
