"""Sign-in throttling and the first-run token, without a server."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi import HTTPException

from gateway.accounts import Accounts
from gateway.web.auth import FIRST_RUN_FILE, MAX_FAILURES, Auth, first_run_token


def test_repeated_failures_lock_that_name_only(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.db")
    accounts.add("sam", "steward", "a long steward pass")
    auth = Auth(tmp_path)
    try:
        for _ in range(MAX_FAILURES):
            assert auth.check(accounts, "sam", "wrong password") is None
        with pytest.raises(HTTPException) as locked:
            auth.check(accounts, "sam", "a long steward pass")  # even the right one, for now
        assert locked.value.status_code == 429
        assert auth.check(accounts, "ana", "anything at all") is None  # other names unaffected
        assert auth.check(accounts, "nobody", "x") is None
        assert set(auth.failures) == {"sam", "ana", "nobody"}
        auth.failures["sam"] = [t - 3600 for t in auth.failures["sam"]]  # the window passes
        assert auth.check(accounts, "sam", "a long steward pass") == "steward"
        assert "sam" not in auth.failures  # a success forgets the old failures
    finally:
        accounts.close()


def test_first_run_token_exists_only_while_there_is_no_account(tmp_path: Path) -> None:
    token = first_run_token(tmp_path)
    assert token == tmp_path / FIRST_RUN_FILE and len(token.read_text().strip()) >= 24
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    first = token.read_text()
    assert first_run_token(tmp_path) == token and token.read_text() == first  # kept, not remade
    accounts = Accounts(tmp_path / "accounts.db")
    accounts.add("sam", "steward", "a long steward pass")
    accounts.close()
    assert first_run_token(tmp_path) is None and not token.exists()
