"""The directories an import starts from (the project's roots), and each file's module name.

Nothing is imported and nothing is run: the layout is read from the file system and from the
project's configuration files only.

- A file's package is found by walking up while the directory has an ``__init__.py`` (a regular
  package); the directory above the top package is a root. A file outside any package (a script
  named on the command line, a module beside it) is the module of its own stem, with its
  directory as a root.
- The project directory is the nearest directory above a file with a ``pyproject.toml``, a
  ``setup.cfg``, a ``setup.py`` or a ``.git`` (a repository's top). Without one, the project is
  the file's top package (or, for a lone script, the modules beside it). Its configuration may
  *declare* roots and package directories:
  ``[tool.setuptools] package-dir`` (``""`` names a root, any other key a package directory of that
  name), ``[tool.setuptools.packages.find] where``, Poetry's ``packages = [{include, from}]``,
  Hatch's ``[tool.hatch.build.targets.wheel] packages`` (each a package directory, its parent a
  root), ``setup.cfg``'s ``[options] package_dir``; a ``src/`` directory is a declared root too.
  A ``pyproject.toml`` that cannot be read or parsed declares nothing (its errors are the
  settings' to report).
- **Namespace packages.** A directory without ``__init__.py`` is a namespace package when it lies
  under a declared root (``src/ns/pkg/mod.py`` is ``ns.pkg.mod``): a declared root holds only
  importable code, as setuptools' ``find_namespace:`` sees it. Anywhere else, such a directory is a
  plain folder of scripts (``scripts/tool.py`` is the module ``tool``, ``scripts`` its root), unless
  a project module imports it by name (``Roots.use_imports``: the model gives the dotted names the
  project's import lines name), in which case it is a namespace package under the package or
  directory above it, up to the project's own directory: ``app/tools`` in the regular package
  ``app`` is ``app.tools`` when ``app.tools`` (or ``app.tools.x``) is imported. A folder inside
  a regular package belongs to that package's project. And a module never takes the top-level
  name of a library it imports itself (``ptz/onvif.py`` importing ``onvif`` would import
  itself): its folder inside a package is then a namespace package of it, imported or not.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopcheck.files import SourceError, read_regular
from loopcheck.project.pytest_config import PytestAsyncio, configured_pytest_asyncio

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# A project's directory: its configuration, or the top of its repository.
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


@dataclass(frozen=True)
class Layout:
    """What one project directory's configuration declares: import roots, and package
    directories whose package name is not their directory's name (or is dotted)."""

    roots: frozenset[Path] = frozenset()
    packages: tuple[tuple[Path, str], ...] = ()
    # What the project's pytest configuration changes of pytest-asyncio's defaults.
    pytest_asyncio: PytestAsyncio | None = None


