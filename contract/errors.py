"""Errors raised by the contract codec: ContractError lets callers catch contract faults only,
and it is an EilError like every error of the stack, so the command line's one handler reports
it too."""

from core.errors import EilError


class ContractError(EilError):
    """Root of every wire-contract error."""


class PackError(ContractError):
    """The whole pack is unusable (not JSON, not SenML, wrong node, too large...)."""


class RecordError(ContractError):
    """One record of an otherwise usable pack is invalid (unknown unit, bad value...)."""


class TopicError(ContractError):
    """A topic or identifier does not follow the contract's topic tree."""
