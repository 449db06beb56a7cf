"""The code templates shipped beside the codemods (`templates/*.tmpl`, `string.Template` syntax)."""

from __future__ import annotations

from pathlib import Path
from string import Template

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def render(name: str, **values: str) -> str:
    return Template((TEMPLATES_DIR / name).read_text(encoding="utf-8")).substitute(values)
