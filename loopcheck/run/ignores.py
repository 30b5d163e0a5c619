"""What ``.gitignore`` files leave out of a directory walk, matched by ``pathspec`` the way git
matches them: each directory's ``.gitignore`` speaks of the paths below it and outranks those of
the directories above, the last matching pattern of a file decides (``!`` re-includes), and the
repository's ``.git/info/exclude`` ranks below every ``.gitignore``. The files above the walked
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
    exclude = _read_layer(start, os.path.join(shared, "info", "exclude")) if shared else None
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
    return tuple(layers)


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