@dataclass
class Roots:
    """The roots of a set of files' projects, and the module name of each file under them.

    ``roots``: every import root found. ``declared``: the roots configuration or a ``src/`` layout declares
    (under them, directories without ``__init__.py`` are namespace packages). ``listed``: the
    directories whose Python files make up the projects (a project directory; without one, the
    top package directory, or the directory of a lone script, whose subdirectories are not
    listed: ``beside``)."""

    roots: set[Path] = field(default_factory=set)
    declared: set[Path] = field(default_factory=set)
    packages: dict[Path, str] = field(default_factory=dict)
    listed: set[Path] = field(default_factory=set)
    beside: set[Path] = field(default_factory=set)  # of ``listed``: only their own files count
    # By project directory, what its pytest configuration changes of pytest-asyncio's defaults
    # (project/pytest_config.py).
    pytest_asyncio: dict[Path, PytestAsyncio] = field(default_factory=dict)
    # Dotted names project modules import and their prefixes (``import ns.mod`` gives ``ns`` and
    # ``ns.mod``): a folder of such a name, without ``__init__.py``, is a namespace package (set
    # with ``use_imports``).
    imported: frozenset[str] = frozenset()
    # Looked up once per directory and run: whether it is a regular package, its project
    # directory (None: no marker above it), the project of its files, their package's name.
    regular: dict[Path, bool] = field(default_factory=dict)
    projects: dict[Path, Path | None] = field(default_factory=dict)
    units: dict[Path, Path] = field(default_factory=dict)
    prefixes: dict[Path, tuple[str, ...]] = field(default_factory=dict)
    directories: dict[str, Path] = field(default_factory=dict)  # each directory's Path, made once

    def use_imports(self, names: Iterable[str]) -> None:
        """The absolute dotted names the project's modules import (they decide namespace
        packages)."""
        prefixes = set()
        for name in names:
            parts = name.split(".")
            prefixes.update(".".join(parts[: end + 1]) for end in range(len(parts)))
        self.imported = frozenset(prefixes)
        self.prefixes.clear()

    def project_of_file(self, path: str | os.PathLike[str]) -> Path:
        """The project ``path`` belongs to: its project directory, or without one its top package
        directory (a lone script's own directory). An import resolves to a module of its own
        project only: another project checked in the same run is not what the import finds when
        the code runs (that is the installed one)."""
        return self.project_of_directory(Path(os.path.dirname(os.path.abspath(path))))

    def pytest_asyncio_of(self, path: str | os.PathLike[str]) -> PytestAsyncio | None:
        """What the pytest configuration of the project ``path`` belongs to changes of pytest-asyncio's
        defaults."""
        return self.pytest_asyncio.get(self.project_of_file(path)) if self.pytest_asyncio else None

    def project_of_directory(self, directory: Path) -> Path:
        """The project of the files in ``directory`` (see :meth:`project_of_file`)."""
        unit = self.units.get(directory)
        if unit is None:
            unit = self.units[directory] = self._unit(directory)
        return unit

    def _unit(self, directory: Path) -> Path:
        project = project_of(directory, self.projects)
        if project is not None:
            return project
        # A folder inside a regular package (through folders that could be namespace packages)
        # is part of that package's tree.
        inside = directory
        while not self.is_package_directory(inside) and inside.name.isidentifier() and inside.parent != inside:
            inside = inside.parent
        top = inside if self.is_package_directory(inside) else directory
        while self.is_package_directory(top):
            top = top.parent
        return directory if top == directory else top / directory.relative_to(top).parts[0]

    def is_package_directory(self, directory: Path) -> bool:
        known = self.regular.get(directory)
        if known is None:
            known = self.regular[directory] = _is_regular_package(directory)
        return known

    def module_name(self, path: str | os.PathLike[str], imports: Iterable[str] = ()) -> tuple[str, bool] | None:
        """The dotted module name of the Python file ``path`` and whether it is a package's
        ``__init__``, or None when it has none (not a ``.py`` file). ``imports``: the top-level
        names the file itself imports (it never takes one of them as its own name)."""
        directory, name = os.path.split(os.path.abspath(path))
        dot = name.rfind(".")  # the stem and suffix as pathlib splits them
        stem, suffix = (name[:dot], name[dot:]) if 0 < dot < len(name) - 1 else (name, "")
        if suffix != ".py":
            return None
        parent = self.directories.get(directory)
        if parent is None:
            parent = self.directories[directory] = Path(directory)
        prefix = self._prefix(parent)
        is_package = stem == "__init__"
        if not prefix and not is_package and stem in set(imports):
            prefix = self._package_name(parent, any_folder=True)
        parts = prefix if is_package else (*prefix, stem)
        if not parts:  # an __init__.py whose directory is not a package name
            return None
        return ".".join(parts), is_package

    def _prefix(self, directory: Path) -> tuple[str, ...]:
        prefix = self.prefixes.get(directory)
        if prefix is None:
            prefix = self.prefixes[directory] = self._package_name(directory)
        return prefix

    def _package_name(self, directory: Path, any_folder: bool = False) -> tuple[str, ...]:
        """The dotted name of the package the modules in ``directory`` belong to, as parts
        (none: they are top-level modules). ``any_folder``: ``directory``, inside a package, is
        a namespace package of it even when no module imports it by name."""
        renamed = self.packages.get(directory)
        if renamed is not None:
            return tuple(renamed.split("."))
        if self.is_package_directory(directory):
            return (*self._prefix(directory.parent), directory.name)
        # ``directory`` is not a regular package: a root, or a namespace package under one.
        declared = next((root for root in self.declared if _within(directory, root)), None)
        if declared is not None:
            return directory.relative_to(declared).parts
        # A folder a project module imports by name, up to the project's own directory.
        if (
            not directory.name.isidentifier()
            or directory in self.listed
            or not any(_within(directory, listed) for listed in self.listed)
        ):
            return ()
        above = self._prefix(directory.parent)
        name = (*above, directory.name)
        if ".".join(name) in self.imported or (any_folder and above):
            return name
        return ()


def _within(directory: Path, root: Path) -> bool:
    """``directory`` is ``root`` or under it (compared as text: this runs for every file)."""
    inner, outer = str(directory), str(root)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def _is_regular_package(directory: Path) -> bool:
    return directory.name.isidentifier() and os.path.isfile(os.path.join(directory, "__init__.py"))


def project_of(directory: Path, known: dict[Path, Path | None] | None = None) -> Path | None:
    """The nearest directory at or above ``directory`` with a project marker (``known``: the
    answers found so far, for every directory looked at on the way up)."""
    known = {} if known is None else known
    passed = []
    found = None
    candidate = directory
    while True:
        if candidate in known:
            found = known[candidate]
            break
        passed.append(candidate)
        if any(os.path.exists(os.path.join(candidate, marker)) for marker in PROJECT_MARKERS):
            found = candidate
            break
        if candidate.parent == candidate:
            break
        candidate = candidate.parent
    for candidate in passed:
        known[candidate] = found
    return found


