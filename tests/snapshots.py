"""What the snapshot tests compare, rendered as text a reader can check line by line, and the
comparison itself: a mismatch fails with a unified diff of the expected and the actual text.

A fixture's ``.snap`` holds one block per finding, as Ruff's snapshots show them: the position,
code and message, the source lines around the finding with the span underlined, the fix's title
and safety (or ``no fix``), and the diff of that finding's fix applied alone to the fixture. Then
what ``--fix`` and ``--fix --unsafe-fixes`` do to the whole file: how many findings they fix,
which remain, and (for ``--fix``) the diff of the result; the result of ``--fix --unsafe-fixes``
is the ``.fixed`` file beside it, which the runtime tests run."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.edits import apply_edits, split_lines
from loopcheck.engine.engine import FixOutcome

UPDATE = os.environ.get("LOOPCHECK_UPDATE_SNAPSHOTS") == "1"
EXCERPT_CONTEXT = 2  # source lines shown before and after a finding
DIFF_CONTEXT = 2  # unchanged lines around each change of a fix's diff


def text_diff(expected: str, actual: str, expected_name: str = "expected", actual_name: str = "actual") -> str:
    return "".join(
        _ended(line)
        for line in difflib.unified_diff(
            split_lines(expected), split_lines(actual), expected_name, actual_name, n=DIFF_CONTEXT
        )
    )


def assert_same_text(expected: str, actual: str, what: str) -> None:
    """Fail with the diff from ``expected`` to ``actual`` when they differ."""
    if expected != actual:
        raise AssertionError(f"{what} differs (- expected, + actual):\n{text_diff(expected, actual)}")


def check_snapshot(path: Path, actual: str) -> None:
    """``actual`` must be the content of ``path``; LOOPCHECK_UPDATE_SNAPSHOTS=1 rewrites it."""
    if UPDATE:
        path.write_text(actual)
    assert path.is_file(), f"{path.name} is missing: run with LOOPCHECK_UPDATE_SNAPSHOTS=1"
    assert_same_text(path.read_text(), actual, f"{path.name} (LOOPCHECK_UPDATE_SNAPSHOTS=1 rewrites it)")


def _ended(line: str) -> str:
    """A diff line, ended: a last line without a line ending says so, as diff(1) does."""
    if line.endswith(("\n", "\r")):
        return line
    return f"{line}\n\\ No newline at end of file\n"


def change_diff(before: str, after: str) -> str:
    """The hunks turning ``before`` into ``after``, without file headers."""
    diff = difflib.unified_diff(split_lines(before), split_lines(after), n=DIFF_CONTEXT)
    return "".join(_ended(line) for number, line in enumerate(diff) if number >= 2)


def excerpt(d: Diagnostic, lines: list[str]) -> str:
    """The finding's lines and those around them, numbered, the span underlined with carets."""
    first = max(d.line - EXCERPT_CONTEXT, 1)
    last = min(d.end_line + EXCERPT_CONTEXT, len(lines))
    width = len(str(last))
    gutter = " " * width + " |"
    shown = [gutter]
    for number in range(first, last + 1):
        text = lines[number - 1].rstrip("\r\n")
        shown.append(f"{number:>{width}} | {text}".rstrip())
        if d.line <= number <= d.end_line:
            start = d.column - 1 if number == d.line else len(text) - len(text.lstrip())
            end = d.end_column - 1 if number == d.end_line else len(text)
            shown.append(f"{gutter} {' ' * start}{'^' * max(end - start, 1)}")
    shown.append(gutter)
    return "\n".join(shown) + "\n"


def finding_block(d: Diagnostic, source: str, lines: list[str]) -> str:
    """One finding as the snapshot shows it (``d`` with its fix's edits built)."""
    block = f"{d.path}:{d.line}:{d.column} {d.code} {d.message}\n{excerpt(d, lines)}"
    if d.fix is None:
        return block + "no fix\n"
    assert d.fix.edits is not None, "the snapshot needs the fix's edits"
    fixed_alone = apply_edits(source, d.fix.edits)
    return block + f"fix: {d.fix.description} ({d.fix.safety.value})\n" + change_diff(source, fixed_alone)


def fix_summary(outcome: FixOutcome) -> str:
    """How many findings the fixes resolved, and those left (positions in the fixed file)."""
    left = "".join(
        f"  {d.line}:{d.column} {d.code} ({f'{d.fix.safety.value} fix' if d.fix else 'no fix'})\n"
        for d in outcome.remaining
    )
    return f"{outcome.fixed} fixed, {len(outcome.remaining)} remaining\n{left}"


def render_snapshot(
    source: str, diagnostics: list[Diagnostic], safe_fixes: FixOutcome, all_fixes: FixOutcome
) -> str:
    """A fixture's ``.snap``: its findings (with their fixes' edits built), then what ``--fix``
    (``safe_fixes``) and ``--fix --unsafe-fixes`` (``all_fixes``) do to it."""
    lines = split_lines(source)
    blocks = [finding_block(d, source, lines) for d in diagnostics]
    blocks.append(f"--fix: {fix_summary(safe_fixes)}{change_diff(source, safe_fixes.source)}")
    blocks.append(f"--fix --unsafe-fixes: {fix_summary(all_fixes)}(the result is the .fixed file)\n")
    return "\n".join(blocks)
