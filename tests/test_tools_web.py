"""WebFetch against a local HTTP server: live, then the on-disk cache, then a bundled reference, then the error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.tool_support import make_ctx
from tools import web
from tools.web_text import focus, html_to_text

PAGE = """<!DOCTYPE html><html><head><title>First steps with Django</title>
<style>body { color: red; }</style><script>var tracking = "SCRIPT-TEXT";</script></head>
<body><nav><a href="/">NAV-TEXT home</a></nav>
<div role="navigation">SIDEBAR-TEXT</div>
<h1>First steps with Django<a class="headerlink" href="#top">¶</a></h1>
<p>Celery   reads the <code>CELERY_</code>
namespace from   settings.</p>
<h2 id="using-celery-with-django">Using Celery with Django</h2>
<ul><li>Create <code>proj/celery.py</code></li><li>Load it in <code>__init__.py</code></li></ul>
<pre>app = Celery("proj")
app.config_from_object("django.conf:settings", namespace="CELERY")</pre>
</body></html>"""


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, str, bytes]]] = {}

    def do_GET(self) -> None:
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", body.decode())
            body = b""
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.routes = {
        "/docs/django.html": (200, "text/html; charset=utf-8", PAGE.encode()),
        "/old": (301, "text/plain", b"/docs/django.html"),
        "/image.png": (200, "image/png", b"\x89PNG"),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def references(tmp_path: Path) -> Path:
    root = tmp_path / "skills"
    folder = root / "celery" / "framework-integrations" / "references"
    folder.mkdir(parents=True)
    (folder / "first-steps.md").write_text(
        "---\ntitle: First steps\nurls:\n  - https://docs.example.org/en/stable/django/first-steps.html\n"
        "  - https://docs.example.org/en/stable/userguide/\n---\n\n# Our summary\n\nUse the CELERY_ namespace.\n"
    )
    (folder / "notes.md").write_text("# No frontmatter at all\n")
    return root


def test_live_then_cache_then_cache_when_the_site_is_down(
    startproject: Path, tmp_path: Path, server: str
) -> None:
    url = f"{server}/docs/django.html#using-celery-with-django"
    ctx = make_ctx(startproject, tmp_path, cache_dir=tmp_path / "cache")
    live = web.build(ctx, ()).invoke({"url": url})
    first_line, text = live.split("\n\n", 1)
    assert first_line.startswith(f"Fetched live from {url} on ")
    assert text.startswith("# First steps with Django\n\nCelery reads the `CELERY_` namespace from settings.")
    assert "## Using Celery with Django\n\n- Create `proj/celery.py`\n- Load it in `__init__.py`" in text
    assert '```\napp = Celery("proj")\napp.config_from_object(' in text
    for dropped in ("SCRIPT-TEXT", "NAV-TEXT", "SIDEBAR-TEXT", "color: red", "¶"):
        assert dropped not in text
    assert [(d.url, d.source) for d in ctx.ledger.docs] == [(url, "network")]
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1

    offline = make_ctx(startproject, tmp_path / "offline", cache_dir=tmp_path / "cache", allow_network=False)
    cached = web.build(offline, ()).invoke({"url": f"{server}/docs/django.html"})
    assert cached.startswith("From the on-disk cache (fetched ") and "network access is off" in cached
    assert cached.split("\n\n", 1)[1] == text
    assert offline.ledger.docs[0].source == "cache" and offline.ledger.docs[0].chars == len(text)

    _Handler.routes.pop("/docs/django.html")
    down = web.build(make_ctx(startproject, tmp_path / "down", cache_dir=tmp_path / "cache"), ()).invoke(
        {"url": url}
    )
    assert down.startswith("From the on-disk cache") and "HTTPStatusError" in down and "404" in down


def test_bundled_reference_when_offline(startproject: Path, tmp_path: Path, references: Path) -> None:
    ctx = make_ctx(startproject, tmp_path, cache_dir=tmp_path / "cache", allow_network=False)
    fetch = web.build(ctx, (references,))
    result = fetch.invoke({"url": "https://docs.example.org/en/stable/django/first-steps.html#anchor"})
    assert result.splitlines()[0] == (
        "No network (network access is off for this run): served the bundled reference "
        "skills/celery/framework-integrations/references/first-steps.md, our summary of that page."
    )
    assert result.endswith("# Our summary\n\nUse the CELERY_ namespace.")
    trailing = fetch.invoke({"url": "https://docs.example.org/en/stable/userguide"})
    assert "served the bundled reference" in trailing
    assert [d.source for d in ctx.ledger.docs] == ["bundled", "bundled"]


def test_error_names_the_url_and_the_failure(startproject: Path, tmp_path: Path, references: Path) -> None:
    ctx = make_ctx(startproject, tmp_path, cache_dir=tmp_path / "cache")
    fetch = web.build(ctx, (references,))
    result = fetch.invoke({"url": "http://127.0.0.1:9/nothing.html"})
    assert result.startswith("Error: could not get http://127.0.0.1:9/nothing.html: the live fetch failed: ")
    assert "ConnectError" in result and "no cached copy" in result and "no bundled reference" in result
    assert ctx.ledger.docs == []
    assert fetch.invoke({"url": "file:///etc/passwd"}).startswith(
        "Error: 'file:///etc/passwd' is not an http(s)"
    )


def test_redirects_followed_and_binary_refused(startproject: Path, tmp_path: Path, server: str) -> None:
    ctx = make_ctx(startproject, tmp_path, cache_dir=tmp_path / "cache")
    fetch = web.build(ctx, ())
    assert "## Using Celery with Django" in fetch.invoke({"url": f"{server}/old"})
    refused = fetch.invoke({"url": f"{server}/image.png"})
    assert refused.startswith("Error:") and "image/png, not text" in refused
    assert [d.source for d in ctx.ledger.docs] == ["network"]


def test_long_pages_put_the_anchor_and_prompt_sections_first() -> None:
    filler = "\n\n".join(f"## Topic {i}\n\n" + "lorem ipsum " * 40 for i in range(30))
    page = f"# Guide\n\nintro\n\n{filler}\n\n## Database transactions\n\nUse on_commit to dispatch.\n"
    text, note = focus(page, 1500, fragment="database-transactions", prompt="")
    assert text.startswith("## Database transactions") and "showing" in note and len(text) <= 1500
    page_with_hits = page.replace("## Topic 7\n\n", "## Topic 7\n\nworker worker worker ")
    text, _ = focus(page_with_hits, 1500, prompt="how to start the worker")
    assert text.startswith("## Topic 7")
    assert focus("short page", 1500, "x", "y") == ("short page", "")


def test_html_to_text_keeps_nested_lists_and_drops_nested_skips() -> None:
    html = "<ul><li>a<ul><li>b</li></ul></li></ul><nav><nav>x</nav>y</nav><p>after</p>"
    assert html_to_text(html) == "- a\n  - b\n\nafter"
