"""TOML config helpers shared by node and gateway config: typed access with errors that name
the file, the dotted key and the reason; secrets read from files; the broker block."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError


@dataclass(frozen=True)
class BrokerConfig:
    host: str
    port: int
    username: str
    password: str | None  # None: the client certificate is the credential
    tls: bool
    ca_file: str | None
    cert_file: str | None = None  # a client certificate (a field node's, from `eil site`)
    key_file: str | None = None


class Table:
    """Typed access to one TOML table, raising ConfigError with file and dotted key."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.path}: {self.prefix}{key}: {reason}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "required key is missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def positive(self, key: str, default: float) -> float:
        value = float(self.get(key, (int, float), default))
        if value <= 0:
            raise self.fail(key, f"must be > 0, got {value}")
        return value

    def table(self, key: str) -> Table:
        return Table(self.path, self.get(key, dict, {}), f"{self.prefix}{key}.")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def read_secret(t: Table, key: str, file_key: str) -> str:
    """A secret given inline or (better) in a file readable only by the service."""
    if file_key in t.data:
        p = Path(t.get(file_key, str))
        try:
            return p.read_text().strip()
        except OSError as exc:
            raise t.fail(file_key, f"cannot read {p}: {exc.strerror}") from exc
    return t.get(key, str)


def parse_broker(t: Table, default_user: str) -> BrokerConfig:
    port = t.get("port", int, 1883)
    if not 0 < port < 65536:
        raise t.fail("port", f"not a TCP port: {port}")
    tls = t.get("tls", bool, False)
    cert, key = t.get("cert_file", str, None), t.get("key_file", str, None)
    if (cert is None) != (key is None):
        raise t.fail("cert_file" if cert is None else "key_file",
                     "a client certificate needs both cert_file and key_file")
    if cert is not None and not tls:
        raise t.fail("tls", "a client certificate (cert_file) is only sent over TLS: tls = true")
    for name in ("ca_file", "cert_file", "key_file"):  # fail at start, naming the file
        value = t.get(name, str, None)
        if value is not None and not os.access(value, os.R_OK):
            raise t.fail(name, f"cannot read {value}")
    has_password = "password" in t.data or "password_file" in t.data
    if cert is None and not has_password:
        raise t.fail("password_file", "required key is missing (or a client certificate: "
                                      "cert_file and key_file)")
    return BrokerConfig(host=t.get("host", str, "127.0.0.1"), port=port,
                        username=t.get("username", str, default_user),
                        password=read_secret(t, "password", "password_file") if has_password
                        else None,
                        tls=tls, ca_file=t.get("ca_file", str, None), cert_file=cert,
                        key_file=key)
