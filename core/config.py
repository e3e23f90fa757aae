"""TOML config helpers shared by node and gateway config: typed access with errors that name
the file, the dotted key and the reason; secrets read from files; the broker block."""

from __future__ import annotations

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
    password: str
    tls: bool
    ca_file: str | None


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
    return BrokerConfig(host=t.get("host", str, "127.0.0.1"), port=port,
                        username=t.get("username", str, default_user),
                        password=read_secret(t, "password", "password_file"),
                        tls=t.get("tls", bool, False), ca_file=t.get("ca_file", str, None))


