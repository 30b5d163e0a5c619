"""What the rules of one run share about the file being checked: its text, its parsed module,
the catalogues and settings of the run, and the analysis of the file (computed on demand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis
from loopcheck.catalogue import Catalogue
from loopcheck.fixes.layout import ModuleText


@dataclass(eq=False)
class LintContext:
    path: str
    source: str
    wrapper: MetadataWrapper
    catalogue: Catalogue
    # The oldest Python the checked code must run on; None: the running interpreter's.
    target_version: tuple[int, int] | None = None
    # Names generated fixes have taken, so two fixes in one file never pick the same name.
    names_given: set[str] = field(default_factory=set)

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    @cached_property
    def analysis(self) -> FileAnalysis:
        return FileAnalysis(self.wrapper, self.catalogue)

    @cached_property
    def module_text(self) -> ModuleText:
        """Where the module's statements are in ``source`` (fixes build their edits from it)."""
        return ModuleText(self.module, self.source)

    def fresh_module_name(self, wanted: str) -> str:
        """``wanted``, or ``wanted_2``..., a name no module-level binding or other fix uses."""
        scope = self.analysis.scopes[self.module]
        name, number = wanted, 1
        while name in scope or name in self.names_given:
            number += 1
            name = f"{wanted}_{number}"
        self.names_given.add(name)
        return name

    def supports(self, version: tuple[int, int]) -> bool:
        """Whether every Python the code targets has ``version``'s features."""
        import sys

        target = self.target_version or sys.version_info[:2]
        return tuple(target) >= version