def find_roots(files: Iterable[str]) -> Roots:
    """The roots of the projects ``files`` belong to (see the module's description)."""
    found = Roots()
    layouts: dict[Path, Layout] = {}
    pytests: dict[Path, PytestAsyncio | None] = {}  # pytest's configuration, by directory
    # What follows depends on a file's directory only: each directory is looked at once.
    for name in directories_of(files):
        directory = Path(name)
        top = directory
        while found.is_package_directory(top):
            top = top.parent
        found.roots.add(top)
        project = project_of(directory, found.projects)
        if project is None:
            # No project: its package, or the modules beside a lone script.
            package = found.project_of_directory(directory)
            found.listed.add(package)
            if package == directory and top == directory:
                found.beside.add(package)
            continue
        found.listed.add(project)
        if project in layouts:
            continue
        layout = layouts[project] = read_layout(project, pytests)
        if layout.pytest_asyncio is not None:
            found.pytest_asyncio[project] = layout.pytest_asyncio
        found.roots |= layout.roots
        found.declared |= layout.roots
        found.packages.update(layout.packages)
        for directory, _ in layout.packages:
            found.roots.add(directory.parent)
    return found


def directories_of(files: Iterable[str]) -> list[str]:
    """The absolute directories of ``files``, each once, in order (made absolute once each)."""
    return list(dict.fromkeys(os.path.abspath(name) for name in dict.fromkeys(map(os.path.dirname, files))))


def module_name(path: str | os.PathLike[str]) -> tuple[str, bool] | None:
    """The dotted module name of ``path`` and whether it is a package's ``__init__``, with the
    roots its own project declares."""
    return find_roots([os.fspath(path)]).module_name(path)


def read_layout(project: Path, pytests: dict[Path, PytestAsyncio | None] | None = None) -> Layout:
    """The roots and package directories ``project``'s configuration declares, and what its
    pytest configuration says of pytest-asyncio (``pytests``: found so far, by directory)."""
    roots: set[Path] = set()
    packages: dict[Path, str] = {}
    if (project / "src").is_dir() and not _is_regular_package(project / "src"):
        roots.add(project / "src")
    tool = _table(_read_pyproject(project / "pyproject.toml"), "tool")
    setuptools = _table(tool, "setuptools")
    _package_dirs(project, setuptools.get("package-dir"), roots, packages)
    where = _table(_table(setuptools, "packages"), "find").get("where")
    for directory in where if isinstance(where, list) else ():
        if isinstance(directory, str):
            roots.add(_inside(project, directory))
    poetry = _table(tool, "poetry").get("packages")
    for entry in poetry if isinstance(poetry, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("include"), str):
            base = _inside(project, entry["from"] if isinstance(entry.get("from"), str) else ".")
            include = entry["include"]
            if base != project or ("*" not in include and "/" in include.strip("/")):  # ``ns/pkg``
                roots.add(base)
    hatch = _table(_table(_table(_table(tool, "hatch"), "build"), "targets"), "wheel").get("packages")
    for directory in hatch if isinstance(hatch, list) else ():
        if isinstance(directory, str) and directory.strip("/"):
            roots.add(_inside(project, directory).parent)
    _package_dirs(project, _setup_cfg_package_dir(project / "setup.cfg"), roots, packages)
    roots.discard(project)  # the project directory itself is a root found by walking up
    return Layout(frozenset(roots), tuple(sorted(packages.items())), configured_pytest_asyncio(project, pytests))


def _package_dirs(project: Path, mapping: Any, roots: set[Path], packages: dict[Path, str]) -> None:
    """setuptools' ``package_dir``: ``""`` names the root, any other key a package's directory."""
    if not isinstance(mapping, dict):
        return
    for name, directory in mapping.items():
        if not (isinstance(name, str) and isinstance(directory, str)):
            continue
        if name == "":
            roots.add(_inside(project, directory))
        elif all(part.isidentifier() for part in name.split(".")):
            packages[_inside(project, directory)] = name


def _setup_cfg_package_dir(path: Path) -> dict[str, str] | None:
    """``[options] package_dir`` of a setup.cfg (``=src`` lines, one a mapping)."""
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        data, _ = read_regular(str(path))
        parser.read_string(data.decode("utf-8"))
        value = parser.get("options", "package_dir", fallback="")
    except (configparser.Error, SourceError, UnicodeDecodeError):
        return None
    mapping = {}
    for line in value.replace(",", "\n").splitlines():
        name, equals, directory = line.partition("=")
        if equals:
            mapping[name.strip()] = directory.strip()
    return mapping


def _read_pyproject(path: Path) -> dict[str, Any]:
    # Read as the settings read it: a regular file only (a fifo in its place never blocks).
    try:
        data, _ = read_regular(str(path))
        return tomllib.loads(data.decode("utf-8"))
    except (SourceError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
        return {}


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _inside(project: Path, directory: str) -> Path:
    return Path(os.path.normpath(project / directory))
