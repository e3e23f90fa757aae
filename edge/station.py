"""The tool-library station's logic, without hardware: member pseudonyms, tap debouncing, the
station's view of the library, and the two-tap state machine.

A member taps their card, then the tool's tag, or the reverse. Tapping the same card or tag again
before the second tap cancels; a first tap not completed within the timeout lapses. Whether the
pair is a check-out or a check-in follows from the tool's state in the station's view (kept
by the gateway; the station updates it itself while offline). Raw card UIDs stay in this module:
everything it returns carries a member's keyed pseudonym instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from edge.errors import SensorError

log = logging.getLogger("eil.station")
KEY_BYTES = 32


# --- pseudonyms -------------------------------------------------------------------------------
def new_site_key(path: Path) -> bool:
    """Create a random site key readable by its owner only; False if one exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(KEY_BYTES))
    return True


def load_site_key(path: Path, data_dir: Path) -> bytes:
    """The station's key, kept outside the data store (a copied outbox or store must not carry
    what would let someone recompute pseudonyms from card numbers)."""
    if path.resolve().is_relative_to(data_dir.resolve()):
        raise SensorError(f"key_file {path} is inside the data directory {data_dir}; keep the "
                          "site key outside it (default /etc/eil/station.key)")
    try:
        mode = path.stat().st_mode
        key = path.read_bytes()
    except FileNotFoundError:
        raise SensorError(f"site key {path} does not exist; create it with "
                          f"`eil node station-key --path {path}`") from None
    except OSError as exc:
        raise SensorError(f"cannot read site key {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SensorError(f"site key {path} is readable by others (mode {mode & 0o777:o}); "
                          f"chmod 600 {path}")
    if len(key) < 16:
        raise SensorError(f"site key {path} holds {len(key)} bytes; at least 16 are needed")
    return key


def pseudonym(site_key: bytes, uid: str) -> str:
    """A member card's keyed pseudonym: HMAC-SHA256(site key, UID), 64 bits in hex."""
    return "m-" + hmac.new(site_key, uid.upper().encode(), hashlib.sha256).hexdigest()[:16]


# --- taps ----------------------------------------------------------------------------------------
class Debouncer:
    """Per reader: a tap is a card appearing; it must be away for `removal_s` before the same
    card counts again (readers repeat, and polls of a card in the field sometimes miss it)."""

    def __init__(self, removal_s: float = 0.6) -> None:
        self.removal_s = removal_s
        self.present: dict[str, tuple[str, float]] = {}  # reader -> (uid, last seen)

    def update(self, reader: str, uid: str | None, now: float) -> str | None:
        held = self.present.get(reader)
        if uid is None:
            if held is not None and now - held[1] > self.removal_s:
                del self.present[reader]  # removed
            return None
        self.present[reader] = (uid, now)
        return uid if held is None or held[0] != uid else None


# --- the library as the station sees it ------------------------------------------------------
TOOL_STATES = ("available", "out", "maintenance", "missing")


@dataclass
class LibraryView:
    """Tools by tag with their state, and enrolled members by pseudonym with whether they have
    an overdue loan. Written by the gateway's sync (a JSON file in the node's data directory);
    the station applies its own loans to it until the next sync."""

    tools: dict[str, str] = field(default_factory=dict)
    members: dict[str, bool] = field(default_factory=dict)  # pseudonym -> has an overdue loan

    @classmethod
    def parse(cls, text: str, source: str) -> LibraryView:
        try:
            raw = json.loads(text)
            tools = {str(tag).upper(): str(state) for tag, state in raw["tools"].items()}
            members = {str(m): bool(info.get("overdue", False)) for m, info in raw["members"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{source}: not a library view ({exc})") from exc
        for tag, state in tools.items():
            if state not in TOOL_STATES:
                raise ValueError(f"{source}: tool {tag}: state {state!r} is not one of "
                                 f"{', '.join(TOOL_STATES)}")
        return cls(tools, members)


VIEW_FILE = "library_view.json"


class ViewFile:
    """The view, reloaded when its file changes; a bad file keeps the last good view. The node
    agent saves what the gateway publishes; the station reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mtime: float | None = None
        self.view = LibraryView()

    def save(self, payload: bytes) -> bool:
        """Replace the file with a view from the gateway, if it is one (atomically: the station
        never reads half a file)."""
        try:
            LibraryView.parse(payload.decode(), "library view from the gateway")
        except (UnicodeDecodeError, ValueError) as exc:
            log.error("ignoring the library view received: %s", exc)
            return False
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, self.path)
        return True

    def current(self) -> LibraryView:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return self.view
        if mtime != self.mtime:
            self.mtime = mtime
            try:
                self.view = LibraryView.parse(self.path.read_text(), str(self.path))
            except (OSError, ValueError) as exc:
                log.error("keeping the previous library view: %s", exc)
        return self.view


# --- the two-tap state machine -----------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What a tap led to. `kind` is one of: waiting (first tap taken), checkout, checkin,
    refused, overdue, unknown, cancelled, timeout."""

    kind: str
    tool: str | None = None
    member: str | None = None  # pseudonym
    reason: str | None = None


class TwoTap:
    def __init__(self, timeout_s: float = 20.0, overdue_blocks_checkout: bool = True) -> None:
        self.timeout_s = timeout_s
        self.overdue_blocks = overdue_blocks_checkout
        self.first: tuple[str, str, float] | None = None  # ("tool"|"member", id, when)

    def tick(self, now: float) -> Outcome | None:
        if self.first is not None and now - self.first[2] > self.timeout_s:
            kind, ident, _ = self.first
            self.first = None
            return _about("timeout", kind, ident)
        return None

    def tap(self, kind: str, ident: str, now: float, view: LibraryView) -> Outcome:
        """`kind` is "tool", "member" or "unknown" (a card that is neither)."""
        if kind == "unknown":
            return Outcome("unknown", member=ident, reason="card not enrolled")
        if self.first is not None and self.first[0] == kind:
            if self.first[1] == ident:  # the same card or tag again: cancel
                self.first = None
                return _about("cancelled", kind, ident)
            self.first = None  # another of the same kind: it replaces the first
        if self.first is None:
            self.first = (kind, ident, now)
            return _about("waiting", kind, ident)
        other = self.first[1]
        self.first = None
        tool, member = (ident, other) if kind == "tool" else (other, ident)
        return decide(tool, member, view, self.overdue_blocks)


def _about(what: str, kind: str, ident: str) -> Outcome:
    return Outcome(what, tool=ident) if kind == "tool" else Outcome(what, member=ident)


def decide(tool: str, member: str, view: LibraryView, overdue_blocks: bool) -> Outcome:
    state = view.tools.get(tool, "available")
    if state in ("out", "missing"):  # a missing tool brought back is a return too
        view.tools[tool] = "available"
        return Outcome("checkin", tool, member)
    if state == "maintenance":
        return Outcome("refused", tool, member, "tool is in maintenance")
    if overdue_blocks and view.members.get(member, False):
        return Outcome("overdue", tool, member, "member has an overdue loan")
    view.tools[tool] = "out"
    return Outcome("checkout", tool, member)
