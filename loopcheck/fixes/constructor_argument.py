"""The library's own fix for a client several event loops share (the catalogue's
``argument-fix``), always unsafe: one keyword argument added to the constructor call, such as
``poolclass=NullPool`` for a SQLAlchemy async engine, so that the client keeps nothing from one
loop for the next. The object, every reference to it and every module importing it stay as they
are, which is why it comes before the per-loop rewrites wherever the catalogue has one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.data.catalogue import ArgumentFix, Client
from loopcheck.engine.diagnostics import Edit, FixProposal, NoFix, Safety
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.imports import ImportRequest

if TYPE_CHECKING:
    from loopcheck.engine.context import LintContext

# The constructor's keyword for the URL, where it is not the first positional argument.
URL_KEYWORD = "url"


def argument_fix(context: LintContext, creation: cst.BaseExpression, client: Client) -> FixProposal | NoFix | None:
    """The fix adding the client's ``argument-fix`` to ``creation``; NoFix with the reason where
    the call rules it out; None where the catalogue has no such fix for the client."""
    fix = client.argument_fix
    if fix is None or not isinstance(creation, cst.Call):
        return None
    declined = _declined(context, creation, fix)
    if declined is not None:
        return declined
    spelling = _spelling(context, fix, client)
    if spelling is None:
        name = fix.value.rpartition(".")[2]
        return NoFix(f"`{name}` names something else in this module, so `{fix.argument}={name}` cannot be added")
    text, request = spelling

    def build() -> tuple[Edit, ...]:
        builder = FixBuilder(context)
        builder.change(creation, lambda updated: with_keyword(updated, fix.argument, text))
        if request is not None:
            builder.imports.append(request)
        return builder.build()

    return FixProposal(Safety.UNSAFE, f"Add `{fix.argument}={text}`: {fix.title}", build)


def _declined(context: LintContext, call: cst.Call, fix: ArgumentFix) -> NoFix | None:
    """Why ``fix`` must not be added to ``call``: an argument that already configures what it
    replaces, arguments unpacked from a mapping (which may), or a URL it is wrong for."""
    module = context.module
    for arg in call.args:
        if arg.star == "**":
            return NoFix(f"its keyword arguments come from `**{module.code_for_node(arg.value)}`, which may set `{fix.argument}`")
        if arg.keyword is not None and arg.keyword.value in fix.declined_by:
            written = f"{arg.keyword.value}={module.code_for_node(arg.value)}"
            added = f"{fix.argument}={fix.value.rpartition('.')[2]}"
            return NoFix(f"it is made with `{written}`, which configures what `{added}` would replace")
    url = _literal_url(call)
    if url is not None and url.startswith(tuple(fix.declined_urls)):
        return NoFix(fix.url_why)
    return None


def _literal_url(call: cst.Call) -> str | None:
    """The start of the URL ``call`` passes (first positional argument, or ``url=``), where it
    is written as a string literal; None otherwise."""
    for position, arg in enumerate(call.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        if (keyword is None and position == 0 and not arg.star) or keyword == URL_KEYWORD:
            value = arg.value
            if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                evaluated = value.evaluated_value
                return evaluated if isinstance(evaluated, str) else None
            if isinstance(value, cst.FormattedString) and value.parts:
                first = value.parts[0]
                return first.value if isinstance(first, cst.FormattedStringText) else None
    return None


def _spelling(context: LintContext, fix: ArgumentFix, client: Client) -> tuple[str, ImportRequest | None] | None:
    """How the fix names its value: through an import the module has of it under any of the
    names the catalogue knows it by, else ``from module import Name`` (None: that name is
    taken, or a star import may rebind it)."""
    analysis = context.analysis
    bindings = analysis.bindings
    known = {value for c in client.confined_by if c.argument == fix.argument for value in c.values}
    for qualified in sorted(known):
        local = analysis.imports.objects.get(qualified)
        if local is not None and bindings.only_imports_of(local, qualified):
            return local, None
    module, _, name = fix.value.rpartition(".")
    if bindings.star_imports or bindings.taken(name) or name in context.naming.names_given:
        return None
    return name, ImportRequest(module, name)


def with_keyword(call: cst.CSTNode, keyword: str, value: str) -> cst.CSTNode:
    """``call`` with ``keyword=value`` after its arguments, laid out as they are: after the
    separator the arguments have (a line break where they are one a line), and with the trailing
    comma and what stood before the closing parenthesis that the last argument had."""
    assert isinstance(call, cst.Call)
    added = cst.Arg(
        value=cst.parse_expression(value),
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )
    args = list(call.args)
    if not args:
        return call.with_changes(args=[added])
    last = args[-1]
    if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
        separator = args[-2].comma
    elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        separator = cst.Comma(whitespace_after=call.whitespace_before_args)
    else:
        separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    added = added.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)
    args[-1] = last.with_changes(comma=separator, whitespace_after_arg=cst.SimpleWhitespace(""))
    return call.with_changes(args=[*args, added])
