"""How a generated test can create one row of a model: keyword arguments for `Model(...)` (then `save()`).

Read statically from the app's models.py (never imported). Only fields whose type is known and that the
database requires get a value; a model that inherits from anything but `models.Model`, is abstract, or
needs something the generator cannot invent (a foreign key, an unknown field type) gets None, and the
generated test then proves dispatch-after-commit without a row.
"""

from __future__ import annotations

import ast

STRING_FIELDS = {"CharField", "TextField", "SlugField", "EmailField", "URLField"}
NUMBER_FIELDS = {
    "IntegerField",
    "SmallIntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
    "FloatField",
    "DecimalField",
}
TIME_VALUES = {
    "DateTimeField": "timezone.now()",
    "DateField": "timezone.now().date()",
    "TimeField": "timezone.now().time()",
}
OTHER_VALUES = {"BooleanField": "True", "JSONField": "{}"}
NOT_SET_ON_CREATE = {"AutoField", "BigAutoField", "SmallAutoField", "ManyToManyField"}
OPTIONAL_FLAGS = ("null", "auto_now", "auto_now_add", "primary_key")
MODEL_BASES = {"models.Model", "Model"}
RELATIONS = {"ForeignKey", "OneToOneField"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _is_true(call: ast.Call, name: str) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords
    )


def _string_value(field_type: str, call: ast.Call) -> str:
    if field_type == "EmailField":
        return '"user@example.com"'
    if field_type == "URLField":
        return '"https://example.com"'
    max_length = next((k.value for k in call.keywords if k.arg == "max_length"), None)
    short = (
        isinstance(max_length, ast.Constant) and isinstance(max_length.value, int) and max_length.value < 7
    )
    return '"x"' if short else '"example"'


def _value(field_type: str, call: ast.Call) -> str | None:
    """Python source for a valid value of the field, None when the generator cannot make one."""
    if field_type in STRING_FIELDS:
        return _string_value(field_type, call)
    if field_type in NUMBER_FIELDS:
        return "1"
    return TIME_VALUES.get(field_type) or OTHER_VALUES.get(field_type)


def _is_abstract(model: ast.ClassDef) -> bool:
    for statement in model.body:
        if isinstance(statement, ast.ClassDef) and statement.name == "Meta":
            for assign in statement.body:
                if (
                    isinstance(assign, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "abstract" for t in assign.targets)
                    and isinstance(assign.value, ast.Constant)
                    and assign.value.value is True
                ):
                    return True
    return False


def creation_arguments(models_source: str | None, model: str) -> dict[str, str] | None:
    """`{field: python source}` that creates a row of `model`, or None when that cannot be known."""
    try:
        tree = ast.parse(models_source or "")
    except SyntaxError:
        return None
    found = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == model), None)
    if found is None or _is_abstract(found) or not all(_dotted(b) in MODEL_BASES for b in found.bases):
        return None
    arguments: dict[str, str] = {}
    for statement in found.body:
        if not (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)):
            continue
        targets = [t.id for t in statement.targets if isinstance(t, ast.Name)]
        field_type = _dotted(statement.value.func).rpartition(".")[2]
        is_field = field_type.endswith("Field") or field_type in RELATIONS
        if not targets or not is_field:
            continue
        call = statement.value
        has_default = any(k.arg == "default" for k in call.keywords)
        if field_type in NOT_SET_ON_CREATE or has_default or any(_is_true(call, f) for f in OPTIONAL_FLAGS):
            continue
        value = _value(field_type, call)
        if value is None:
            return None
        arguments[targets[0]] = value
    return arguments
