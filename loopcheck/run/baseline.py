"""The baseline: findings a project has accepted for now, so that a run reports only new ones.

``--write-baseline`` records each finding by its file (relative to the baseline's directory) and
its content anchor (``engine.anchors``: code, enclosing qualified name, hash of the flagged
construct), never its line, so code that moves keeps its entries matched. Later runs report the
findings no entry matches, one entry standing for as many identical findings as its ``count``.
An entry that no longer matches a finding is stale: the run drops it and rewrites the file, which
therefore only shrinks until it is written again. A run decides only about what it looked at:
the files it checked, and the codes that applied to each; other entries stay as they are.

The file is JSON with sorted keys and entries, so that its diffs in review are small and stable.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.files import SourceError, read_regular

if TYPE_CHECKING:
    from loopcheck.engine.anchors import Anchor

DEFAULT_NAME = ".loopcheck-baseline.json"
FORMAT = 1
# Whether a code applies to a file in this run (selected, and not switched off for it).
InScope = Callable[[str, str], bool]


class BaselineError(ValueError):
    """A baseline file that cannot be read or written: one line naming it."""


@dataclass
class Baseline:
    path: Path
    entries: dict[str, Counter[Anchor]] = field(default_factory=dict)  # by relative file name
    stale: int = 0  # entries dropped by this run
    baselined: int = 0  # findings this run did not report because an entry matched them

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """The baseline at ``path``; empty when there is no file (yet)."""
        if not os.path.lexists(path):
            return cls(path)
        try:
            data = json.loads(read_regular(str(path))[0].decode("utf-8"))
            return cls(path, _entries(data))
        except SourceError as error:
            raise BaselineError(f"{path}: {error}") from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise BaselineError(f"{path}: not a baseline file (invalid JSON)") from None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BaselineError(
                f"{path}: not a baseline file loopcheck writes (rewrite it with --write-baseline)"
            ) from None

    def key(self, path: str) -> str:
        """A file's name in the baseline: relative to the baseline's directory, with '/'."""
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(self.path.parent))
        return Path(relative).as_posix()

    def filter(self, path: str, diagnostics: list[Diagnostic], source: Callable[[], str | None], in_scope: InScope) -> list[Diagnostic]:
        """The findings of one checked file that no entry matches; the file's entries become
        those that matched (and those of codes that did not apply), the others are stale."""
        key = self.key(path)
        recorded = self.entries.get(key)
        if not recorded:
            return diagnostics
        text = source() if diagnostics else ""
        if text is None:  # unreadable now: report everything, keep every entry
            return diagnostics
        from loopcheck.engine.anchors import FileAnchors  # (hashlib: only where a baseline is used)

        anchors = FileAnchors(text)
        left = Counter(recorded)
        kept: Counter[Anchor] = Counter()
        new = []
        for d in sorted(diagnostics, key=Diagnostic.sort_key):
            anchor = anchors.anchor(d)
            if left[anchor] > 0:
                left[anchor] -= 1
                kept[anchor] += 1
                self.baselined += 1
            else:
                new.append(d)
        for anchor, count in left.items():
            if count > 0 and not in_scope(path, anchor.code):
                kept[anchor] += count
            else:
                self.stale += count
        self._set(key, kept)
        return new

    def record(self, path: str, diagnostics: list[Diagnostic], source: str, in_scope: InScope) -> None:
        """Replace what the baseline holds for one checked file with its findings (``source``:
        the text they are about); entries of codes that did not apply are kept."""
        key = self.key(path)
        kept = Counter({a: c for a, c in self.entries.get(key, Counter()).items() if not in_scope(path, a.code)})
        from loopcheck.engine.anchors import FileAnchors

        anchors = FileAnchors(source) if diagnostics else None
        for d in diagnostics:
            assert anchors is not None
            kept[anchors.anchor(d)] += 1
        self._set(key, kept)

    def forget_missing_files(self) -> None:
        """Drop (as stale) the entries of files that no longer exist: no run checks them again."""
        for key in [key for key in self.entries if not os.path.lexists(self.path.parent / key)]:
            self.stale += sum(self.entries.pop(key).values())

    def _set(self, key: str, anchors: Counter[Anchor]) -> None:
        if anchors:
            self.entries[key] = anchors
        else:
            self.entries.pop(key, None)

    def size(self) -> int:
        return sum(sum(anchors.values()) for anchors in self.entries.values())

    def text(self) -> str:
        files = {
            key: [
                {"code": a.code, "scope": a.scope, "hash": a.digest, "count": count}
                for a, count in sorted(anchors.items())
            ]
            for key, anchors in sorted(self.entries.items())
        }
        return json.dumps({"loopcheck-baseline": FORMAT, "files": files}, indent=2, sort_keys=True) + "\n"

    def save(self) -> None:
        from loopcheck.run.writing import write_generated

        try:
            write_generated(str(self.path), self.text().encode("utf-8"))
        except SourceError as error:
            raise BaselineError(f"{self.path}: {error}") from None


def _entries(data: object) -> dict[str, Counter[Anchor]]:
    """The entries of a baseline file's JSON; KeyError, TypeError or ValueError on any other
    shape."""
    if not isinstance(data, dict) or data["loopcheck-baseline"] != FORMAT:
        raise ValueError("not a baseline")
    from loopcheck.engine.anchors import Anchor

    entries: dict[str, Counter[Anchor]] = {}
    for key, items in data["files"].items():
        anchors: Counter[Anchor] = Counter()
        for item in items:
            code, scope, digest, count = item["code"], item["scope"], item["hash"], item["count"]
            if not all(isinstance(v, str) for v in (key, code, scope, digest)):
                raise TypeError("entry fields are strings")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError("count is a positive integer")
            anchors[Anchor(code, scope, digest)] += count
        entries[key] = anchors
    return entries
