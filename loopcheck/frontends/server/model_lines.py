"""The project model of the last save, read at the lines of the text being edited.

The server builds its model when a document is opened or saved, and checks each edit against it:
the model's holders and loop starts are at the lines of the text it was built from. An edit that
adds or removes lines above a finding would otherwise have the finding looked up at a line where
the model has something else (or nothing: no evidence, and a confined object's finding shown).
So the findings are looked up at the lines they had in that text, where their line is one the
edit left as it was, and come back at their lines now, with the evidence in the document moved
the same way. A finding on a line changed since (the model knows nothing of it) gets no evidence
and is not dropped; a project rule's finding on such a line waits for the next save.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TypeVar

from loopcheck.engine.diagnostics import Diagnostic, Evidence, Location
from loopcheck.engine.edits import split_lines, unchanged_ends
from loopcheck.project.reach import real_path

T = TypeVar("T")


def kept_lines(old: str, new: str) -> dict[int, int]:
    """The lines of ``old`` that ``new`` still has, unchanged: ``old``'s number → ``new``'s."""
    before, after = split_lines(old), split_lines(new)
    head, tail = unchanged_ends(before, after)
    kept = {n: n for n in range(1, head + 1)}
    kept.update({len(before) - n: len(after) - n for n in range(tail)})
    # Between the unchanged head and tail (usually a few lines), the lines the edits kept.
    middle = difflib.SequenceMatcher(None, before[head : len(before) - tail], after[head : len(after) - tail], False)
    for block in middle.get_matching_blocks():
        kept.update({head + block.a + n + 1: head + block.b + n + 1 for n in range(block.size)})
    return kept


Finish = Callable[[list[Diagnostic], str], "list[Diagnostic]"]


def finished_at_built_lines(
    finish: Finish, found: list[Diagnostic], path: str, text: str, built: str | None
) -> list[Diagnostic]:
    """``finish(found, path)`` (the model's evidence, confined objects' findings dropped, the
    project rules' findings added) for ``text``, by a model built from ``built`` (None: a model
    built without the document)."""
    if built is None or text == built:
        return finish(found, path)
    to_built = kept_lines(text, built)
    to_text = {line_built: line for line, line_built in to_built.items()}
    # A finding on a changed line is looked up at a line no text has (each its own, to find it again).
    unknown: dict[int, int] = {}
    looked_up = []
    for d in found:
        line = to_built.get(d.line)
        if line is None:
            line = -1 - len(unknown)
            unknown[line] = d.line
        looked_up.append(_moved(d, line))
    shown = []
    where = real_path(path)
    for d in finish(looked_up, path):
        line = unknown.get(d.line) if d.line < 0 else to_text.get(d.line)
        if line is None:  # a project rule's finding on a line changed since the save
            continue
        evidence = tuple(_evidence_moved(e, where, to_text) for e in d.evidence)
        shown.append(replace(_moved(d, line), evidence=evidence))
    return sorted(shown, key=Diagnostic.sort_key)


def _moved(d: Diagnostic, line: int) -> Diagnostic:
    return replace(d, line=line, end_line=d.end_line + line - d.line)


def _evidence_moved(evidence: Evidence, path: str, to_text: Mapping[int, int]) -> Evidence:
    def at(location: Location) -> Location:
        if real_path(location.path) != path or location.line not in to_text:
            return location
        return replace(location, line=to_text[location.line])

    return replace(evidence, location=at(evidence.location), steps=tuple(at(step) for step in evidence.steps))


def at_lines_now(numbered: Mapping[int, T], text: str, built: str | None) -> dict[int, T]:
    """``numbered`` (by the lines of ``built``, the text the model was built from) by the lines of
    ``text``; those on lines changed since left out."""
    if built is None or built == text:
        return dict(numbered)
    to_text = kept_lines(built, text)
    return {to_text[line]: value for line, value in numbered.items() if line in to_text}
