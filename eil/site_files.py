"""Config files for a whole local site (demo, tests, benchmarks), written from one place."""

from __future__ import annotations

from pathlib import Path

from eil.broker import BrokerSetup
from gateway.config import GATEWAY_USER


def gateway_toml(broker: BrokerSetup, data_dir: Path, http_port: int, extra: str = "", *,
                 clock: tuple[float, float, float] | None = None,
                 user: str = GATEWAY_USER) -> str:
    """`clock` = (speed, simulated start, real anchor): the site's simulated timeline, which
    the gateway's signals and views then follow too. `user`: the ingest worker's broker
    identity (eil.broker.gateway_users)."""
    return f"""site = "{broker.site}"
data_dir = "{data_dir}"
[broker]
host = "127.0.0.1"
port = {broker.port}
username = "{user}"
password_file = "{broker.secret_file(user)}"
[http]
host = "127.0.0.1"
port = {http_port}
{extra}""" + _clock(clock)


def node_toml(broker: BrokerSetup, node: str, data_dir: Path, sensors: str, *,
              clock: tuple[float, float, float] | None = None, publish: str = "") -> str:
    """`clock` = (speed, simulated start, real anchor); `sensors` = [[sensors]] blocks."""
    text = f"""site = "{broker.site}"
node = "{node}"
data_dir = "{data_dir}"
[broker]
host = "127.0.0.1"
port = {broker.port}
password_file = "{broker.secret_file(node)}"
"""
    text += _clock(clock)
    if publish:
        text += f"[publish]\n{publish}"
    return text + sensors


def _clock(clock: tuple[float, float, float] | None) -> str:
    return f"[clock]\nspeed = {clock[0]}\nstart = {clock[1]}\nanchor = {clock[2]}\n" if clock else ""
