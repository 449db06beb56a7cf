"""`django-integrator agents [--agents-dir DIR]…`: every agent, command and skill found, with its source.

Namespaced names are the ones to type: `run --agent celery:django-integrator`, `/celery:setup`,
`Skill(celery:framework-integrations)`. Problems (a skill that breaks the spec, an unreadable command)
are listed as warnings, so a user sees why something is missing instead of a silent gap.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.plugins import Catalog


def add_agents_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--agents-dir",
        dest="agents_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="a Claude Code plugin folder (agents/, commands/, skills/, .claude-plugin/plugin.json); repeatable",
    )


def add_agents_parser(sub: argparse._SubParsersAction) -> None:
    agents = sub.add_parser("agents", help="list the agents, commands and skills found (ours and plugins')")
    add_agents_dir_argument(agents)


def list_agents(agents_dirs: list[str]) -> int:
    from agent.plugins import PluginError, build_catalog  # the catalog's imports only when listing

    try:
        catalog = build_catalog(agents_dirs)
    except PluginError as exc:
        print(f"django-integrator: {exc}.", file=sys.stderr)
        return 2
    print(render(catalog), end="")
    return 0


def render(catalog: Catalog) -> str:
    lines = ["Agents (run one with: django-integrator run PATH --agent NAME):"]
    lines += [f"  {a.name:<40} {a.path}  [{a.plugin}]" for a in catalog.agents]
    lines.append("Commands:")
    lines += [
        f"  /{name:<39} {c.path}  [{catalog.sources[f'/{name}']}]"
        for name, c in sorted(catalog.commands.items())
    ]
    lines.append("Skills:")
    lines += [
        f"  {name:<40} {s.path}  [{catalog.sources[f'Skill({name})']}]"
        for name, s in sorted(catalog.skills.items())
    ]
    if catalog.warnings:
        lines.append("Warnings:")
        lines += [f"  {w}" for w in catalog.warnings]
    return "\n".join(lines) + "\n"
