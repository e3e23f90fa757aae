"""Errors raised by the contract codec. One root so callers can catch contract faults only."""


class ContractError(Exception):
    """Root of every wire-contract error."""


class PackError(ContractError):
    """The whole pack is unusable (not JSON, not SenML, wrong node, too large...)."""


class RecordError(ContractError):
    """One record of an otherwise usable pack is invalid (unknown unit, bad value...)."""


class TopicError(ContractError):
    """A topic or identifier does not follow the contract's topic tree."""
