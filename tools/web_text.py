"""Turn a documentation page's HTML into compact markdown-ish text a model can read.

Only the stdlib parser: headings become `#` lines, `<pre>` becomes a fenced block, list items become `- `
lines, and navigation, scripts, styles and Sphinx's `¶` header links are dropped. Whitespace outside code
is collapsed, so a docs page shrinks to its prose and examples.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

DROPPED_TAGS = frozenset({"script", "style", "nav", "noscript", "template", "svg", "iframe"})
BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "table", "tr", "ul", "ol",
        "dl", "dt", "dd", "blockquote", "br", "hr", "figure", "figcaption", "form", "body",
    }
)  # fmt: skip
HEADINGS = {f"h{level}": level for level in range(1, 7)}


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (kind, text): kind is "text", "item" or "code"
        self.title = ""
        self._inline: list[str] = []
        self._prefix = ""
        self._kind = "text"
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._pre_depth = 0
        self._pre: list[str] = []
        self._list_depth = 0
        self._in_title = False

    # ----- skipping ---------------------------------------------------------------------------------
    def _starts_skip(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        return tag in DROPPED_TAGS or values.get("role") == "navigation" or "headerlink" in classes

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None:
            self._skip_depth += tag == self._skip_tag
            return
        if self._starts_skip(tag, attrs):
            self._skip_tag, self._skip_depth = tag, 1
            return
        if tag == "title":
            self._in_title = True
        elif tag == "pre":
            self._flush()
            self._pre_depth += 1
        elif self._pre_depth:
            return
        elif tag in HEADINGS:
            self._flush()
            self._prefix = "#" * HEADINGS[tag] + " "
        elif tag == "li":
            self._flush()
            self._prefix, self._kind = "  " * max(0, self._list_depth - 1) + "- ", "item"
        elif tag in ("ul", "ol"):
            self._flush()
            self._list_depth += 1
        elif tag in BLOCK_TAGS:
            self._flush()
        elif tag == "code":
            self._inline.append("`")
        elif tag in ("td", "th"):
            self._inline.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is None and not self._pre_depth and tag in BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            return
        if tag == "title":
            self._in_title = False
        elif tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
            if self._pre_depth == 0:
                code = "".join(self._pre).strip("\n")
                if code.strip():
                    self.blocks.append(("code", f"```\n{code}\n```"))
                self._pre = []
        elif self._pre_depth:
            return
        elif tag in ("ul", "ol"):
            self._flush()
            self._list_depth = max(0, self._list_depth - 1)
        elif tag in HEADINGS or tag == "li" or tag in BLOCK_TAGS:
            self._flush()
        elif tag == "code":
            self._inline.append("`")

    def handle_data(self, data: str) -> None:
        if self._skip_tag is not None:
            return
        if self._in_title:
            self.title += data
        elif self._pre_depth:
            self._pre.append(data)
        else:
            self._inline.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._inline).split())
        if text:
            self.blocks.append((self._kind, self._prefix + text))
        self._inline, self._prefix, self._kind = [], "", "text"


def html_to_text(html: str) -> str:
    """Readable text of an HTML page: its title as a heading, then its blocks."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    parser._flush()
    pieces: list[str] = []
    previous = ""
    title = " ".join(parser.title.split())
    if title and not any(kind == "text" and text.startswith("# ") for kind, text in parser.blocks[:3]):
        pieces.append(f"# {title}")
        previous = "text"
    for kind, text in parser.blocks:
        if pieces:
            pieces.append("\n" if kind == "item" and previous == "item" else "\n\n")
        pieces.append(text)
        previous = kind
    return "".join(pieces)


def slug(heading: str) -> str:
    """The anchor Sphinx and most doc tools give a heading: lowercase words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def sections(text: str) -> list[str]:
    """Split markdown-ish text at its headings (outside code fences); each section keeps its heading."""
    found: list[list[str]] = [[]]
    in_code = False
    for line in text.split("\n"):
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("#") and found[-1]:
            found.append([])
        found[-1].append(line)
    return ["\n".join(lines).strip("\n") for lines in found if "".join(lines).strip()]


def focus(text: str, limit: int, fragment: str = "", prompt: str = "") -> tuple[str, str]:
    """Fit a long page into `limit` characters, keeping what the anchor and the prompt ask for.

    Returns (text, note). A page that fits is returned whole and in order. Otherwise the section the URL's
    fragment names comes first, then sections ranked by how often they use the prompt's words.
    """
    if len(text) <= limit:
        return text, ""
    parts = sections(text)
    words = {w for w in re.findall(r"[a-z0-9_]{4,}", prompt.lower())}

    def score(index: int) -> tuple[int, int, int]:
        part = parts[index]
        heading = part.split("\n", 1)[0].lstrip("#").strip()
        anchored = 1 if fragment and slug(heading) == slug(fragment) else 0
        hits = sum(part.lower().count(word) for word in words)
        return (-anchored, -hits, index)

    chosen: list[str] = []
    used = 0
    for index in sorted(range(len(parts)), key=score):
        if used + len(parts[index]) > limit and chosen:
            continue
        chosen.append(parts[index][: limit - used])
        used += len(chosen[-1]) + 2
    note = (
        f"The page has {len(text)} characters; showing {len(chosen)} of its {len(parts)} sections, "
        "those matching the URL's #anchor and the prompt's words first."
    )
    return "\n\n".join(chosen), note
