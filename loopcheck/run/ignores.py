"""What ``.gitignore`` files leave out of a directory walk, matched by ``pathspec`` the way git
matches them: each directory's ``.gitignore`` speaks of the paths below it and outranks those of
the directories above, the last matching pattern of a file decides (``!`` re-includes), and the
repository's ``.git/info/exclude`` ranks below every ``.gitignore``, and the user's global excludes
file (``core.excludesFile``, by default ``$XDG_CONFIG_HOME/git/ignore``) below that, in a
repository only, as git reads it. The files above the walked
directory count from the project's top down: the git repository's top, or outside a repository
the configuration's directory (a ``.gitignore`` in a home directory does not hide a project)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopcheck.files import SourceError, read_regular

if TYPE_CHECKING:
    import pathspec


@dataclass(frozen=True)
class _Layer:
    """One ignore file's patterns and the directory they are relative to (absolute, ending
    with a separator)."""

    base: str
    spec: pathspec.GitIgnoreSpec


# The layers in force in a directory, most general first.
Layers = tuple[_Layer, ...]


def _read_layer(directory: str, file: str) -> _Layer | None:
    try:
        data = read_regular(file)[0]  # never waits on a fifo named .gitignore
    except SourceError:
        return None  # none, or unreadable: git too goes on without it
    import pathspec  # here: a run that walks no directory with a .gitignore does not pay for it

    lines = data.decode("utf-8", "surrogateescape").splitlines()
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    if not spec.patterns:
        return None
    return _Layer(directory.rstrip(os.sep) + os.sep, spec)


def _repository_top(directory: str) -> str | None:
    """The nearest directory at or above ``directory`` holding ``.git`` (a directory, or the
    file a worktree or submodule has)."""
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _shared_git_directory(repository: str) -> str | None:
    """Where the repository's ``info/exclude`` is: ``.git`` itself, or for a worktree (whose
    ``.git`` is a file, ``gitdir: ...``) the directory its ``commondir`` file names."""
    dot_git = os.path.join(repository, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    pointer = _first_line(dot_git)
    if pointer is None or not pointer.startswith("gitdir:"):
        return None
    own = os.path.join(repository, pointer[len("gitdir:") :].strip())
    common = _first_line(os.path.join(own, "commondir"))
    if common is None:
        return own  # a submodule's: its own directory is the whole repository
    return os.path.normpath(os.path.join(own, common.strip()))


def _first_line(path: str) -> str | None:
    try:
        lines = read_regular(path, 4096)[0].decode("utf-8", "surrogateescape").splitlines()
    except SourceError:
        return None
    return lines[0] if lines else None


def _global_excludes_file(shared: str) -> str | None:
    """The user's global ignore file: ``core.excludesFile`` as the repository's, the user's
    or the XDG git configuration sets it (the first of those that does), else git's default
    ``$XDG_CONFIG_HOME/git/ignore`` (``~/.config/git/ignore``)."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    configs = (os.path.join(shared, "config"), os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config"))
    for config in configs:
        value = _git_config_value(config, "core", "excludesfile")
        if value is not None:
            return os.path.expanduser(value) if value else None
    return os.path.join(xdg, "git", "ignore")


def _git_config_value(path: str, section: str, key: str) -> str | None:
    """The last value of ``section.key`` (both lower case) in the git configuration file
    ``path``: a plain reading of its ``[section]`` and ``key = value`` lines (quotes and
    trailing comments removed), enough for a file path; None when it is not set."""
    try:
        lines = read_regular(path, 1 << 20)[0].decode("utf-8", "surrogateescape").splitlines()
    except SourceError:
        return None
    current, found = None, None
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = line[1 : line.find("]")].strip().lower() if "]" in line else None
            continue
        name, _, value = line.partition("=")
        if current == section and name.strip().lower() == key:
            value = value.strip()
            if value.startswith('"'):
                value = value[1:].partition('"')[0]
            else:
                value = value.split("#")[0].split(";")[0].strip()
            found = value
    return found


def layers_above(top: str, project_root: str) -> Layers:
    """The layers in force in the walked directory ``top``: ``.git/info/exclude``, then the
    ``.gitignore`` of each directory from the project's top down to ``top``'s parent (``top``'s
    own is added by :func:`enter`, as every walked directory's is)."""
    absolute = os.path.abspath(top)
    repository = _repository_top(absolute)
    start = repository or os.path.abspath(project_root)
    if absolute != start and not absolute.startswith(start.rstrip(os.sep) + os.sep):
        return ()  # outside the project: only what lies inside the walked directory counts
    layers = []
    shared = _shared_git_directory(repository) if repository else None
    if shared is not None:
        for file in (_global_excludes_file(shared), os.path.join(shared, "info", "exclude")):
            exclude = _read_layer(start, file) if file else None
            if exclude is not None:
                layers.append(exclude)
    directory, between = absolute, []
    while directory != start:
        directory = os.path.dirname(directory)
        between.append(directory)
    for directory in reversed(between):
        layer = _read_layer(directory, os.path.join(directory, ".gitignore"))
        if layer is not None:
            layers.append(layer)
    return tuple(kept for kept in (_inside(layer, absolute) for layer in layers) if kept is not None)


def _inside(layer: _Layer, top: str) -> _Layer | None:
    """``layer`` as it applies inside the walked directory ``top``: without the patterns that
    ignore ``top`` itself or a directory above it. A directory named on the command line is
    walked even where a ``.gitignore`` above it leaves it out (a pyenv interpreter's standard
    library, under pyenv's ignored ``versions/``), as Ruff and ripgrep walk it; the patterns
    about what lies inside it still apply."""
    import pathspec

    relative = top[len(layer.base) :].replace(os.sep, "/").strip("/") + "/"
    kept = [pattern for pattern in layer.spec.patterns if not (pattern.include and pattern.match_file(relative))]
    if len(kept) == len(layer.spec.patterns):
        return layer
    return _Layer(layer.base, pathspec.GitIgnoreSpec(kept)) if kept else None


def enter(layers: Layers, directory: str) -> Layers:
    """The layers in force in ``directory`` (absolute), whose parent's are ``layers``."""
    own = _read_layer(directory, os.path.join(directory, ".gitignore"))
    return layers if own is None else (*layers, own)


def ignored(layers: Layers, path: str, is_directory: bool) -> bool:
    """Whether ``path`` (absolute, inside every layer's directory) is ignored: the nearest
    ignore file with a pattern matching it decides."""
    for layer in reversed(layers):
        relative = path[len(layer.base) :]
        if is_directory:
            relative += "/"  # `build/` patterns match directories only
        decided = layer.spec.check_file(relative).include
        if decided is not None:
            return decided
    return False
