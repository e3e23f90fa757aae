"""The library as the CLI, the gateway and the impact signals use it: the ledger built from the
store's station events and the library's own records; the view stations work from; erasure."""

from __future__ import annotations

import secrets
import time

from gateway.library.ledger import Ledger, LoanEvent, build
from gateway.store import DataDir, Store
from gateway.store.library_db import LibraryError, Member

EVENT_NAMES = ("loan.checkout", "loan.checkin", "loan.refused", "card.unknown")


class Library:
    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.db = data.library()

    def _store(self, readonly: bool = True) -> Store:
        return self.data.readings(readonly=readonly)

    def _events(self) -> list[tuple[str, int, int, str, str | None, str | None]]:
        if not self.data.has_readings():
            return []
        with self._store() as store:
            return store.events_named(EVENT_NAMES)

    def loan_events(self) -> list[LoanEvent]:
        out = []
        for node, seq, t_ms, name, text, ref in self._events():
            kind = name.rsplit(".", 1)[1]
            if kind == "unknown" or text is None or ref is None:
                continue
            tool, _, reason = text.partition(": ") if kind == "refused" else (text, "", "")
            out.append(LoanEvent(t_ms, node, seq, kind, tool.upper(), ref, reason or None))
        return out

    def ledger(self) -> Ledger:
        return build(self.loan_events(), self.db.tools(), self.db.loan_days())

    def unknown_cards(self) -> list[tuple[int, str]]:
        """(time ms, pseudonym) of tapped cards that are not enrolled, newest first."""
        members = self.db.members()
        taps = [(t, ref) for _, _, t, name, _, ref in self._events()
                if name.endswith("card.unknown") and ref and ref not in members]
        return sorted(taps, reverse=True)

    def station_view(self, now_ms: int | None = None) -> dict[str, object]:
        """What a station needs to decide on the spot, offline if need be: each tool's state, and
        which pseudonyms are members and whether they have an overdue loan. No names."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        ledger, tools = self.ledger(), self.db.tools()
        overdue = {loan.member for loan in ledger.overdue(now_ms)}
        return {"tools": ledger.tool_state(tools),
                "members": {m: {"overdue": m in overdue} for m in sorted(self.db.members())}}

    def enrol(self, pseudonym: str | None, member_no: str, name: str | None,
              contact: str | None) -> Member:
        if pseudonym is None:
            unknown = self.unknown_cards()
            if not unknown:
                raise LibraryError("no unknown card has been tapped on a station yet: tap the new "
                                   "card on a station, then enrol again")
            pseudonym = unknown[0][1]
        return self.db.enrol(pseudonym, member_no, name, contact)

    def forget(self, ident: str) -> list[str]:
        """Delete everything personal about a member; say what was deleted. Their loans stay in
        the statistics under an anonymous id that nothing links back to them."""
        member = self.db.find_member(ident)
        if member is None:
            raise LibraryError(f"no member with number or pseudonym {ident!r}")
        anon = "anon-" + secrets.token_hex(8)
        changed, dropped = (0, 0)
        if self.data.has_readings():
            with self._store(readonly=False) as store:
                changed, dropped = store.replace_ref(member.pseudonym, anon)
        said = [f"membership record of member {member.member_no} (name, contact, enrolment date, "
                "card pseudonym)",
                f"the card pseudonym in {changed} stored station event(s), now an anonymous id",
                f"{dropped} refused message(s) (dead letters) that mentioned the pseudonym"]
        self.db.delete_member(member.pseudonym, anon,
                              f"{changed} events anonymised, {dropped} dead letters deleted")
        return said

    def close(self) -> None:
        self.db.close()
