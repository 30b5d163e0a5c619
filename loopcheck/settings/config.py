"""``[tool.loopcheck]`` in ``pyproject.toml``: found by walking up from the paths checked, or
named with ``--config``. Every key is validated; a mistake is a one-line error naming the key."""

from __future__ import annotations

import ast
import configparser
import fnmatch
import functools
import itertools
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from loopcheck.data.catalogue import Catalogue
from loopcheck.files import DEFAULT_MAX_FILE_SIZE, SourceError, read_regular
from loopcheck.settings.selection import SelectionError, parse_codes, validate_codes

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
    ".ipynb_checkpoints",  # Jupyter's saved copies of the notebooks beside it
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
    # Larger files are not read (one line, exit status 2); None: no limit.
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE
    baseline: Path | None = None  # the baseline file; None: .loopcheck-baseline.json at the root
    # The Celery pool the project's workers run (data/entries.toml); None: what its code sets.
    celery_pool: str | None = None
    respect_gitignore: bool = True  # walks leave out what .gitignore files ignore

    def catalogue(self) -> Catalogue:
        """The catalogue with what these settings add to it."""
        return Catalogue.load(self.extra_clients, self.celery_pool)

    def excluded(self, path: str | PurePath, *, within_included: bool = False) -> bool:
        """Whether ``path`` (a file or directory) matches ``exclude`` or ``extend-exclude``.
        ``within_included``: its directory was tested and is not excluded, so only what ``path``
        adds (its name, its own relative path) is tested: a walk stays linear in the depth."""
        return self._matches(path, (*self.exclude, *self.extend_exclude), within_included)

    def files_excluded_in(self, directory: str) -> Callable[[str], bool]:
        """For a walk: whether the file ``name`` in ``directory`` (absolute and normalised, tested
        and not excluded itself) is excluded, as ``excluded(path, within_included=True)`` says.
        What the directory adds to its files' names is worked out once, not for each file."""
        matches = _globs((*self.exclude, *self.extend_exclude)).match
        parts = _relative_parts(directory, self.root)
        if parts is None:  # outside the root: only the name counts
            return lambda name: matches(name) is not None
        prefix = "".join(part + "/" for part in parts)
        return lambda name: matches(name) is not None or matches(prefix + name) is not None

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
        absolute = os.path.abspath(path)
        candidates = {os.path.basename(absolute)}
        parts = _relative_parts(absolute, self.root)
        if parts is not None:
            if within_included:  # the leading directories' candidates matched nothing
                candidates.add("/".join(parts))
            else:
                candidates.update(parts)
                candidates.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        matches = _globs(tuple(patterns)).match
        return any(matches(candidate) for candidate in candidates)


