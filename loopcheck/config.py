"""``[tool.loopcheck]`` in ``pyproject.toml``: found by walking up from the paths checked, or
named with ``--config``. Every key is validated; a mistake is a one-line error naming the key."""

from __future__ import annotations

import ast
import configparser
import dataclasses
import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from loopcheck.diagnostics import SourceError
from loopcheck.files import read_regular
from loopcheck.limits import DEFAULT_MAX_FILE_SIZE
from loopcheck.selection import SelectionError, parse_codes, validate_codes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# Directory names never walked into, unless `exclude` replaces this list.
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".eggs",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "build",
    "dist",
    "node_modules",
    "site-packages",
)
TARGET_VERSIONS = {f"py3{minor}": (3, minor) for minor in range(8, 14)}
DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class ConfigError(ValueError):
    """A configuration mistake: the message names the file and the key."""


# What parsing a hostile but well-formed file can raise besides a syntax error (a TOML array
# nested 5,000 deep, a setup.py of 100,000 unary minus signs).
TOO_DEEP = (RecursionError, MemoryError)


def _read_found(path: Path) -> bytes | None:
    """A configuration file the search came across, or None when there is none to read there:
    missing, unreadable, or not a regular file (a fifo would block the read forever)."""
    try:
        return read_regular(str(path))[0]
    except SourceError:
        return None


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of a run (defaults when no file configures loopcheck)."""

    root: Path = field(default_factory=Path.cwd)  # relative patterns are relative to this
    source: Path | None = None  # the file the settings came from
    select: tuple[str, ...] | None = None  # None: every rule
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    extra_clients: tuple[str, ...] = ()
    target_version: tuple[int, int] | None = None
    # The oldest Python fixes must run on: target-version, else requires-python's floor.
    fix_target: tuple[int, int] | None = None
    # Larger files are not read (one line, exit status 2); None: no limit.
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE

    def excluded(self, path: str | PurePath, *, within_included: bool = False) -> bool:
        """Whether ``path`` (a file or directory) matches ``exclude`` or ``extend-exclude``.
        ``within_included``: its directory was tested and is not excluded, so only what ``path``
        adds (its name, its own relative path) is tested: a walk stays linear in the depth."""
        return self._matches(path, (*self.exclude, *self.extend_exclude), within_included)

    def excluded_by_user(self, path: str | PurePath) -> bool:
        """Whether ``path`` matches a pattern the configuration sets. Files named on the command
        line (as pre-commit names them) are checked against these, not against the defaults."""
        configured = () if self.exclude == DEFAULT_EXCLUDE else self.exclude
        return self._matches(path, (*configured, *self.extend_exclude))

    def ignored_codes(self, path: str | PurePath) -> list[str]:
        """The codes and prefixes `per-file-ignores` switches off for ``path``."""
        return [
            code
            for pattern, codes in self.per_file_ignores
            if self._matches(path, (pattern,))
            for code in codes
        ]

    def _matches(self, path: str | PurePath, patterns: Iterable[str], within_included: bool = False) -> bool:
        """Glob patterns, as in Ruff: a pattern matches the path relative to the configuration's
        directory, one of its leading directories, or the name of any component (so `build`
        matches every directory called build). Outside that directory only the name counts."""
        absolute = Path(os.path.abspath(path))
        candidates = {absolute.name}
        try:
            relative = absolute.relative_to(self.root)
        except ValueError:
            relative = None
        if relative is not None:
            parts = relative.parts
            if within_included:  # the leading directories' candidates matched nothing
                candidates.add("/".join(parts))
            else:
                candidates.update(parts)
                candidates.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return any(
            fnmatch.fnmatchcase(candidate, pattern.rstrip("/"))
            for pattern in patterns
            for candidate in candidates
        )


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a [tool.loopcheck] table."""
    directory = start if start.is_dir() else start.parent
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / "pyproject.toml"
        data = _read_found(candidate)
        if data is None:
            continue
        text = ""
        try:
            text = data.decode("utf-8")
            table = tomllib.loads(text)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, *TOO_DEEP):
            if "tool.loopcheck" in text:
                return candidate  # broken, but meant for us: parse_settings says why
            continue
        if isinstance(table.get("tool"), dict) and "loopcheck" in table["tool"]:
            return candidate
    return None


def load_settings(paths: Sequence[str], config: str | None, known_codes: Iterable[str]) -> Settings:
    """The settings for a run over ``paths``: from ``config`` if given, else discovered."""
    if config is not None:
        return parse_settings(Path(config), known_codes, explicit=True)
    starts = [Path(os.path.abspath(p)) for p in paths if p != "-"] or [Path.cwd()]
    common = Path(os.path.commonpath([str(p) for p in starts]))
    found = find_config(common)
    settings = Settings() if found is None else parse_settings(found, known_codes)
    # Like Ruff: without target-version, fixes target the project's oldest supported Python.
    # (Only fixes: an inferred version never turns code the interpreter runs into an error.)
    return dataclasses.replace(settings, fix_target=settings.target_version or requires_python(common))


REQUIRES_PYTHON_FLOOR = re.compile(r"(?:>=|~=|==)\s*3\.(\d+)")


