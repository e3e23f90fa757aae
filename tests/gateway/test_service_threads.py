"""A gateway thread that fails ends the gateway (gateway/service.py): a process that looks
alive while its ingest thread is dead acknowledges nothing for any node, so the gateway stops,
says which thread failed and exits 1 (systemd's Restart=always starts it again)."""

from __future__ import annotations

import threading
import types

import pytest

from gateway.service import Gateway


def test_a_failing_thread_stops_the_gateway_and_names_itself(
        caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    gw = types.SimpleNamespace(failed=None)

    def broken() -> None:
        raise TypeError("unhashable type: 'list'")

    t = Gateway._thread(gw, "ingest", broken, stop)  # type: ignore[arg-type]
    t.start()
    t.join(10)
    assert stop.is_set() and gw.failed == "ingest"
    assert "the ingest thread failed: stopping the gateway" in caplog.text
    assert "unhashable type" in caplog.text  # with its traceback
    quiet = threading.Event()
    ok = types.SimpleNamespace(failed=None)
    t = Gateway._thread(ok, "cold", lambda: None, quiet)  # type: ignore[arg-type]
    t.start()
    t.join(10)
    assert not quiet.is_set() and ok.failed is None  # a thread that ends normally stops nothing
