"""Real receivers for the alert channels, on loopback, each keeping what it received:

- `SmtpReceiver`: aiosmtpd's SMTP server (Apprise's `mailto://...?mode=insecure` reaches it);
- `HttpReceiver`: a local HTTP server answering as ntfy (POST / with a JSON topic), Gotify
  (POST /message) and a JSON webhook do. Neither ntfy nor Gotify can be installed here (no
  Debian package, no PyPI server), so this stand-in checks what Apprise sends them; it can
  also refuse (401) or fail (503) on demand;
- `MqttReceiver`: Mosquitto itself (anonymous on loopback) and a paho subscriber.
"""

from __future__ import annotations

import email
import json
import subprocess
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from aiosmtpd.controller import Controller

from eil.broker import find_binary, free_port


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class SmtpReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.box = _Mailbox()
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def url(self, to: str = "ana@garden.example") -> str:
        return (f"mailto://127.0.0.1:{self.port}?mode=insecure&from=eil@garden.example"
                f"&to={to}")

    def bodies(self) -> list[tuple[str, str]]:
        """(subject, text) of each e-mail, in arrival order."""
        out = []
        for m in self.box.messages:
            part = next((p for p in m.walk() if p.get_content_type() == "text/plain"), m)
            payload = part.get_payload(decode=True)
            text = payload.decode() if isinstance(payload, bytes) else str(part.get_payload())
            out.append((str(m["Subject"]), text))
        return out


class HttpReceiver:
    """Keeps (path, JSON body) of each POST; `mode` 'ok', 'refuse' (401) or 'down' (503)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.arrived: list[float] = []  # time.time() of each kept message
        self.mode = "ok"
        self.delay = 0.0  # seconds between keeping a message and answering (a slow service)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = {"ok": 200, "refuse": 401, "down": 503}[outer.mode]
                if code == 200:
                    try:
                        got = json.loads(body or b"{}")
                    except ValueError:  # ntfy's plain-text form: the title in a header
                        got = {"topic": urlparse(self.path).path.strip("/"),
                               "title": self.headers.get("X-Title"),
                               "message": body.decode()}
                    with outer.lock:
                        outer.received.append((self.path, got))
                        outer.arrived.append(time.time())
                    time.sleep(outer.delay)
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"id": 1}' if code == 200 else b'{"error": "no"}')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender was killed mid-send: what the test is about

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> HttpReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [b for p, b in self.received if path is None or p.startswith(path)]


class MqttReceiver:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\n")
        self.received: list[tuple[str, str]] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def __enter__(self) -> MqttReceiver:
        self.proc = subprocess.Popen([find_binary("mosquitto"), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: (c.subscribe("eil/alerts/#", qos=1), ready.set())
        self.client.on_message = lambda _c, _u, m: self.received.append(
            (m.topic, m.payload.decode()))
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.connect("127.0.0.1", self.port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.client.loop_start()
        assert ready.wait(10), "the MQTT receiver did not connect"
        time.sleep(0.2)  # the subscription is in place
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.loop_stop()
        self.client.disconnect()
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)

    def url(self, topic: str = "eil/alerts/garden") -> str:
        return f"mqtt://127.0.0.1:{self.port}/{topic}"
