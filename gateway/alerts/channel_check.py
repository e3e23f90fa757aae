"""What Apprise says of channel URLs, asked in a short-lived process of its own: loading Apprise
and its plugins costs the process that does it about 30 MB for good, which the gateway (a Pi's
whole memory) should not pay to read alerts.toml. Only the sender process keeps Apprise.

    python -m gateway.alerts.channel_check < urls.json   # prints one verdict per URL
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from gateway.errors import GatewayError


@dataclass(frozen=True)
class Verdict:
    error: str | None  # why no channel can use the URL; None when one can
    private: str  # the URL with its secrets hidden (Apprise's privacy form), for the views


def _verdict(url: str) -> dict[str, str | None]:
    import apprise

    if "://" not in url:
        return {"error": f"{url!r} is not a channel URL (scheme://..., e.g. mailto://, ntfy://)",
                "private": url.split(":", 1)[0] + ":…"}
    plugin = apprise.Apprise.instantiate(url)
    scheme = url.split("://", 1)[0]
    if plugin is None:
        return {"error": f"no channel understands {scheme}:// or the URL lacks what it needs "
                         "(docs/alerts.md lists the schemes and their forms)",
                "private": f"{scheme}://…"}
    return {"error": None, "private": str(plugin.url(privacy=True))}


def check(urls: list[str]) -> list[Verdict]:
    """One verdict per URL, from Apprise in a child process."""
    if not urls:
        return []
    try:
        done = subprocess.run([sys.executable, "-m", "gateway.alerts.channel_check"],
                              input=json.dumps(urls), capture_output=True, text=True,
                              timeout=120, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GatewayError(f"the channel URLs could not be checked: {exc}") from exc
    return [Verdict(v["error"], v["private"]) for v in json.loads(done.stdout)]


if __name__ == "__main__":
    json.dump([_verdict(u) for u in json.load(sys.stdin)], sys.stdout)
