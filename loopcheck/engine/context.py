"""What the rules of one run share about the file being checked: its text, its parsed module,
the catalogues and settings of the run, and the analysis of the file (computed on demand)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis
from loopcheck.analysis.index import FileIndex
from loopcheck.data.catalogue import Catalogue
from loopcheck.settings.config import OLDEST_TARGET

if TYPE_CHECKING:
    from loopcheck.fixes.layout import ModuleText
    from loopcheck.fixes.naming import FixNaming


@dataclass(eq=False)
class LintContext:
    path: str
    source: str
    wrapper: MetadataWrapper
    catalogue: Catalogue
    # The oldest Python the checked code must run on; None: the oldest target there is (never the
    # running interpreter's: a fix must run on every Python the project allows).
    target_version: tuple[int, int] | None = None
    # The line of each top-level statement of the interpreter's tree of ``source``, where the
    # pipeline has that tree (positions are then found without a pass over the whole module).
    statement_lines: tuple[int, ...] | None = None
    # The index of each top-level statement of the document's earlier modules (FileIndex.of).
    index_parts: dict[cst.CSTNode, FileIndex] | None = None

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    @cached_property
    def analysis(self) -> FileAnalysis:
        return FileAnalysis(self.wrapper, self.catalogue, self.statement_lines, self.index_parts)

    @cached_property
    def module_text(self) -> ModuleText:
        """Where the module's statements are in ``source`` (fixes build their edits from it)."""
        from loopcheck.fixes.layout import ModuleText  # the fixes sit above the engine

        return ModuleText(self.module, self.source)

    @cached_property
    def naming(self) -> FixNaming:
        """The names the fixes of this file give and use (made on first use)."""
        from loopcheck.fixes.naming import FixNaming  # the fixes sit above the engine

        return FixNaming(self)

    @property
    def oldest_python(self) -> tuple[int, int]:
        """The oldest Python the code must run on (the fix target)."""
        return tuple(self.target_version or OLDEST_TARGET)  # type: ignore[return-value]

    def supports(self, version: tuple[int, int]) -> bool:
        """Whether every Python the code targets has ``version``'s features."""
        return self.oldest_python >= version
