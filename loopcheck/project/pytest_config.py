"""What a project's pytest configuration tells pytest-asyncio (read, never run): which tests it
runs, and on which loop.

- ``asyncio_mode``: in ``auto`` mode pytest-asyncio runs every ``async def`` test, marked
  ``@pytest.mark.asyncio`` or not (``strict``, the default: only the marked ones).
- ``asyncio_default_test_loop_scope``: the loop a test whose mark names no ``loop_scope`` runs on
  (``function`` when unset: a new loop per test). A project that sets it to ``session`` runs all
  such tests on one loop, and a loop-bound object they share is then used by one loop only.
- An ``event_loop`` fixture of a wider scope (``@pytest.fixture(scope="session")``; ``module``
  and ``package`` too, a ``class`` one being a loop per class, taken as a loop per test) in a
  ``conftest.py`` above the test module, or in the module, does the same where the option is
  unset: before pytest-asyncio 1.0 (which no longer reads it) that fixture is the tests' loop.

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

from loopcheck.files import SourceError, read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

OPTION = "asyncio_default_test_loop_scope"
# Before pytest-asyncio 1.0, a fixture of this name (in a conftest.py or the test module) is the
# loop its tests run on; its scope decides how long that loop lives.
LOOP_FIXTURE = "event_loop"
FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})
DEFAULT_SCOPE = "function"
MODE = "asyncio_mode"
AUTO = "auto"
# pytest's configuration files, in the order it looks for them in each directory.
CONFIG_FILES = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
# pytest-asyncio's execution contexts (data/contexts.toml): a test whose mark names no loop
# scope (the project's default scope), and one whose mark names ``function``, ``module`` (or
# ``class``, ``package``) or ``session``.
DEFAULT_TEST = "asyncio-test"
MODULE_TEST = "asyncio-module-test"
SESSION_TEST = "asyncio-session-test"
TEST_CONTEXTS = frozenset({DEFAULT_TEST, "asyncio-function-test", MODULE_TEST, SESSION_TEST})
# The context and loop a default scope runs its tests on: a class's or a package's loop is taken
# as the module's, as the ``loop_scope`` marks are.
SCOPE_CONTEXTS = {
    "class": (MODULE_TEST, "the module's loop"),
    "module": (MODULE_TEST, "the module's loop"),
    "package": (MODULE_TEST, "the module's loop"),
    "session": (SESSION_TEST, "the session's loop"),
}


@dataclass(frozen=True)
class PytestAsyncio:
    """What a project's pytest configuration (the file ``path``) changes of pytest-asyncio's
    defaults: its default test loop scope, where it shares a loop across tests, and whether it
    runs every ``async def`` test (``auto``)."""

    path: Path
    scope: str = DEFAULT_SCOPE
    auto: bool = False

    def context(self) -> tuple[str, str] | None:
        """The context a test without a ``loop_scope`` runs in, and its loop in words (naming the
        file); None for a loop per test, the default."""
        if self.scope not in SCOPE_CONTEXTS:
            return None
        context, loop = SCOPE_CONTEXTS[self.scope]
        return context, f'{loop}, by {OPTION} = "{self.scope}" in {self.path.name}'


def fixture_context(scope: str, module: str) -> tuple[str, str] | None:
    """The context a test without a ``loop_scope`` runs in, and its loop in words, where the
    ``event_loop`` fixture it gets, of ``module``, has ``scope`` (and the option is unset); None
    for a loop per test, and for a fixture per class (the tests of two classes get two loops)."""
    if scope not in SCOPE_CONTEXTS or scope == "class":
        return None
    context, loop = SCOPE_CONTEXTS[scope]
    return context, f"{loop}, by the {scope}-scoped {LOOP_FIXTURE} fixture of {module}"


def configured_pytest_asyncio(directory: Path, known: dict[Path, PytestAsyncio | None] | None = None) -> PytestAsyncio | None:
    """What the pytest configuration of ``directory`` changes of pytest-asyncio's defaults; None
    when nothing (no configuration, one that cannot be read, a ``function`` scope or an unknown
    value, ``strict`` mode). ``known``: the answers found so far, by directory (projects of one
    run share their parents)."""
    known = {} if known is None else known
    if directory in known:
        return known[directory]
    found = None
    configuration = _configuration_in(directory)
    if configuration is not None:
        path, options = configuration
        scope, mode = (_text(options.get(name)) for name in (OPTION, MODE))
        stated = PytestAsyncio(path, scope if scope in SCOPE_CONTEXTS else DEFAULT_SCOPE, mode == AUTO)
        found = stated if stated != PytestAsyncio(path) else None
    elif directory.parent != directory:
        found = configured_pytest_asyncio(directory.parent, known)
    known[directory] = found
    return found


def collects_tests(module: str) -> bool:
    """Whether pytest collects tests from ``module`` (its default ``python_files``: ``test_*.py``,
    ``*_test.py``)."""
    name = module.rpartition(".")[2]
    return name.startswith("test_") or name.endswith("_test")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


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
        data, _ = read_regular(str(path))  # as the settings read it: a fifo in its place never blocks
        text = data.decode("utf-8")
        if path.suffix == ".toml":
            document = tomllib.loads(text)
            if path.name == "pyproject.toml":
                table = document.get("tool", {}).get("pytest")
                if not isinstance(table, dict):
                    return None
                ini = table.get("ini_options")
                return ini if isinstance(ini, dict) else table
            table = document.get("pytest")
            return table if isinstance(table, dict) else None
        parser = configparser.RawConfigParser(strict=False)
        parser.read_string(text)
    except (SourceError, UnicodeDecodeError, tomllib.TOMLDecodeError, configparser.Error, AttributeError, RecursionError):
        return {}
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None
