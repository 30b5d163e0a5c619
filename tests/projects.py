"""The multi-module scenarios of tests/fixtures/projects/: where they are, and what each
`main.py` docstring says it does (`expect: <regex>` for the exception it ends with, or
`expect: clean`; `raised while handling: <regex>` for an exception that exception was raised
while handling; `fixed with: <loopcheck options>` for an incident that runs clean once loopcheck
has fixed it with those options; `real libraries: <requirements>` and `real server: <name of
one of SERVERS>` for an incident that also runs, as written and fixed, with the real libraries
instead of the stand-ins, against that server)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
CLEAN = "clean"
# The servers a scenario's `real server:` may name (tests/servers.py starts them).
SERVERS = ("postgresql",)


@dataclass(frozen=True)
class Scenario:
    path: Path
    expect: str  # a regex for the final exception, or CLEAN
    while_handling: str | None
    fixed_with: tuple[str, ...] = ()  # loopcheck's options that make the incident run clean
    real_libraries: tuple[str, ...] = ()  # requirements that replace the stand-ins
    real_server: str | None = None  # one of SERVERS, which the real libraries talk to

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def confined(self) -> bool:
        return self.expect == CLEAN


def scenarios() -> list[Scenario]:
    """Every scenario: each directory of PROJECTS but those starting with `_` (the stand-ins)."""
    return [load(path) for path in sorted(PROJECTS.iterdir()) if path.is_dir() and not path.name.startswith("_")]


def load(path: Path) -> Scenario:
    doc = ast.get_docstring(ast.parse((path / "main.py").read_text("utf-8"))) or ""
    expect = re.search(r"^expect:\s*(.+)$", doc, re.MULTILINE)
    if expect is None:
        raise AssertionError(f"{path.name}/main.py: its docstring says no `expect: <regex>` or `expect: clean`")
    handling = re.search(r"^raised while handling:\s*(.+)$", doc, re.MULTILINE)
    fixed = re.search(r"^fixed with:\s*(.+)$", doc, re.MULTILINE)
    libraries = re.search(r"^real libraries:\s*(.+)$", doc, re.MULTILINE)
    server = re.search(r"^real server:\s*(.+)$", doc, re.MULTILINE)
    if server is not None and server.group(1).strip() not in SERVERS:
        raise AssertionError(f"{path.name}/main.py: unknown `real server: {server.group(1).strip()}` (known: {', '.join(SERVERS)})")
    if (libraries is None) != (server is None) or (libraries is not None and not fixed):
        raise AssertionError(f"{path.name}/main.py: `real libraries:` and `real server:` go together, with `fixed with:`")
    return Scenario(
        path,
        expect.group(1).strip(),
        handling.group(1).strip() if handling else None,
        tuple(fixed.group(1).split()) if fixed else (),
        tuple(libraries.group(1).split()) if libraries else (),
        server.group(1).strip() if server else None,
    )
