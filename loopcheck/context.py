"""What the rules of one run share about the file being checked: its text, its parsed module,
the catalogues and settings of the run, and the analysis of the file (computed on demand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis
from loopcheck.catalogue import Catalogue


@dataclass(eq=False)
class LintContext:
    path: str
    source: str
    wrapper: MetadataWrapper
    catalogue: Catalogue
    # The oldest Python the checked code must run on; None: the oldest target there is (never the
    # running interpreter's: a fix must run on every Python the project allows).
    target_version: tuple[int, int] | None = None
    # Names generated fixes have taken, so two fixes in one file never pick the same name.
    names_given: set[str] = field(default_factory=set)

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    @cached_property
    def analysis(self) -> FileAnalysis:
        return FileAnalysis(self.wrapper, self.catalogue)

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
        from loopcheck.config import OLDEST_TARGET

        target = self.target_version or OLDEST_TARGET
        return tuple(target) >= version
