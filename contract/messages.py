"""Small JSON control messages of the contract: node status, gateway status, acknowledgement."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from contract.errors import PackError


def _load(payload: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PackError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PackError(f"{what} must be a JSON object")
    return doc


@dataclass(frozen=True, slots=True)
class Ack:
    """Cumulative: the gateway has durably committed every reading of the node up to `seq`."""

    seq: int

    def encode(self) -> bytes:
        return json.dumps({"seq": self.seq}, separators=(",", ":")).encode()

    @staticmethod
    def decode(payload: bytes) -> Ack:
        seq = _load(payload, "ack").get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise PackError(f"ack seq must be a non-negative integer, got {seq!r}")
        return Ack(seq)


@dataclass(frozen=True, slots=True)
class Status:
    """Retained presence of a node or of the gateway. `boot` changes at every process start."""

    state: str  # "online" | "offline"
    boot: str
    time: float
    version: str = ""
    last_seq: int | None = None  # node only: newest sequence number assigned
    outbox: int | None = None  # node only: readings held, not yet acknowledged
    acked: int | None = None  # node only: the newest acknowledgement it applied
    ack_refused: int | None = None  # node only: an acknowledgement beyond what it has sent

    def encode(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None},
                          separators=(",", ":")).encode()

    @staticmethod
    def decode(payload: bytes) -> Status:
        doc = _load(payload, "status")
        if doc.get("state") not in ("online", "offline"):
            raise PackError(f"status state must be 'online' or 'offline', got {doc.get('state')!r}")
        try:
            return Status(
                state=doc["state"], boot=str(doc.get("boot", "")), time=float(doc.get("time", 0)),
                version=str(doc.get("version", "")),
                **{key: None if doc.get(key) is None else int(doc[key])
                   for key in ("last_seq", "outbox", "acked", "ack_refused")},
            )
        except (TypeError, ValueError) as exc:
            raise PackError(f"status has a field of the wrong type: {exc}") from None