def requires_python(start: Path) -> tuple[int, int] | None:
    """The lower bound of the project's supported Pythons (``>=3.11``, ``~=3.11``, ``==3.12.*``),
    from the nearest directory that declares one: ``[project] requires-python`` in
    pyproject.toml, else ``python_requires`` in setup.cfg's ``[options]`` or in setup.py's
    ``setup()`` call (projects that never moved to pyproject.toml). None when there is none or it
    says no floor."""
    directory = start if start.is_dir() else start.parent
    for candidate_dir in (directory, *directory.parents):
        for read in (_pyproject_requires, _setup_cfg_requires, _setup_py_requires):
            specifier = read(candidate_dir)
            if specifier is not None:
                floors = [int(minor) for minor in REQUIRES_PYTHON_FLOOR.findall(specifier)]
                return (3, min(floors)) if floors else None
    return None


def _pyproject_requires(directory: Path) -> str | None:
    data = _read_found(directory / "pyproject.toml")
    if data is None:
        return None
    try:
        project = tomllib.loads(data.decode("utf-8")).get("project", {})
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, *TOO_DEEP):
        return None
    specifier = project.get("requires-python") if isinstance(project, dict) else None
    return specifier if isinstance(specifier, str) else None


def _setup_cfg_requires(directory: Path) -> str | None:
    data = _read_found(directory / "setup.cfg")
    if data is None:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(data.decode("utf-8"))
    except (UnicodeDecodeError, configparser.Error, *TOO_DEEP):
        return None
    return parser.get("options", "python_requires", fallback=None)


def _setup_py_requires(directory: Path) -> str | None:
    """A string literal passed as ``python_requires=`` to any call in setup.py (not run)."""
    data = _read_found(directory / "setup.py")
    if data is None:
        return None
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, *TOO_DEEP):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "python_requires":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    return None


def parse_settings(path: Path, known_codes: Iterable[str], explicit: bool = False) -> Settings:
    try:
        data = tomllib.loads(read_regular(str(path))[0].decode("utf-8"))
    except SourceError as error:
        reason = str(error)
        if reason == "no such file or directory":
            reason = "no such configuration file"
        raise ConfigError(f"{path}: {reason}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except TOO_DEEP:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply to parse") from None
    tool = data.get("tool", {})
    table = tool.get("loopcheck") if isinstance(tool, dict) else None
    if table is None:
        if explicit:
            raise ConfigError(f"{path}: no [tool.loopcheck] table")
        return Settings(root=path.parent.resolve(), source=path)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.loopcheck] must be a table")
    return _Reader(path, table, list(known_codes)).settings()


class _Reader:
    KEYS = (
        "select",
        "extend-select",
        "ignore",
        "per-file-ignores",
        "exclude",
        "extend-exclude",
        "extra-clients",
        "target-version",
        "max-file-size",
    )

    def __init__(self, path: Path, table: dict[str, Any], known_codes: list[str]) -> None:
        self.path = path
        self.table = table
        self.known_codes = known_codes

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: [tool.loopcheck] {key}: {problem}")

    def settings(self) -> Settings:
        for key in self.table:
            if key not in self.KEYS:
                hint = f" (did you mean '{key.replace('_', '-')}'?)" if "_" in key else ""
                raise ConfigError(
                    f"{self.path}: [tool.loopcheck]: unknown key '{key}'{hint}; "
                    f"known keys: {', '.join(self.KEYS)}"
                )
        select = self.codes("select") if "select" in self.table else None
        version = self.table.get("target-version")
        if version is not None and not isinstance(version, str):
            raise self.error("target-version", f"must be a string, one of {', '.join(TARGET_VERSIONS)}")
        if version is not None and version not in TARGET_VERSIONS:
            raise self.error(
                "target-version", f"{version!r} is not one of {', '.join(TARGET_VERSIONS)}"
            )
        clients = self.strings("extra-clients")
        for client in clients:
            if not DOTTED_NAME.match(client):
                raise self.error(
                    "extra-clients", f"{client!r} is not a qualified name like 'package.Client'"
                )
        size = self.table.get("max-file-size", DEFAULT_MAX_FILE_SIZE)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise self.error("max-file-size", "must be a number of bytes (0: no limit)")
        return Settings(
            root=self.path.parent.resolve(),
            source=self.path,
            select=None if select is None else tuple(select),
            extend_select=tuple(self.codes("extend-select")),
            ignore=tuple(self.codes("ignore")),
            per_file_ignores=self.per_file_ignores(),
            exclude=tuple(self.strings("exclude")) if "exclude" in self.table else DEFAULT_EXCLUDE,
            extend_exclude=tuple(self.strings("extend-exclude")),
            extra_clients=tuple(clients),
            target_version=None if version is None else TARGET_VERSIONS[version],
            max_file_size=size or None,
        )

    def strings(self, key: str, value: Any = None) -> list[str]:
        value = self.table.get(key, []) if value is None else value
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(key, "must be a list of strings")
        return value

    def codes(self, key: str, value: Any = None) -> list[str]:
        codes = parse_codes(self.strings(key, value))
        try:
            validate_codes(self.known_codes, codes)
        except SelectionError as error:
            raise self.error(key, str(error)) from None
        return codes

    def per_file_ignores(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        table = self.table.get("per-file-ignores", {})
        if not isinstance(table, dict):
            raise self.error("per-file-ignores", "must be a table of pattern = [codes]")
        return tuple(
            (pattern, tuple(self.codes(f"per-file-ignores.{pattern!r}", codes)))
            for pattern, codes in table.items()
        )
