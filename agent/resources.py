"""Where the bundled data folders live.

`prompts/`, `skills/` and `evals/` sit beside the `agent` package both in a source checkout and in an
installed wheel (they are packaged as namespace folders), so one rule finds them everywhere and the
product never needs `../shared`.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
PROMPTS_DIR = PACKAGE_ROOT / "prompts"
SKILLS_DIR = PACKAGE_ROOT / "skills"
EVALS_DIR = PACKAGE_ROOT / "evals"
DEFAULT_DEFINITION = PROMPTS_DIR / "django-integrator.md"