@functools.lru_cache(maxsize=256)
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One expression matching what ``fnmatch.fnmatchcase`` matches with any of ``patterns``
    (trailing slashes left out): a walk tests every file and directory against them."""
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern.rstrip('/'))})" for pattern in patterns) or "(?!)")


def _relative_parts(absolute: str, root: Path) -> tuple[str, ...] | None:
    """The parts of the absolute, normalised ``absolute`` below ``root`` (as
    ``PurePath.relative_to`` gives them), or None when it is not under ``root``."""
    if os.sep != "/" or os.altsep:  # a drive or case-insensitive names: as pathlib compares them
        try:
            return Path(absolute).relative_to(root).parts
        except ValueError:
            return None
    top = str(root)
    if absolute == top:
        return ()
    prefix = top if top.endswith("/") else top + "/"
    if not absolute.startswith(prefix) or top.startswith("//") != absolute.startswith("//"):
        return None
    return tuple(part for part in absolute[len(prefix) :].split("/") if part)


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
    return Settings() if found is None else parse_settings(found, known_codes)


# The oldest Python a fix may have to run on: the oldest target-version there is.
OLDEST_TARGET = min(TARGET_VERSIONS.values())


def fix_target(
    start: Path,
    configured: tuple[int, int] | None = None,
    declared: dict[Path, tuple[int, int] | None] | None = None,
) -> tuple[int, int]:
    """The oldest Python fixes of a file in ``start`` must run on, from the nearest directory
    at or above it that declares one (so each project of a monorepo gets its own): its
    pyproject.toml's ``[tool.loopcheck] target-version``, else its requires-python's lower
    bound, else ``python_requires`` in setup.cfg or setup.py. Where nothing declares one,
    ``configured`` (the run's target-version), else the oldest target: never the running
    interpreter, since a fix must run on every Python the project allows. ``declared`` keeps
    across calls (a run asks for many files of few projects) what each directory searched
    resolves to: the nearest declaration at or above it, None where there is none."""
    known = {} if declared is None else declared
    directory = start if start.is_dir() else start.parent
    below: list[Path] = []  # searched, declaring nothing themselves: theirs is what is found above
    found = None
    # Up to the first directory searched before or declaring one (the parents made one by one).
    for candidate_dir in itertools.chain((directory,), directory.parents):
        if candidate_dir in known:
            found = known[candidate_dir]
            break
        found = known[candidate_dir] = _declared_target(candidate_dir)
        if found is not None:
            break
        below.append(candidate_dir)
    known.update(dict.fromkeys(below, found))
    return found or configured or OLDEST_TARGET


def _declared_target(directory: Path) -> tuple[int, int] | None:
    """The target a directory's own project files declare, None when they declare none. A
    specifier without a readable floor counts as declared: its project allows any Python."""
    pyproject = _pyproject_data(directory) or {}  # read once for both of its keys
    version = _pyproject_loopcheck_target(pyproject)
    if version is not None:
        return version
    specifier = _pyproject_requires(pyproject)
    for read in (_setup_cfg_requires, _setup_py_requires):
        if specifier is None:
            specifier = read(directory)
    if specifier is not None:
        return max(python_floor(specifier) or OLDEST_TARGET, OLDEST_TARGET)
    return None


# One clause of a PEP 440 version specifier: an operator and a release (`3.10`, `3.10.*`);
# pre-, post- and dev-release suffixes and local labels are read as their release (no target
# needs finer than a minor version). `===` (arbitrary string equality) matches no release here.
_CLAUSE = re.compile(
    r"^(?P<op>~=|==|!=|<=|>=|<|>)\s*v?(?P<release>\d+(?:\.\d+)*)(?P<wildcard>\.\*)?"
    r"(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|post|rev|r|dev)[-_.]?\d*)*(?:\+[a-z0-9.]+)?$",
    re.IGNORECASE,
)


def python_floor(specifier: str) -> tuple[int, int] | None:
    """The oldest ``(3, minor)`` with a release the specifier set allows, read as PEP 440 does
    (``>3.9`` allows 3.9.1, so its floor is 3.9; ``!=3.9.*,>=3.8`` gives 3.8; ``>=3`` gives
    3.0). None when the specifier cannot be read or allows no Python 3."""
    clauses = []
    for text in specifier.split(","):
        match = _CLAUSE.match(text.strip())
        if match is None:
            return None
        release = tuple(int(part) for part in match["release"].split("."))
        op, wildcard = match["op"], bool(match["wildcard"])
        if (wildcard and op not in ("==", "!=")) or (op == "~=" and len(release) < 2):
            return None
        clauses.append((op, release, wildcard))
    if not clauses:
        return None
    minors = [release[1] for _, release, _ in clauses if len(release) > 1 and release[0] == 3]
    for minor in range(0, max(minors, default=0) + 2):
        if any(all(_allows(clause, version) for clause in clauses) for version in _releases(minor, clauses)):
            return (3, minor)
    return None


def _releases(minor: int, clauses: list[tuple[str, tuple[int, ...], bool]]) -> list[tuple[int, ...]]:
    """Releases 3.minor.x on both sides of every bound the clauses set on 3.minor: if any
    3.minor release is allowed, one of these is."""
    patches = {0, 10**6}
    for _, release, _ in clauses:
        if release[:2] == (3, minor) and len(release) > 2:
            patches.update((release[2], release[2] + 1))
    return [(3, minor, patch) for patch in sorted(patches)]


def _allows(clause: tuple[str, tuple[int, ...], bool], version: tuple[int, ...]) -> bool:
    op, release, wildcard = clause
    if wildcard:
        prefix = version[: len(release)] + (0,) * (len(release) - len(version))
        return (prefix == release) == (op == "==")
    width = max(len(release), len(version))
    have, want = _padded(version, width), _padded(release, width)
    if op == "~=":
        return have >= want and have[: len(release) - 1] == release[:-1]
    return {
        "==": have == want,
        "!=": have != want,
        "<=": have <= want,
        ">=": have >= want,
        "<": have < want,
        ">": have > want,
    }[op]


def _padded(release: tuple[int, ...], width: int) -> tuple[int, ...]:
    return release + (0,) * (width - len(release))


def _pyproject_data(directory: Path) -> dict[str, Any] | None:
    """The directory's pyproject.toml as read by the search: None where there is none to read
    (see :func:`_read_found`) or it is not TOML loopcheck can parse."""
    data = _read_found(directory / "pyproject.toml")
    if data is None:
        return None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, *TOO_DEEP):
        return None


def _pyproject_loopcheck_target(data: dict[str, Any]) -> tuple[int, int] | None:
    """A valid ``[tool.loopcheck] target-version`` in a pyproject.toml's ``data``."""
    tool = data.get("tool")
    table = tool.get("loopcheck") if isinstance(tool, dict) else None
    version = table.get("target-version") if isinstance(table, dict) else None
    return TARGET_VERSIONS.get(version) if isinstance(version, str) else None


def _pyproject_requires(data: dict[str, Any]) -> str | None:
    project = data.get("project", {})
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
        "baseline",
        "celery-pool",
        "respect-gitignore",
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
        baseline = self.table.get("baseline")
        if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
            raise self.error("baseline", "must be a file name (relative to this file's directory)")
        pool = self.table.get("celery-pool")
        pools = Catalogue.load().celery_pools
        if pool is not None and (not isinstance(pool, str) or pool not in pools):
            raise self.error("celery-pool", f"{pool!r} is not one of {', '.join(pools)}")
        respect_gitignore = self.table.get("respect-gitignore", True)
        if not isinstance(respect_gitignore, bool):
            raise self.error("respect-gitignore", "must be true or false")
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
            baseline=None if baseline is None else self.path.parent.resolve() / baseline,
            celery_pool=pool,
            respect_gitignore=respect_gitignore,
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
