"""The event loop scope pytest-asyncio gives a test whose mark names none, read from the project's
pytest configuration (read, never run).

pytest-asyncio runs a test marked ``@pytest.mark.asyncio`` without ``loop_scope`` on the loop of
the ``asyncio_default_test_loop_scope`` option (``function`` when unset: a new loop per test). A
project that sets it to ``session`` runs all such tests on one loop, and a loop-bound object they
share is then used by one loop only.

The configuration is the file pytest itself takes when run from the project's directory: the first
directory at or above it holding one of ``CONFIG_FILES`` that pytest accepts (``pytest.toml`` and
``.pytest.toml`` with a ``[pytest]`` table, ``pytest.ini`` and ``.pytest.ini`` always, a
``pyproject.toml`` with ``[tool.pytest]`` or ``[tool.pytest.ini_options]``, a ``tox.ini`` with
``[pytest]``, a ``setup.cfg`` with ``[tool:pytest]``), in that order within a directory, as
``_pytest/config/findpaths.py`` searches them. Options given on pytest's command line (``-o``) are
not in the files and are not seen. A file that cannot be read or parsed states nothing.
"""

from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

OPTION = "asyncio_default_test_loop_scope"
DEFAULT_SCOPE = "function"
# pytest's configuration files, in the order it looks for them in each directory.
CONFIG_FILES = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
# The execution context (data/contexts.toml) and loop a scope runs its tests on: a class's or a
# package's loop is taken as the module's, as the ``loop_scope`` marks are.
SCOPE_CONTEXTS = {
    "class": ("asyncio-module-test", "the module's loop"),
    "module": ("asyncio-module-test", "the module's loop"),
    "package": ("asyncio-module-test", "the module's loop"),
    "session": ("asyncio-session-test", "the session's loop"),
}


@dataclass(frozen=True)
class TestLoopScope:
    """A default test loop scope other than ``function``, and the file that states it."""

    scope: str
    path: Path

    def context(self) -> tuple[str, str]:
        """The context a test of this scope runs in, and its loop in words (naming the file)."""
        context, loop = SCOPE_CONTEXTS[self.scope]
        return context, f'{loop}, by {OPTION} = "{self.scope}" in {self.path.name}'


def configured_test_loop_scope(directory: Path, known: dict[Path, TestLoopScope | None] | None = None) -> TestLoopScope | None:
    """The default test loop scope the pytest configuration of ``directory`` states, when it is
    one pytest-asyncio shares a loop across tests with; None for ``function``, an unknown value,
    no configuration, or one that cannot be read. ``known``: the answers found so far, by
    directory (projects of one run share their parents)."""
    known = {} if known is None else known
    if directory in known:
        return known[directory]
    found = None
    configuration = _configuration_in(directory)
    if configuration is not None:
        path, options = configuration
        scope = options.get(OPTION)
        if isinstance(scope, str) and scope.strip() in SCOPE_CONTEXTS:
            found = TestLoopScope(scope.strip(), path)
    elif directory.parent != directory:
        found = configured_test_loop_scope(directory.parent, known)
    known[directory] = found
    return found


def _configuration_in(directory: Path) -> tuple[Path, dict[str, Any]] | None:
    """The configuration file in ``directory`` pytest would take, and its options; None when it
    holds none (one directory listing: most directories hold no configuration file)."""
    try:
        present = set(os.listdir(directory))
    except OSError:
        return None
    for name in CONFIG_FILES:
        if name in present and (directory / name).is_file():
            options = _pytest_options(directory / name)
            if options is not None:
                return directory / name, options
    return None


def _pytest_options(path: Path) -> dict[str, Any] | None:
    """The pytest options ``path`` states; None when pytest would not take it as its configuration
    (or it cannot be read: then it states nothing, as an empty configuration)."""
    try:
        if path.suffix == ".toml":
            document = tomllib.loads(path.read_text(encoding="utf-8"))
            if path.name == "pyproject.toml":
                table = document.get("tool", {}).get("pytest")
                if not isinstance(table, dict):
                    return None
                ini = table.get("ini_options")
                return ini if isinstance(ini, dict) else table
            table = document.get("pytest")
            return table if isinstance(table, dict) else None
        parser = configparser.RawConfigParser(strict=False)
        parser.read_string(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, configparser.Error, AttributeError):
        return {}
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None
