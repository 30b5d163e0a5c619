"""The flake8 plugin: every LCK code, with the positions and messages of the command line.

flake8 selects, ignores and honours ``# noqa`` itself, so the plugin runs every rule and filters
nothing. What decides the findings themselves comes from the project's ``[tool.loopcheck]``, found
as the command line finds it (the nearest ``pyproject.toml`` with the table, from the file's
directory up): ``extra-clients``, ``celery-pool``, and ``target-version`` (else ``requires-python``) for the Python
that fixes, and so the messages' fix notes, target (a broken table: one warning line, and the
defaults). The candidate stage skips a file that cannot hold a finding (a text test, then a scan
of the tree flake8 has already parsed), and the syntax check is left to flake8 (E999).

flake8 shows one line per finding, so a finding's evidence is cut to a short tail on its message:
the first loop that reaches the object, and how many more (``[reached from the Celery task 'sync'
and 1 more]``); the command line's text, JSON and SARIF output show all of it.
"""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from loopcheck import __version__
from loopcheck.engine import pipeline
from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.engine import Linter
from loopcheck.engine.registry import rule_index
from loopcheck.files import SourceError
from loopcheck.project.roots import project_of
from loopcheck.run.cache import default_directory
from loopcheck.run.project import ProjectView, project_view
from loopcheck.settings.config import ConfigError, Settings, fix_target, load_settings

LOG = logging.getLogger(__name__)
# flake8's names for standard input (its default, and what `-` stands for).
STDIN_NAMES = ("stdin", "-")


class Plugin:
    name = "loopcheck"
    version = __version__
    # Per process: the settings and fix target of each directory a checked file is in, what
    # each directory resolves to (see fix_target), and one linter per set of settings that
    # decide findings.
    _settings: ClassVar[dict[str, tuple[Settings, tuple[int, int]]]] = {}
    _declared: ClassVar[dict[Path, tuple[int, int] | None]] = {}
    _linters: ClassVar[dict[tuple[Any, ...], Linter]] = {}
    # The project model of each project a checked file is in, and each directory's project.
    _views: ClassVar[dict[Path, ProjectView]] = {}
    _projects: ClassVar[dict[Path, Path | None]] = {}

    @classmethod
    def add_options(cls, parser: Any) -> None:
        """The opt-in tiers' rules are off unless flake8's selection names them (``--select LCK``,
        ``--extend-select LCK401``), as on the command line."""
        parser.extend_default_ignore([code for code, rule in rule_index().items() if rule.opt_in])

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        # flake8 hands every tree plugin the parsed tree: the candidate stage scans it, and
        # LibCST parses only files where a rule may report.
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @classmethod
    def settings_for(cls, filename: str) -> tuple[Settings, tuple[int, int]]:
        """The settings the command line would use for ``filename`` checked on its own, and the
        Python its fixes target (its own project's, see config.fix_target)."""
        if filename in STDIN_NAMES:
            directory = os.getcwd()
        else:
            directory = str(Path(os.path.abspath(filename)).parent)
        if directory not in cls._settings:
            try:
                settings = load_settings([directory], None, rule_index())
            except ConfigError as error:
                # A plugin cannot stop flake8 without a traceback: one line (per process and
                # directory), and the files are checked as if there were no configuration.
                LOG.warning("loopcheck: %s; checked with the default settings", error)
                settings = Settings()
            target = fix_target(Path(directory), settings.target_version, cls._declared)
            cls._settings[directory] = (settings, target)
        return cls._settings[directory]

    @classmethod
    def linter(cls, settings: Settings | None = None, target: tuple[int, int] | None = None) -> Linter:
        settings = settings or Settings()
        key = (settings.extra_clients, settings.celery_pool, settings.target_version, target)
        if key not in cls._linters:
            # The rule index: a rule's module (and LibCST) is imported only for a file that needs it.
            cls._linters[key] = Linter(
                list(rule_index().values()),
                honour_noqa=False,
                syntax_check=False,
                target_version=settings.target_version,
                fix_target=target,
                catalogue=settings.catalogue(),
            )
        return cls._linters[key]

    def run(self) -> Iterator[tuple[int, int, str, Any]]:
        source = "".join(self.lines)
        linter = self.linter(*self.settings_for(self.filename))
        try:
            diagnostics = pipeline.check_file(linter, source, self.filename, tree=self.tree)
        except SourceError as error:
            LOG.warning("loopcheck: %s: %s", self.filename, error)
            return
        if self.filename not in STDIN_NAMES:
            diagnostics = self.project_view(self.filename, *self.settings_for(self.filename)).finish(
                diagnostics, self.filename
            )
            # A project rule's fix, or why there is none, as the file's syntax decides it.
            diagnostics = pipeline.with_granted_shown(linter, source, self.filename, diagnostics)
        for d in diagnostics:
            yield d.line, d.column - 1, f"{d.code} {d.message}{evidence_tail(d)}", type(self)

    @classmethod
    def project_view(cls, filename: str, settings: Settings, target: tuple[int, int]) -> ProjectView:
        """The model of ``filename``'s project, built once per process and project: the same
        model the command line builds (the project's files, not only those flake8 was given),
        through the same summaries cache."""
        directory = Path(os.path.abspath(filename)).parent
        project = project_of(directory, cls._projects) or directory
        if project not in cls._views:
            cls._views[project] = project_view(
                [filename],
                settings,
                settings.catalogue(),
                tuple(rule_index()),
                str(default_directory(settings.root)),
                lambda note: LOG.warning("loopcheck: %s", note),
            )
        return cls._views[project]


def evidence_tail(d: Diagnostic) -> str:
    """`` [reached from LOOP and N more]``: the first evidence's message without its call chain
    (`` via ...``) and the parenthesis on how the loop runs; nothing without evidence."""
    if not d.evidence:
        return ""
    loop = d.evidence[0].message.split(" via ", 1)[0]
    loop = _without_closing_parenthesis(loop)
    more = f" and {len(d.evidence) - 1} more" if len(d.evidence) > 1 else ""
    return f" [{loop}{more}]"


def _without_closing_parenthesis(text: str) -> str:
    """``text`` without the parenthesis that closes it (nested ones included), if it has one."""
    if not text.endswith(")"):
        return text
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            return text[:index].rstrip() or text
    return text  # unbalanced: kept as it is
