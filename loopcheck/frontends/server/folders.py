"""What the server knows of one workspace folder, and checking and fixing a document's text
there, as the command line does it.

A folder's settings come from its pyproject.toml (or the other files the command line reads) as
for ``loopcheck <folder>``; its project model is the one the command line builds for standard
input (``run/project.py``), from the folder's open documents, their unsaved text included, and
the rest of the projects they belong to. The model is rebuilt when a document is saved or opened
(not on every keystroke: an edit is checked file by file against the model of the last save, so
the evidence of a finding is that of the saved code), and the whole folder when its
configuration changes; an edited document's findings are read in the model at the lines they
had in the text it was built from (``model_lines``). An edit of comments and blank lines only
keeps the last check's findings, moved with their lines (``recheck``); an edit of code is checked
in full, from a module in which LibCST parsed only the top-level statements the edit touched
(``engine.reparse``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from loopcheck.engine import pipeline
from loopcheck.engine.diagnostics import Diagnostic, Edit, Proven
from loopcheck.engine.edits import apply_edits
from loopcheck.engine.registry import rule_index
from loopcheck.engine.reparse import Reparse
from loopcheck.engine.syntax import check_syntax
from loopcheck.files import SourceError
from loopcheck.frontends.server import recheck
from loopcheck.frontends.server.model_lines import at_lines_now, finished_at_built_lines
from loopcheck.project.reach import real_path
from loopcheck.run.cache import default_directory
from loopcheck.run.project import ProjectView, project_view
from loopcheck.run.runner import Checker, Job, Mode
from loopcheck.run.sources import too_large
from loopcheck.settings.config import Settings, load_settings
from loopcheck.settings.selection import select_rules


@dataclass
class Folder:
    """One workspace folder: its settings, the linters for its files and its project model."""

    root: str
    settings: Settings
    checker: Checker
    view: ProjectView = field(default_factory=ProjectView)
    # The documents the view was built from, with their text then, by absolute path (a document
    # opened since needs it built again; an edited one is read at the lines it had).
    built_from: Mapping[str, str] = field(default_factory=dict)
    # Each open document's last check (by absolute path), before the model's evidence.
    checked: dict[str, recheck.Checked] = field(default_factory=dict)
    # The LibCST module of each open document's last check, which an edit's check parses from.
    reparse: Reparse = field(default_factory=Reparse)

    @property
    def enabled(self) -> tuple[str, ...]:
        return self.checker.job.enabled


def open_folder(root: str) -> Folder:
    """The folder at ``root`` with its configuration read; ConfigError or SelectionError when
    the configuration is wrong (the command line's messages)."""
    rules = rule_index()
    settings = load_settings([root], None, rules)
    enabled = select_rules(rules, settings.select, list(settings.ignore), list(settings.extend_select))
    job = Job(
        settings,
        tuple(rule.code for rule in enabled),
        Mode(),
        None,  # findings of unsaved text are never cached
        model_cache_dir=str(default_directory(settings.root)),
    )
    return Folder(root, settings, Checker(job))


def rebuild_model(folder: Folder, texts: Mapping[str, str], notify: Callable[[str], None]) -> None:
    """The folder's project model from its open documents (``texts``, by absolute path)."""
    folder.built_from = dict(texts)
    folder.view = project_view(
        sorted(texts),
        folder.settings,
        folder.checker.catalogue,
        folder.enabled,
        folder.checker.job.model_cache_dir,
        notify,
        texts=texts,
    )


def knows(folder: Folder, path: str) -> bool:
    """Whether the folder's model was built with ``path`` among its documents."""
    return os.path.abspath(path) in folder.built_from


def _checkable(folder: Folder, path: str, text: str) -> bool:
    """Whether ``text`` is checked at all (as standard input is: not when excluded by the user;
    SourceError when over max-file-size)."""
    limit = folder.settings.max_file_size
    if limit is not None and len(text.encode("utf-8", "surrogatepass")) > limit:
        raise too_large(len(text.encode("utf-8", "surrogatepass")), limit)
    return not folder.settings.excluded_by_user(path)


def check_text(folder: Folder, path: str, text: str) -> list[Diagnostic]:
    """The findings the command line reports for ``text`` as ``path``, with their evidence;
    fixes with their titles only. SourceError when it cannot be checked (a syntax error)."""
    if not _checkable(folder, path, text):
        return []
    linter = folder.checker.linter(path)
    before = folder.checked.get(path)
    now = None if before is None else recheck.moved(before, text, linter.candidates.may_match)
    if now is None:
        found = pipeline.check_file(linter, text, path, reparse=folder.reparse)
        now = recheck.Checked(text, None, tuple(found))
    folder.checked[path] = now
    built = folder.built_from.get(os.path.abspath(path))
    finished = finished_at_built_lines(folder.view.finish, list(now.found), path, text, built)
    # A project rule's fix, or why there is none, as the text's syntax decides it.
    return pipeline.with_granted_shown(linter, text, path, finished)


def forget(folder: Folder, path: str) -> None:
    """The document at ``path`` is closed: its last check is not kept."""
    folder.checked.pop(path, None)
    folder.reparse.forget(path)


def fix_edits(folder: Folder, path: str, text: str, code: str, line: int, column: int) -> tuple[Edit, ...]:
    """The edits of the fix of the finding ``code`` at ``line``:``column`` in ``text`` (those
    ``--diff`` and the JSON output show), a project rule's too (built on the text, as a plain
    check shows it); none when the text no longer has it, or when the fixed text would not
    compile."""
    if not _checkable(folder, path, text):
        return ()
    linter = folder.checker.linter(path)
    proven = folder.view.proven().get(real_path(path), Proven())  # a public name's fix is the model's
    found = [d.proven(proven) for d in pipeline.check_file(linter, text, path, build_fixes=True)]
    built = folder.built_from.get(os.path.abspath(path))
    granted = [d for d in finished_at_built_lines(folder.view.finish, [], path, text, built) if d.granted is not None]
    found += pipeline.with_granted_shown(linter, text, path, granted, build_fixes=True)
    for d in found:
        if (d.code, d.line, d.column) == (code, line, column) and d.fix is not None and d.fix.edits:
            try:
                check_syntax(apply_edits(text, list(d.fix.edits)), path, linter.target_version)
            except SourceError:
                return ()
            return d.fix.edits
    return ()


def fix_all(folder: Folder, path: str, text: str) -> str:
    """``text`` with every safe fix applied, as ``--fix`` writes it (objects one loop only
    reaches, and those whose fixes the model declines, left alone). SourceError when it cannot
    be checked or a fix breaks it."""
    if not _checkable(folder, path, text):
        return text
    built = folder.built_from.get(os.path.abspath(path))
    held_back = frozenset(at_lines_now(dict.fromkeys(folder.view.held_back().get(real_path(path), ())), text, built))
    declined = at_lines_now(folder.view.declined().get(real_path(path), {}), text, built)
    proven = folder.view.proven().get(real_path(path), Proven())
    linter = folder.checker.linter(path)
    outcome = pipeline.fix_file(
        linter, text, path, unsafe=False, held_back=held_back, declined=declined, proven=proven
    )
    return outcome.source
