"""`eil grafana push` against a local HTTP server that checks every request as Grafana's HTTP
API for folders and dashboards defines it (docs/sinks.md says so: no Grafana server can be
installed here, so the push has not run against a real one)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dashboards.catalog import DASHBOARDS

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "glsa_test_token_0123456789"


class FakeGrafana(BaseHTTPRequestHandler):
    """Folders and dashboards as Grafana keeps them: /api/folders (GET by uid, POST), and
    /api/dashboards/uid/<uid> (GET), /api/dashboards/db (POST, create or overwrite)."""

    folders: dict[str, dict[str, Any]] = {}
    dashboards: dict[str, dict[str, Any]] = {}
    writes: list[str] = []
    problems: list[str] = []

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"message": "Unauthorized"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        if self.path.startswith("/api/folders/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.folders:
                return self._reply(200, self.folders[uid])
            return self._reply(404, {"message": "folder not found", "status": "not-found"})
        if self.path.startswith("/api/dashboards/uid/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.dashboards:
                return self._reply(200, self.dashboards[uid])
            return self._reply(404, {"message": "Dashboard not found"})
        self.problems.append(f"GET {self.path}: not a Grafana endpoint the push needs")
        self._reply(404, {"message": "Not found"})

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self.problems.append(f"POST {self.path} without a JSON content type")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.writes.append(self.path)
        if self.path == "/api/folders":
            if not isinstance(body.get("title"), str) or not body["title"]:
                return self._reply(400, {"message": "folder title cannot be empty"})
            uid = body.get("uid")
            if uid in self.folders:
                return self._reply(409, {"message": "a folder with the same uid already exists"})
            self.folders[uid] = {"id": len(self.folders) + 1, "uid": uid, "title": body["title"]}
            return self._reply(200, self.folders[uid])
        if self.path == "/api/dashboards/db":
            d = body.get("dashboard")
            if not isinstance(d, dict) or not d.get("title") or not d.get("uid"):
                return self._reply(400, {"message": "dashboard must have a title and a uid"})
            if body.get("folderUid") not in self.folders:
                return self._reply(400, {"message": "folder not found"})
            uid = d["uid"]
            old = self.dashboards.get(uid)
            if old is not None and not body.get("overwrite") and d.get("version") != \
                    old["dashboard"]["version"]:
                return self._reply(412, {"message": "The dashboard has been changed by someone "
                                         "else", "status": "version-mismatch"})
            version = 1 if old is None else old["dashboard"]["version"] + 1
            ident = len(self.dashboards) + 1 if old is None else old["dashboard"]["id"]
            self.dashboards[uid] = {"dashboard": {**d, "id": ident, "version": version},
                                    "meta": {"folderUid": body["folderUid"],
                                             "url": f"/d/{uid}/x"}}
            return self._reply(200, {"id": ident, "uid": uid, "url": f"/d/{uid}/x",
                                     "status": "success", "version": version})
        self.problems.append(f"POST {self.path}: not a Grafana endpoint the push needs")
        self._reply(404, {"message": "Not found"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def grafana() -> Any:
    FakeGrafana.folders, FakeGrafana.dashboards = {}, {}
    FakeGrafana.writes, FakeGrafana.problems = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGrafana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def push(url: str, token_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eil", "grafana", "push", "--url", url,
                           "--token-file", str(token_file)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_push_creates_then_changes_nothing_then_updates_only_what_differs(
        grafana: str, tmp_path: Path) -> None:
    token = tmp_path / "grafana.token"
    token.write_text(TOKEN + "\n")
    first = push(grafana, token)
    assert first.returncode == 0, first.stderr
    assert "folder EIL created; 5 dashboards created, 0 updated, 0 unchanged" in first.stdout
    assert set(FakeGrafana.dashboards) == {d.uid for d in DASHBOARDS}
    assert all(d["meta"]["folderUid"] == "eil" for d in FakeGrafana.dashboards.values())
    writes = len(FakeGrafana.writes)
    second = push(grafana, token)
    assert second.returncode == 0, second.stderr
    assert "0 dashboards created, 0 updated, 5 unchanged" in second.stdout
    assert len(FakeGrafana.writes) == writes  # the second push wrote nothing
    FakeGrafana.dashboards["eil-water"]["dashboard"]["title"] = "changed in the UI"
    third = push(grafana, token)
    assert "0 dashboards created, 1 updated, 4 unchanged" in third.stdout, third.stdout
    assert FakeGrafana.dashboards["eil-water"]["dashboard"]["title"] == "EIL · Water"
    assert FakeGrafana.dashboards["eil-water"]["dashboard"]["version"] == 2
    assert FakeGrafana.problems == []


def test_a_wrong_token_is_refused_with_grafanas_words(grafana: str, tmp_path: Path) -> None:
    token = tmp_path / "grafana.token"
    token.write_text("not-the-token")
    done = push(grafana, token)
    assert done.returncode != 0 and "refused" in done.stderr and "Unauthorized" in done.stderr
    assert FakeGrafana.dashboards == {}
    token.write_text("")
    assert "is empty" in push(grafana, token).stderr
