"""The views ship everything they load: vendored files match their recorded checksums, and no
page or script refers to anything outside the gateway (no CDN: a site may have no internet)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from gateway.web.app import PAGES, render

WEB = Path(__file__).resolve().parents[2] / "gateway" / "web"


def test_vendored_files_match_their_recorded_checksums() -> None:
    readme = (WEB / "static" / "vendor" / "README.md").read_text()
    recorded = dict(re.findall(r"`([\w.]+\.(?:js|css))` ([0-9a-f]{64})", readme))
    assert set(recorded) == {"uPlot.iife.min.js", "uPlot.min.css"}
    for name, digest in recorded.items():
        assert hashlib.sha256((WEB / "static" / "vendor" / "uplot" / name).read_bytes()
                              ).hexdigest() == digest, name


def test_pages_and_scripts_load_nothing_from_elsewhere() -> None:
    texts = {path: render(page) for path, page in PAGES.items()}
    texts |= {f.name: f.read_text() for f in [*WEB.glob("static/*.js"), *WEB.glob("static/*.css")]}
    assert len(texts) >= 18
    for name, text in texts.items():
        for ref in re.findall(r"""(?:src|href)=["']([^"']+)""", text) + \
                re.findall(r"""fetch\(\s*[`"']([^`"']+)""", text):
            assert ref.startswith(("/", "#")) and not ref.startswith("//"), (name, ref)
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and \
            "https://" not in text, name
    for path, page in PAGES.items():  # every page loads what exists, in order, once
        html = texts[path]
        scripts = re.findall(r'<script src="/([^"]+)"', html)
        assert scripts == ["static/common.js", *(f"static/{s}" for s in page.scripts)], path
        assert all((WEB / s).exists() for s in scripts), (path, scripts)
        assert html.count("<main>") == 1 and f"<title>{page.title}</title>" in html


def test_every_view_script_parses() -> None:
    """A syntax error in one script blanks its page without a word in any Python test."""
    import subprocess

    from eil.broker import find_binary

    for script in sorted((WEB / "static").glob("*.js")):
        done = subprocess.run([find_binary("node", "nodejs"), "--check", str(script)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{script.name}: {done.stderr}"
