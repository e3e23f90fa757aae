"""A real Matrix homeserver for the alert tests: matrix-synapse from PyPI in its own virtualenv
(cached outside the repo, keyed by version), SQLite, on loopback, with a user registered
through Synapse's shared-secret admin API. Messages are read back from the room over the
client-server API."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from eil.broker import free_port
from tests.support.deploy import CACHE, _build_once

VERSION = "1.163.2"
SECRET = "eil-tests-shared-secret"


def venv() -> Path:
    def build(target: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        subprocess.run([str(target / "bin" / "pip"), "install", "-q",
                        f"matrix-synapse=={VERSION}"], check=True, timeout=1800)
    return _build_once(CACHE / f"synapse-{VERSION}", build)


_CONFIG = """server_name: "localhost"
pid_file: {dir}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {dir}/homeserver.db
media_store_path: {dir}/media
signing_key_path: {dir}/signing.key
registration_shared_secret: "{secret}"
macaroon_secret_key: "eil-tests-macaroon"
form_secret: "eil-tests-form"
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
rc_room_creation: {{per_second: 1000, burst_count: 1000}}
"""


class Homeserver:
    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Homeserver:
        root = venv()
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "homeserver.yaml"
        conf.write_text(_CONFIG.format(dir=self.dir, port=self.port, secret=SECRET))
        python = str(root / "bin" / "python")
        subprocess.run([python, "-m", "synapse.app.homeserver", "-c", str(conf),
                        "--generate-keys"], check=True, capture_output=True, timeout=120)
        self.log = (self.dir / "synapse.log").open("wb")
        self.proc = subprocess.Popen([python, "-m", "synapse.app.homeserver", "-c", str(conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                self._call("GET", "/_matrix/client/versions")
                return self
            except (urllib.error.URLError, ConnectionError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("synapse did not start: " +
                                       (self.dir / "synapse.log").read_text()[-2000:]) from None
                time.sleep(0.3)

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              token: str | None = None) -> dict[str, Any]:
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **(
                                         {"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(req, timeout=30) as r:
            return dict(json.loads(r.read() or b"{}"))

    def register(self, user: str, password: str) -> None:
        nonce = self._call("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"notadmin"]))
        self._call("POST", "/_synapse/admin/v1/register", {
            "nonce": nonce, "username": user, "password": password, "admin": False,
            "mac": mac.hexdigest()})

    def room_messages(self, user: str, password: str, alias: str) -> list[str]:
        """The text of every m.room.message in the room `alias` (#name:localhost), oldest
        first, as `user` reads them."""
        token = self._call("POST", "/_matrix/client/v3/login", {
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": password})["access_token"]
        room = self._call("GET", "/_matrix/client/v3/directory/room/" +
                          urllib.parse.quote(alias), token=token)["room_id"]
        events = self._call("GET", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/"
                            "messages?dir=b&limit=500", token=token)["chunk"]
        return [e["content"].get("body", "") for e in reversed(events)
                if e["type"] == "m.room.message"]
