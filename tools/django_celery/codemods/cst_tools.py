"""Small libcst building blocks shared by the codemods: reading names and strings, growing a list literal
without disturbing its layout, and placing new statements where a person would put them.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from tools.base import ToolError

SequenceLiteral = cst.List | cst.Tuple


def parse(text: str, rel: str) -> cst.Module:
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise ToolError(
            f"{rel} does not parse as Python (line {exc.raw_line}: {exc.message}); fix it first."
        ) from exc


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`os.environ.setdefault` for the matching Attribute chain, None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain (non f-) string literal, None for anything else."""
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def call_name(node: cst.BaseExpression) -> str | None:
    return dotted_name(node.func) if isinstance(node, cst.Call) else None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def positional(call: cst.Call, index: int) -> cst.Arg | None:
    plain = [a for a in call.args if a.keyword is None and not a.star]
    return plain[index] if index < len(plain) else None


def assigned_names(statement: cst.BaseSmallStatement) -> list[str]:
    """Names bound by `X = ...`, `X: T = ...` and `X += ...` (simple names only)."""
    if isinstance(statement, cst.Assign):
        return [t.target.value for t in statement.targets if isinstance(t.target, cst.Name)]
    if isinstance(statement, cst.AnnAssign | cst.AugAssign) and isinstance(statement.target, cst.Name):
        return [statement.target.value]
    return []


def quote_style(sequence: SequenceLiteral) -> str:
    """The quote character most of the literal's strings use (double when there are none)."""
    quotes = [e.value.quote for e in sequence.elements if isinstance(e.value, cst.SimpleString)]
    singles = sum(1 for q in quotes if q == "'")
    return "'" if singles > len(quotes) - singles else '"'


def string_literal(value: str, quote: str) -> cst.SimpleString:
    return cst.SimpleString(f"{quote}{value}{quote}")


# ----- growing a list / tuple literal ------------------------------------------------------------------
def _bare(ws: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """The same line break and indentation, without the comments that belong to a neighbour."""
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return ws


def _brackets(
    seq: SequenceLiteral,
) -> tuple[cst.BaseParenthesizableWhitespace, cst.BaseParenthesizableWhitespace]:
    if isinstance(seq, cst.List):
        return seq.lbracket.whitespace_after, seq.rbracket.whitespace_before
    if seq.lpar:
        return seq.lpar[0].whitespace_after, seq.rpar[-1].whitespace_before
    return cst.SimpleWhitespace(""), cst.SimpleWhitespace("")


def _with_closing(seq: SequenceLiteral, ws: cst.BaseParenthesizableWhitespace) -> SequenceLiteral:
    if isinstance(seq, cst.List):
        return seq.with_changes(rbracket=seq.rbracket.with_changes(whitespace_before=ws))
    if seq.rpar:
        rpar = [*seq.rpar[:-1], seq.rpar[-1].with_changes(whitespace_before=ws)]
        return seq.with_changes(rpar=rpar)
    return seq


def append_strings(seq: SequenceLiteral, values: Sequence[str]) -> SequenceLiteral:
    """`seq` with string `values` appended, laid out like its existing elements.

    One element a line stays one a line with the same indentation; a one-line literal stays on one line;
    a trailing comma is kept when there was one; a comment on the last element stays on that element and
    comment lines before the closing bracket stay after the last element.
    """
    if not values:
        return seq
    quote = quote_style(seq)
    new = [cst.Element(string_literal(v, quote)) for v in values]
    elements = list(seq.elements)
    opening, closing = _brackets(seq)
    if not elements:
        separator: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
        linked = [e.with_changes(comma=cst.Comma(whitespace_after=separator)) for e in new[:-1]]
        trailing = cst.Comma() if isinstance(seq, cst.Tuple) and len(new) == 1 else cst.MaybeSentinel.DEFAULT
        return seq.with_changes(elements=[*linked, new[-1].with_changes(comma=trailing)])
    if len(elements) >= 2 and isinstance(elements[-2].comma, cst.Comma):
        separator = _bare(elements[-2].comma.whitespace_after)
    elif isinstance(opening, cst.ParenthesizedWhitespace):
        separator = _bare(opening)
    else:
        separator = cst.SimpleWhitespace(" ")
    last = elements[-1]
    had_trailing_comma = isinstance(last.comma, cst.Comma)
    one_tuple = isinstance(seq, cst.Tuple) and len(elements) == 1
    keep_trailing = had_trailing_comma and not one_tuple
    if isinstance(closing, cst.ParenthesizedWhitespace):
        if not isinstance(separator, cst.ParenthesizedWhitespace):
            separator = closing.with_changes(
                first_line=cst.TrailingWhitespace(),
                empty_lines=[],
                last_line=cst.SimpleWhitespace(closing.last_line.value + "    "),
            )
        # the last element's own comment and the comment lines under it stay with it
        after_last = separator.with_changes(first_line=closing.first_line, empty_lines=closing.empty_lines)
        seq = _with_closing(seq, closing.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[]))
    else:
        after_last = separator
    before = last.comma.whitespace_before if isinstance(last.comma, cst.Comma) else cst.SimpleWhitespace("")
    elements[-1] = last.with_changes(comma=cst.Comma(whitespace_before=before, whitespace_after=after_last))
    linked = [e.with_changes(comma=cst.Comma(whitespace_after=separator)) for e in new[:-1]]
    final = new[-1].with_changes(comma=cst.Comma() if keep_trailing else cst.MaybeSentinel.DEFAULT)
    return seq.with_changes(elements=[*elements, *linked, final])


