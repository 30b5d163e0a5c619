"""Code actions: for each finding with a fix, a ``quickfix`` applying it (its title says
"(unsafe)" when ``--fix`` needs ``--unsafe-fixes`` for it); for each finding, "Disable LCKxxx for
this line"; for the document, ``source.fixAll.loopcheck`` applying the safe fixes as ``--fix``
does. An action is listed with what it needs to find its finding again (``data``) and gets its
edit when the client resolves it (at once for clients that cannot resolve edits)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from loopcheck.engine.diagnostics import Edit, Safety
from loopcheck.frontends.server import folders
from loopcheck.frontends.server.diagnostics import SOURCE
from loopcheck.frontends.server.noqa import noqa_edit
from loopcheck.frontends.server.positions import Lines

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"


def _wanted(kind: str, only: list[str] | None) -> bool:
    """Whether the client asked for ``kind`` (``only`` lists kinds and their parents)."""
    return only is None or any(kind == asked or kind.startswith(f"{asked}.") for asked in only)


def listed(uri: str, version: int | None, context: types.CodeActionContext) -> list[types.CodeAction]:
    """The actions for the loopcheck diagnostics the client sent in ``context``, and fix-all
    when one of them has a safe fix."""
    only = [str(kind) for kind in context.only] if context.only else None
    actions = []
    safe_fix = False
    for diagnostic in context.diagnostics:
        if diagnostic.source != SOURCE or not isinstance(diagnostic.data, dict):
            continue
        code = str(diagnostic.code)
        where = {"uri": uri, "version": version, "code": code, "line": diagnostic.data.get("line"), "column": diagnostic.data.get("column")}
        fix = diagnostic.data.get("fix")
        if fix and _wanted(types.CodeActionKind.QuickFix, only):
            unsafe = fix.get("safety") == Safety.UNSAFE.value
            title = f"{fix.get('title')} (unsafe)" if unsafe else str(fix.get("title"))
            actions.append(_action(title, types.CodeActionKind.QuickFix, [diagnostic], {**where, "action": "fix"}))
        safe_fix = safe_fix or bool(fix and fix.get("safety") == Safety.SAFE.value)
        if _wanted(types.CodeActionKind.QuickFix, only):
            actions.append(_action(f"Disable {code} for this line", types.CodeActionKind.QuickFix, [diagnostic], {**where, "action": "noqa"}))
    if safe_fix and _wanted(FIX_ALL, only):
        actions.append(fix_all_action(uri, version))
    return actions


def _action(title: str, kind: str, diagnostics: list[types.Diagnostic] | None, data: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind, diagnostics=diagnostics, data=data)


def fix_all_action(uri: str, version: int | None) -> types.CodeAction:
    """Fix-all asked for by kind alone (on save, or a command), whatever the cursor is on."""
    return _action("Fix all loopcheck findings (safe fixes)", FIX_ALL, None, {"uri": uri, "version": version, "action": "fix-all"})


def resolve(action: types.CodeAction, folder: folders.Folder, path: str, text: str, version: int | None, encoding: str) -> types.CodeAction:
    """``action`` with its edit, computed on the document's current ``text``; without one when
    its finding is gone or its fix no longer applies."""
    data = action.data if isinstance(action.data, dict) else {}
    kind = data.get("action")
    edits: tuple[Edit, ...] | None = None
    if kind == "fix":
        edits = folders.fix_edits(folder, path, text, data["code"], data["line"], data["column"])
    elif kind == "noqa":
        edit = noqa_edit(text, data["line"], data["code"])
        edits = (edit,) if edit is not None else ()
    elif kind == "fix-all":
        fixed = folders.fix_all(folder, path, text)
        edits = (Edit(0, len(text), fixed),) if fixed != text else ()
    if edits:
        lines = Lines(text, encoding)
        action.edit = types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=data["uri"], version=version),
                    edits=[types.TextEdit(lines.range(e.start, e.end), e.content) for e in edits],
                )
            ]
        )
    return action
