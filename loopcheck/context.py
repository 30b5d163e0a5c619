"""What the rules of one run share about the file being checked: its text, its parsed module,
the catalogues and settings of the run, and the analysis of the file (computed on demand)."""

from __future__ import annotations

from collections.abc import Iterable
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

    def fresh_module_name(self, wanted: str, used_at: Iterable[cst.CSTNode] = ()) -> str:
        """``wanted``, or ``wanted_2``..., a name no module-level binding or other fix uses, and
        that no binding shadows where generated code will name it (``used_at``: nodes whose scope,
        a function, class body or comprehension, then reads the new global)."""
        scopes = self.analysis.scopes
        seen = [scopes[self.module], *(scopes.get(node) for node in used_at)]
        where = [scope for scope in seen if scope is not None]
        name, number = wanted, 1
        while any(name in scope for scope in where) or name in self.names_given:
            number += 1
            name = f"{wanted}_{number}"
        self.names_given.add(name)
        return name

    def supports(self, version: tuple[int, int]) -> bool:
        """Whether every Python the code targets has ``version``'s features."""
        import sys

        target = self.target_version or sys.version_info[:2]
        return tuple(target) >= version
