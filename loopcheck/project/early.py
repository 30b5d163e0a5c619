"""Summaries made where a module is parsed anyway, so that the model does not parse it again.

A worker process checking a file parses it (the parse stage, for the files the text test keeps).
When the file is one the model summarises as soon as it is built (an entry module: its seed
flags say so, see ``selection``), the worker summarises that tree too and hands the summary back
with the file's results (:class:`Offered`); the process building the model takes it instead of
reading and parsing the file itself, when it is exactly the summary it would make: of the same
bytes, as the same module, path and package (:meth:`Offered.fits`). Any other offer is ignored,
and one that has not arrived yet is not waited for: the model makes that summary itself.

The worker names the module as the projects' layout does before their import lines are known
(``roots.Roots`` before ``use_imports``); where those lines make a folder a namespace package the
name differs, and the offer does not fit.

Likewise in a cold run, the workers first read a share of the projects' files for the model's
listing (their import lines, seed flags and content keys: ``model.read_file``, as the model
reads them), while the process building the model reads the others (``Offers.read_elsewhere``);
then they check the files. A read that failed there is made again here.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopcheck.data.catalogue import Catalogue
from loopcheck.project.records import ModuleSummary
from loopcheck.project.roots import Roots
from loopcheck.project.selection import SeedTest, import_specs
from loopcheck.project.store import SummaryStore, catalogue_key

if TYPE_CHECKING:
    from loopcheck.project.model import FileRead

# Frames of recursion a summary made here leaves unused: the model's own summary of the same
# module runs deeper in the call stack, and an offer must never exist where the model's own
# attempt would have run out of recursion (the model then leaves the module out).
HEAD_ROOM = 200


@dataclass(frozen=True)
class Offered:
    """A summary made early: ``key`` is the content key (``SummaryStore.content_key``) of the
    bytes it was made from."""

    key: str
    summary: ModuleSummary

    def fits(self, key: str, module: str, path: str, is_package: bool) -> bool:
        """Whether this is the summary of the bytes of content ``key`` as ``module`` at ``path``."""
        summary = self.summary
        return self.key == key and (summary.module, summary.path, summary.is_package) == (module, path, is_package)


class Offers:
    """The summaries offered to the model so far, by path as the run names the files (filled
    as they arrive, from another thread), and the files whose checks have come back, with or
    without an offer (``returned``). ``expected``: whether a summary of a file may still be
    offered (the model summarises the others first, giving those time to arrive); ``settled``
    is called once the model takes no more (its entry modules are summarised).
    ``read_elsewhere``: files the workers read for the model's listing before their checks, by
    path: what reading each gave (``model.FileRead``; waits for it, raises where it failed)."""

    def __init__(
        self, expected: Callable[[str], bool] = lambda path: False, settled: Callable[[], None] = lambda: None
    ) -> None:
        self.found: dict[str, Offered] = {}
        self.returned: set[str] = set()
        self.expected = expected
        self.settled = settled
        self.read_elsewhere: dict[str, Callable[[], FileRead]] = {}


class EarlySummaries:
    """The summaries a process that parses files offers the model, for the projects laid out as
    ``roots``."""

    def __init__(self, roots: Roots, catalogue: Catalogue) -> None:
        self.roots = roots
        self.catalogue = catalogue
        self.seeds = SeedTest(catalogue)

    @functools.cached_property
    def keys(self) -> SummaryStore:
        """For content keys only; made at the first offer (its key fingerprints loopcheck's code
        and data: a run that offers nothing does not pay for it)."""
        return SummaryStore(None, catalogue_key(self.catalogue))

    def read(self, path: str, max_file_size: int | None) -> FileRead:
        """The file at ``path`` read for the model's listing, as the model reads it."""
        from loopcheck.project.model import read_file

        return read_file(path, self.keys, self.seeds, max_file_size)

    def offer(self, path: str, data: bytes, text: str, tree: ast.Module) -> Offered | None:
        """The summary of the file at ``path`` (its bytes ``data``, decoded ``text``, parsed as
        ``tree``) when it is an entry module; None otherwise, or when it cannot be summarised."""
        if not path.endswith(".py") or not self.seeds.entry(text):
            return None
        imported = {name.partition(".")[0] for level, name in import_specs(text) if not level}
        named = self.roots.module_name(path, imported)
        if named is None:
            return None
        module, is_package = named
        try:
            from loopcheck.project.summary import summarise_tree  # as the model: only once one is made

            with _head_room(HEAD_ROOM):
                summary = summarise_tree(tree, module, path, is_package, self.catalogue)
        except Exception:  # the model's own attempt meets it again, and deals with it as always
            return None
        return Offered(self.keys.content_key(data), summary)


@contextmanager
def _head_room(frames: int) -> Iterator[None]:
    """Run with ``frames`` fewer frames of recursion than the limit allows."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit - frames)  # RecursionError when that is below the current depth
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)
