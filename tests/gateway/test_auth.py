"""Sign-in throttling and the first-run token, without a server."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi import HTTPException

from gateway.store import DataDir
from gateway.store.accounts import Accounts
from gateway.web.auth import (
    MAX_ADDRESS_FAILURES,
    MAX_FAILURES,
    Auth,
    first_run_token,
)


def test_repeated_failures_lock_that_name_from_that_address_only(tmp_path: Path) -> None:
    """Issue 13: ten wrong passwords from anyone locked a steward's name for everyone."""
    accounts = Accounts(tmp_path / "accounts.db")
    accounts.add("sam", "steward", "a long steward pass")
    auth = Auth(DataDir(tmp_path))
    attacker, steward = "192.0.2.66", "192.0.2.10"
    try:
        for _ in range(MAX_FAILURES):
            assert auth.check(accounts, "sam", "wrong password", attacker) is None
        with pytest.raises(HTTPException) as locked:
            auth.check(accounts, "sam", "a long steward pass", attacker)  # even the right one
        assert locked.value.status_code == 429 and "from 192.0.2.66" in str(locked.value.detail)
        # the real steward, from their own device, is not locked out
        assert auth.check(accounts, "sam", "a long steward pass", steward) == "steward"
        assert auth.check(accounts, "ana", "anything at all", attacker) is None  # other names
        assert set(auth.failures) == {(attacker, "sam"), (attacker, "ana")}
        auth.failures[(attacker, "sam")] = [t - 3600 for t in auth.failures[(attacker, "sam")]]
        assert auth.check(accounts, "sam", "a long steward pass", attacker) == "steward"
        assert (attacker, "sam") not in auth.failures  # a success forgets the old failures
    finally:
        accounts.close()


def test_one_address_spraying_many_names_is_locked_as_a_whole(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.db")
    auth = Auth(DataDir(tmp_path))
    try:
        for i in range(MAX_ADDRESS_FAILURES):
            assert auth.check(accounts, f"name-{i}", "x", "192.0.2.66") is None
        with pytest.raises(HTTPException):
            auth.check(accounts, "another-name", "x", "192.0.2.66")
        assert auth.check(accounts, "another-name", "x", "192.0.2.10") is None
    finally:
        accounts.close()


def test_first_run_token_exists_only_while_there_is_no_account(tmp_path: Path) -> None:
    token = first_run_token(DataDir(tmp_path))
    assert token == DataDir(tmp_path).first_run_token and len(token.read_text().strip()) >= 24
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    first = token.read_text()
    assert first_run_token(DataDir(tmp_path)) == token and token.read_text() == first  # kept, not remade
    accounts = Accounts(tmp_path / "accounts.db")
    accounts.add("sam", "steward", "a long steward pass")
    accounts.close()
    assert first_run_token(DataDir(tmp_path)) is None and not token.exists()
