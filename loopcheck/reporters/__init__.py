"""Output formats: each reporter writes a run's diagnostics to a stream."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TextIO

from loopcheck.engine.diagnostics import Diagnostic

Reporter = Callable[[list[Diagnostic], dict[str, str], TextIO], None]

# Formats that can print each file's findings as soon as they come (the others print one document).
STREAMING = frozenset({"text", "concise", "github"})


class _Reporters(Mapping[str, Reporter]):
    """Each format's reporter by name, its module imported when it is asked for: a run prints in
    one format (SARIF's fingerprints alone import hashlib)."""

    WHERE = {
        "text": ("text", "report_text"),
        "concise": ("text", "report_concise"),
        "json": ("json", "report_json"),
        "sarif": ("sarif", "report_sarif"),
        "github": ("github", "report_github"),
    }

    def __getitem__(self, name: str) -> Reporter:
        module, function = self.WHERE[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)

    def __iter__(self) -> Iterator[str]:
        return iter(self.WHERE)

    def __len__(self) -> int:
        return len(self.WHERE)


REPORTERS: Mapping[str, Reporter] = _Reporters()
