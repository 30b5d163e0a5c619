"""What a run does with each checked file's findings before they are reported, for a project
adopting loopcheck: write them to the baseline (``--write-baseline``), leave out those the
baseline holds (and drop its stale entries), or put a ``# noqa`` comment on their lines
(``--add-noqa``). Nothing here prints: the notes are handed to the caller."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from loopcheck.engine.cells import in_text
from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.files import SourceError
from loopcheck.reporters.text import place
from loopcheck.run.baseline import DEFAULT_NAME, Baseline
from loopcheck.run.noqa import add_noqa
from loopcheck.run.runner import FileResult, encode
from loopcheck.run.sources import read_source
from loopcheck.settings.config import Settings


def baseline_path(settings: Settings) -> Path:
    """The configured ``baseline``, else .loopcheck-baseline.json beside the configuration (in
    the working directory when there is none)."""
    return settings.baseline or settings.root / DEFAULT_NAME


@dataclass
class Adoption:
    baseline: Baseline
    settings: Settings
    enabled: frozenset[str]
    write_baseline: bool = False
    add_noqa: bool = False
    keep_file: bool = False  # never rewrite the baseline (--diff, standard input)
    noqa_added: int = 0
    noqa_files: int = 0
    notes: list[str] = field(default_factory=list)  # one line each: what could not be done

    def in_scope(self, path: str, code: str) -> bool:
        """Whether ``code`` applied to ``path`` in this run: the baseline's entries of other
        codes are neither matched nor dropped."""
        if code not in self.enabled:
            return False
        return not any(code.startswith(prefix) for prefix in self.settings.ignored_codes(path))

    def take(self, result: FileResult) -> list[Diagnostic]:
        """The findings of one checked file that are still to be reported."""
        found = result.diagnostics
        if self.write_baseline:
            text = self._text(result) if found else ""
            if text is None:
                self.notes.append(f"{result.path}: cannot read it again; its findings are not in the baseline")
                return found
            self.baseline.record(result.path, found, text, self.in_scope)
            return []
        if self.baseline.entries:  # without one, no file's findings are looked up
            found = self.baseline.filter(result.path, found, lambda: self._text(result), self.in_scope)
        if self.add_noqa and found:
            return self._add_noqa(result.path, found)
        return found

    def _text(self, result: FileResult) -> str | None:
        if result.source is not None:
            return result.source
        try:
            return read_source(result.path, self.settings.max_file_size).text
        except SourceError:
            return None

    def _add_noqa(self, path: str, found: list[Diagnostic]) -> list[Diagnostic]:
        try:
            source = read_source(path, self.settings.max_file_size)
            # A notebook's findings name their cells: the comments go on the joined text's lines.
            in_source = in_text(found, source.text)
            edit = add_noqa(source.text, in_source)
            if edit.text != source.text:
                from loopcheck.run.writing import write_file  # (--add-noqa only)

                write_file(path, encode(source, edit.text), source.identity, source.data)
        except SourceError as error:
            self.notes.append(f"{path}: {error}; no noqa comment added")
            return found
        self.noqa_added += edit.added
        self.noqa_files += edit.text != source.text
        as_found = {id(mapped): d for mapped, d in zip(in_source, found)}
        skipped = [(as_found[id(d)], reason) for d, reason in edit.skipped]
        for d, reason in skipped:
            self.notes.append(f"{place(d)}: no noqa comment added for {d.code}: {reason}")
        return [d for d, _ in skipped]

    def finish(self) -> None:
        """Write the baseline when it was asked for or lost stale entries; BaselineError."""
        if not self.keep_file:
            self.baseline.forget_missing_files()
        if self.write_baseline or (self.baseline.stale and not self.keep_file):
            self.baseline.save()

    def summary(self) -> str:
        """What the summary line adds (empty when nothing)."""
        if self.write_baseline:
            return f"Wrote {_plural(self.baseline.size(), 'finding')} to the baseline {_shown(self.baseline.path)}."
        parts = []
        if self.add_noqa:
            parts.append(f"Added {_plural(self.noqa_added, 'noqa code')} in {_plural(self.noqa_files, 'file')}.")
        if self.baseline.baselined:
            parts.append(f"{_plural(self.baseline.baselined, 'finding')} in the baseline not shown.")
        if self.baseline.stale:
            stale = _plural(self.baseline.stale, "stale baseline entry", "stale baseline entries")
            parts.append(f"Removed {stale}." if not self.keep_file else f"{stale} (kept: nothing is written here).")
        return " ".join(parts)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith(os.pardir) else relative


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else words or word + 's'}"

