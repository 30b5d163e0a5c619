"""What the rules of one run share about the file being checked: its text, its parsed module,
the catalogues and settings of the run, and the analysis of the file (computed on demand)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis
from loopcheck.data.catalogue import Catalogue
from loopcheck.fixes.imports import ImportRequest, name_for
from loopcheck.fixes.layout import ModuleText


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
    # How generated code names each standard library object (every fix of the file agrees).
    spellings: dict[str, tuple[str, ImportRequest | None] | None] = field(default_factory=dict)

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

    def _free(self, name: str) -> bool:
        return not self.analysis.bindings.taken(name) and name not in self.names_given

    def spelling(self, qualified: str) -> tuple[str, ImportRequest | None] | None:
        """How generated code names ``qualified`` (a standard library object) wherever it puts
        it, and the import that adds the name; None when no spelling is sure (fixes that need
        it are then declined, see :meth:`unspellable`)."""
        if qualified not in self.spellings:
            found = self.spellings[qualified] = name_for(
                self.analysis.imports, self.analysis.bindings, qualified, self._free
            )
            if found is not None and found[1] is not None and found[1].asname is not None:
                self.names_given.add(found[1].asname)
            elif found is not None and found[1] is not None and found[1].name is not None:
                self.names_given.add(found[1].name)
        return self.spellings[qualified]

    def unspellable(self, qualified_names: tuple[str, ...]) -> str | None:
        """Why generated code cannot name one of ``qualified_names`` for sure; None if it can."""
        missing = [name for name in qualified_names if self.spelling(name) is None]
        if not missing:
            return None
        star = self.analysis.bindings.star_imports[0]
        return f"`{self.module.code_for_node(star).strip()}` may rebind any name given to `{missing[0]}`"

    @property
    def oldest_python(self) -> tuple[int, int]:
        """The oldest Python the code must run on (the fix target)."""
        from loopcheck.settings.config import OLDEST_TARGET

        return tuple(self.target_version or OLDEST_TARGET)  # type: ignore[return-value]

    def supports(self, version: tuple[int, int]) -> bool:
        """Whether every Python the code targets has ``version``'s features."""
        return self.oldest_python >= version
