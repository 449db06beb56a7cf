"""Add django_celery_results / django_celery_beat to INSTALLED_APPS, whatever shape the list has.

Handled shapes: a list or tuple literal; a concatenation such as `DJANGO_APPS + THIRD_PARTY_APPS +
LOCAL_APPS` (the app goes into the third-party list, else into the last list of the concatenation);
a base definition extended with `+=` elsewhere (the base definition gets it). An app already listed
anywhere in the settings chain, also as an AppConfig path, is never added again.
"""

from __future__ import annotations

import libcst as cst

from tools.base import ToolError
from tools.django_celery.codemods.cst_tools import SequenceLiteral, append_strings
from tools.django_celery.codemods.settings_chain import Assignment, SettingsChain, project_chain
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts

THIRD_PARTY_MARKERS = ("THIRD_PARTY", "THIRDPARTY", "EXTERNAL", "VENDOR")


def _nearest(chain: SettingsChain, name: str) -> Assignment | None:
    """The definition that takes effect: the first file in load order that sets `name` (its last assignment),
    ignoring extensions (`X += [...]`, `X = X + [...]`) that build on an earlier value.
    """
    for settings_file in chain.files:
        plain = [
            a
            for a in settings_file.assignments
            if a.name == name and not a.augmented and not _refers_to(a.value, name)
        ]
        if plain:
            return plain[-1]
    return None


def _refers_to(value: cst.BaseExpression | None, name: str) -> bool:
    return value is not None and any(isinstance(o, cst.Name) and o.value == name for o in _operands(value))


def _operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return [*_operands(node.left), *_operands(node.right)]
    return [node]


def _target(
    chain: SettingsChain, facts: ProjectFacts, missing: list[str]
) -> tuple[Assignment, SequenceLiteral, str]:
    """The literal new apps go into, the assignment that holds it, and the list's name for the summary.

    INSTALLED_APPS built by code (a function call, a comprehension) has no literal to extend: the edit is
    refused, naming the apps to add and the choices that need none, rather than guessing at that code."""
    by_hand = (
        f"add {', '.join(repr(app) for app in missing)} to it yourself, or run with --backend redis or "
        "--backend none (and without --beat), which need no app, then run again"
    )
    definition = _nearest(chain, "INSTALLED_APPS")
    if definition is None or definition.value is None:
        raise ToolError(
            f"No INSTALLED_APPS assignment found in the settings ({', '.join(facts.settings_files)}); {by_hand}."
        )
    if isinstance(definition.value, cst.List | cst.Tuple):
        return definition, definition.value, "INSTALLED_APPS"
    candidates: list[tuple[Assignment, SequenceLiteral, str]] = []
    for operand in _operands(definition.value):
        if isinstance(operand, cst.List | cst.Tuple):
            candidates.append((definition, operand, "INSTALLED_APPS"))
        elif isinstance(operand, cst.Name):
            part = _nearest(chain, operand.value)
            if part is not None and isinstance(part.value, cst.List | cst.Tuple):
                candidates.append((part, part.value, operand.value))
    third_party = [c for c in candidates if any(m in c[2] for m in THIRD_PARTY_MARKERS)]
    if candidates:
        return (third_party or candidates)[-1]
    raise ToolError(
        f"{definition.where}: INSTALLED_APPS = {definition.code} is built by code, not a list, a tuple or a "
        f"concatenation of lists the integration can extend safely; {by_hand}."
    )


def ensure_installed_apps(edits: ProjectEdits, facts: ProjectFacts, apps: list[str]) -> list[str]:
    """Add the apps that are not listed yet; returns the ones added."""
    chain = project_chain(facts, edits.read)
    missing = [app for app in apps if chain.listing_of(app) is None and not _loaded(facts, app)]
    if not missing:
        edits.note(facts.installed_apps_file)
        return []
    assignment, literal, list_name = _target(chain, facts, missing)
    source = assignment.file
    module = source.module.deep_replace(literal, append_strings(literal, missing))
    edits.write(source.rel, module.code, f"{list_name} += {', '.join(missing)}")  # type: ignore[attr-defined]
    return missing


def _loaded(facts: ProjectFacts, app: str) -> bool:
    """Listed in INSTALLED_APPS as Django saw it at discovery (e.g. added by code we cannot read)."""
    return any(entry == app or entry.startswith(app + ".") for entry in facts.installed_apps)


def celery_apps(result_backend: str, beat: bool) -> list[str]:
    """The Django apps the choices need in INSTALLED_APPS.

    django-cache needs django_celery_results too: importing its cache backend imports the package's
    models, which Django refuses for an app that is not installed (measured: RuntimeError).
    """
    apps = ["django_celery_results"] if result_backend in ("django-db", "django-cache") else []
    return [*apps, "django_celery_beat"] if beat else apps
