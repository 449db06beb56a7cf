"""WebFetch: read a documentation page, live when possible, else from the cache, else our bundled summary.

The agent is told to consult the Celery and Django docs; it must still work offline and in CI. So a page
comes from, in order: the live site (when the run allows network), the on-disk cache of an earlier fetch,
or a bundled reference (`skills/**/references/*.md` whose frontmatter lists the URL under `urls:`). The
first line of the result always says which, and the ledger records it for checklist item 1.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import httpx
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from agent.resources import SKILLS_DIR
from tools.base import ToolError, make_tool
from tools.context import DocRecord, DocSource, ToolContext
from tools.journal import state_home
from tools.skills import parse_frontmatter
from tools.web_text import focus, html_to_text

FETCH_TIMEOUT = 20.0
USER_AGENT = "django-integrator/0.1 (documentation fetch)"


class WebFetchArgs(BaseModel):
    url: str = Field(description="http(s) URL of the page; a #fragment focuses on that section.")
    prompt: str | None = Field(
        default=None,
        description="What you are looking for; on a long page the sections using its words come first.",
    )


@dataclass
class Page:
    text: str
    source: DocSource
    origin: str  # the first line of the result: where the text came from


def normalize_url(url: str) -> str:
    """The identity of a page: no fragment, no trailing slash (both name the same document)."""
    return urldefrag(url).url.rstrip("/")


def bundled_references(roots: Sequence[Path]) -> dict[str, Path]:
    """Map each URL a bundled reference stands in for to that reference file."""
    found: dict[str, Path] = {}
    for root in roots:
        for path in sorted(Path(root).glob("**/references/*.md")):
            stat = path.stat()
            for url in reference_urls(path, stat.st_mtime_ns, stat.st_size):
                found.setdefault(url, path)
    return found


@functools.lru_cache(maxsize=512)
def reference_urls(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """The URLs a reference's frontmatter lists, read once per version of the file (every WebFetch asks)."""
    data = parse_frontmatter(path.read_text(encoding="utf-8"))[0] or {}
    urls = data.get("urls") or []
    return tuple(normalize_url(str(url)) for url in ([urls] if isinstance(urls, str) else urls))


class PageCache:
    """Converted page text on disk, one JSON file per URL (without fragment)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def get(self, key: str) -> tuple[str, str] | None:
        """(text, fetched_at) or None."""
        try:
            data = json.loads(self._file(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data["text"], data["fetched_at"]

    def put(self, key: str, text: str, fetched_at: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"url": key, "fetched_at": fetched_at, "text": text}, handle)
        os.replace(tmp, self._file(key))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once: loading the CA bundle cost 25 ms of CPU on every fetch."""
    return httpx.create_ssl_context()


def fetch_live(url: str) -> str:
    """GET the page and return its readable text; raises httpx.HTTPError or ValueError on failure."""
    response = httpx.get(
        url,
        timeout=FETCH_TIMEOUT,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
        verify=tls_context(),
    )
    response.raise_for_status()
    content_type = response.headers.get("content-type", "").lower()
    if "html" in content_type:
        return html_to_text(response.text)
    if content_type.startswith("text/") or "json" in content_type or "xml" in content_type:
        return response.text
    raise ValueError(f"the page is {content_type or 'of unknown type'}, not text")


def build(ctx: ToolContext, reference_roots: Sequence[Path] = (SKILLS_DIR,)) -> StructuredTool:
    cache = PageCache(ctx.cache_dir or state_home() / "webcache")

    def find_page(url: str) -> Page:
        key = urldefrag(url).url
        failure = "network access is off for this run"
        if ctx.allow_network:
            try:
                text = fetch_live(key)
            except (httpx.HTTPError, ValueError) as exc:
                failure = f"the live fetch failed: {type(exc).__name__}: {exc}"
            else:
                now = datetime.now(UTC).isoformat(timespec="seconds")
                cache.put(key, text, now)
                return Page(text, "network", f"Fetched live from {url} on {now}.")
        cached = cache.get(key)
        if cached is not None:
            text, fetched_at = cached
            return Page(text, "cache", f"From the on-disk cache (fetched {fetched_at}); {failure}.")
        reference = bundled_references(reference_roots).get(normalize_url(url))
        if reference is not None:
            body = parse_frontmatter(reference.read_text(encoding="utf-8"))[1].strip()
            shown = _display(reference, reference_roots)
            origin = (
                f"No network ({failure}): served the bundled reference {shown}, our summary of that page."
            )
            return Page(body, "bundled", origin)
        raise ToolError(
            f"could not get {url}: {failure}, there is no cached copy, and no bundled reference lists this "
            "URL. Continue with what the skill references say, or try another documentation URL."
        )

    def web_fetch(url: str, prompt: str | None = None) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ToolError(
                f"{url!r} is not an http(s) URL. Give a full URL such as https://docs.celeryq.dev/..."
            )
        page = find_page(url)
        ctx.ledger.docs.append(DocRecord(url=url, source=page.source, chars=len(page.text)))
        body_limit = max(1000, ctx.output_limit - len(page.origin) - 400)
        text, note = focus(page.text, body_limit, parts.fragment, prompt or "")
        return "\n".join(line for line in (page.origin, note) if line) + "\n\n" + text

    return make_tool(
        "WebFetch",
        WebFetchArgs,
        web_fetch,
        "Fetch a documentation page (http/https) and return it as readable text with markdown headings and "
        "code blocks. Works offline: falls back to a cached copy or to our bundled summary of the page; the "
        "first line says which. On a long page, a #fragment and the prompt choose which sections come first.",
    )


def _display(path: Path, roots: Sequence[Path]) -> str:
    for root in roots:
        if Path(root) in path.parents:
            return path.relative_to(Path(root).parent).as_posix()
    return str(path)