# ----- placing statements ------------------------------------------------------------------------------
def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _is_import(statement: cst.CSTNode, future: bool | None = None) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    small = statement.body[0]
    if not isinstance(small, cst.Import | cst.ImportFrom):
        return False
    if future is None:
        return True
    is_future = (
        isinstance(small, cst.ImportFrom) and dotted_name(small.module or cst.Name("_")) == "__future__"
    )
    return is_future == future


def head_end(module: cst.Module) -> int:
    """Index just after the docstring and `from __future__` imports."""
    index = 0
    body = module.body
    if body and _is_docstring(body[0]):
        index = 1
    while index < len(body) and _is_import(body[index], future=True):
        index += 1
    return index


def imports_end(module: cst.Module) -> int:
    """Index just after the leading block of imports (or after the docstring when there is none)."""
    index = head_end(module)
    while index < len(module.body) and _is_import(module.body[index]):
        index += 1
    return index


def has_import(module: cst.Module, name: str) -> bool:
    """True when a top-level `import name` (or `import name as name`) is present."""
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Import):
            for alias in statement.body[0].names:
                bound = alias.asname.name if alias.asname else alias.name
                if dotted_name(alias.name) == name and dotted_name(bound) == name:  # type: ignore[arg-type]
                    return True
    return False


def insert_statements(
    module: cst.Module, index: int, code: str, blank_before: bool = False, blank_after: bool = False
) -> cst.Module:
    """Insert the statements of `code` at body position `index`, with optional blank lines around them."""
    snippet = cst.parse_module(code)
    statements = list(snippet.body)
    first = statements[0]
    # a comment opening the snippet is parsed as the snippet's header: keep it above the first statement
    leading = [*([cst.EmptyLine()] if blank_before else []), *snippet.header, *first.leading_lines]
    statements[0] = first.with_changes(leading_lines=leading)
    body = list(module.body)
    if blank_after and index < len(body):
        following = body[index]
        if not following.leading_lines or following.leading_lines[0].comment is not None:
            body[index] = following.with_changes(leading_lines=[cst.EmptyLine(), *following.leading_lines])
    body[index:index] = statements
    return module.with_changes(body=body)


def ensure_import_os(module: cst.Module) -> cst.Module:
    """Add `import os` at the top of the import block unless the module already has it."""
    if has_import(module, "os"):
        return module
    start = head_end(module)
    has_block = start < len(module.body) and _is_import(module.body[start])
    if has_block:
        # take over the blank line / comment the first import had, so the block stays visually the same
        first = module.body[start]
        new = cst.parse_statement("import os\n").with_changes(leading_lines=first.leading_lines)
        body = list(module.body)
        body[start] = first.with_changes(leading_lines=[])
        body.insert(start, new)
        return module.with_changes(body=body)
    return insert_statements(module, start, "import os\n", blank_before=start > 0, blank_after=True)
