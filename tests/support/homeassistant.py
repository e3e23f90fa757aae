"""A real Home Assistant Core from PyPI for the discovery tests: its own virtualenv on pyenv's
Python 3.13 (cached outside the repo, keyed by version, rebuilt when missing or half-built),
a config directory made by the test with the MQTT integration already set up on the tests'
broker (a config entry in .storage, as Home Assistant's UI would store it) and a long-lived
access token for its REST API (an auth store entry and the JWT Home Assistant would sign)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eil.broker import free_port
from tests.support.deploy import CACHE

VERSION = "2025.4.4"  # the newest release that installs on pyenv's Python 3.13 here
PYTHON = Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python"
REQUIREMENTS = [f"homeassistant=={VERSION}", "paho-mqtt==2.1.0"]  # the MQTT integration's


def venv() -> Path:
    key = hashlib.sha256(" ".join(REQUIREMENTS).encode()).hexdigest()[:12]
    root = CACHE / f"homeassistant-{VERSION}-{key}"
    done = root / ".complete"
    if done.exists():
        return root
    if not PYTHON.exists():
        raise RuntimeError(f"{PYTHON} is missing: Home Assistant {VERSION} needs Python 3.13 "
                           "(pyenv install 3.13.0)")
    if root.exists():  # half-built: an earlier set-up was cut short
        subprocess.run(["rm", "-rf", str(root)], check=True)
    subprocess.run([str(PYTHON), "-m", "venv", str(root)], check=True)
    subprocess.run([str(root / "bin" / "pip"), "install", "-q", *REQUIREMENTS], check=True,
                   timeout=1800)
    done.write_text(" ".join(REQUIREMENTS))
    return root


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any], key: str) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


class HomeAssistant:
    def __init__(self, root: Path, broker_port: int, username: str, password: str) -> None:
        self.root, self.port = root, free_port()
        self.config = root / "config"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = self._write_config(broker_port, username, password)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _write_config(self, broker_port: int, username: str, password: str) -> str:
        storage = self.config / ".storage"
        storage.mkdir(parents=True, exist_ok=True)
        (self.config / "configuration.yaml").write_text(
            "homeassistant:\n  name: EIL test\n  unit_system: metric\n  time_zone: UTC\n"
            "  latitude: 50.85\n  longitude: 4.35\n  elevation: 10\n  currency: EUR\n"
            "  country: BE\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\n"
            "api:\nsensor:\nlogger:\n  default: warning\n  logs:\n"
            "    homeassistant.components.mqtt: info\n")
        now = datetime.now(UTC).isoformat()
        entry = {"entry_id": uuid.uuid4().hex, "version": 1, "minor_version": 2,
                 "domain": "mqtt", "title": "EIL broker", "source": "user",
                 "data": {"broker": "127.0.0.1", "port": broker_port, "username": username,
                          "password": password},
                 "options": {"discovery": True, "discovery_prefix": "homeassistant"},
                 "pref_disable_new_entities": False, "pref_disable_polling": False,
                 "unique_id": None, "disabled_by": None, "discovery_keys": {},
                 "subentries": [], "created_at": now, "modified_at": now}
        (storage / "core.config_entries").write_text(json.dumps(
            {"version": 1, "minor_version": 5, "key": "core.config_entries",
             "data": {"entries": [entry]}}))
        user, token_id, jwt_key = uuid.uuid4().hex, uuid.uuid4().hex, secrets.token_hex(64)
        (storage / "auth").write_text(json.dumps({"version": 1, "minor_version": 1, "key": "auth",
            "data": {
                "users": [{"id": user, "group_ids": ["system-admin"], "is_owner": True,
                           "is_active": True, "name": "eil-tests", "system_generated": False,
                           "local_only": False}],
                "groups": [{"id": "system-admin", "name": "Administrators"},
                           {"id": "system-users", "name": "Users"},
                           {"id": "system-read-only", "name": "Read Only"}],
                "credentials": [],
                "refresh_tokens": [{"id": token_id, "user_id": user, "client_id": None,
                                    "client_name": "eil-tests", "client_icon": None,
                                    "token_type": "long_lived_access_token",
                                    "created_at": now, "access_token_expiration": 315360000.0,
                                    "token": secrets.token_hex(64), "jwt_key": jwt_key,
                                    "last_used_at": None, "last_used_ip": None,
                                    "expire_at": None, "credential_id": None,
                                    "version": VERSION}]}}))
        (storage / "onboarding").write_text(json.dumps(
            {"version": 4, "minor_version": 1, "key": "onboarding",
             "data": {"done": ["user", "core_config", "analytics", "integration"]}}))
        issued = int(time.time()) - 60
        return _jwt({"iss": token_id, "iat": issued, "exp": issued + 315360000}, jwt_key)

    def start(self, timeout: float = 240.0) -> HomeAssistant:
        hass = venv() / "bin" / "hass"
        log = (self.root / "homeassistant.log").open("ab")
        # requirements of the integrations it loads are installed by Home Assistant itself
        # into its (cached) virtualenv at the first start, as on a real installation
        self.proc = subprocess.Popen([str(hass), "-c", str(self.config),
                                      "--log-no-color"], stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Home Assistant exited: {self.log()[-3000:]}")
            try:
                if self.get("/api/config")["state"] == "RUNNING":
                    return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(1)
        raise RuntimeError(f"Home Assistant did not start in {timeout} s: {self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def log(self) -> str:
        path = self.root / "homeassistant.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def get(self, path: str) -> Any:
        req = urllib.request.Request(self.url + path,
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in self.get("/api/states")}
