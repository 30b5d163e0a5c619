"""Which files a run checks: what .gitignore files ignore is left out of directory walks, a walk
that finds no Python file says so, and a path named on the command line that cannot be read is
one line while the other paths are still checked."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import invoke, write

BAD = "import asyncio\n\nlock = asyncio.Lock()\n"


def checked(result) -> set[str]:
    return {line.split(":")[0] for line in result.stdout.splitlines() if ": LCK" in line}


def repository(root: Path) -> Path:
    (root / ".git" / "info").mkdir(parents=True)  # what finds a repository's top: a .git entry
    return root


# -- .gitignore ----------------------------------------------------------------------------


def test_ignored_files_and_directories_are_not_walked_into(tmp_path):
    root = repository(tmp_path)
    for name in ("app.py", "generated/models.py", "scratch.py", "pkg/local_settings.py", "pkg/mod.py"):
        write(root / name, BAD)
    write(root / ".gitignore", "generated/\nscratch.py\nlocal_*.py\n")
    assert checked(invoke(".", cwd=root)) == {"app.py", "pkg/mod.py"}


def test_nested_files_and_negations_decide_as_git_does(tmp_path):
    root = repository(tmp_path)
    for name in ("keep.py", "drop.py", "sub/drop.py", "sub/back.py", "sub/deep/back.py"):
        write(root / name, BAD)
    write(root / ".gitignore", "*.py\n!keep.py\n")
    write(root / "sub" / ".gitignore", "!back.py\n")  # the nearer file outranks the root's
    assert checked(invoke(".", cwd=root)) == {"keep.py", "sub/back.py", "sub/deep/back.py"}


def test_a_directory_only_pattern_leaves_files_of_that_name_alone(tmp_path):
    root = repository(tmp_path)
    write(root / "cache" / "x.py", BAD)
    write(root / "pkg" / "cache.py", BAD)
    write(root / ".gitignore", "cache/\ncache.py/\n")
    assert checked(invoke(".", cwd=root)) == {"pkg/cache.py"}


def test_the_repository_exclude_file_counts_below_the_gitignore_files(tmp_path):
    root = repository(tmp_path)
    for name in ("a.py", "b.py", "c.py"):
        write(root / name, BAD)
    write(root / ".git" / "info" / "exclude", "a.py\nb.py\n")
    write(root / ".gitignore", "!b.py\n")
    assert checked(invoke(".", cwd=root)) == {"b.py", "c.py"}


def test_the_users_global_excludes_file_counts_below_the_repository_ones(tmp_path, monkeypatch):
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    root = repository(tmp_path / "repo")
    for name in ("app.py", "scratch.py", "notes.py", "kept.py"):
        write(root / name, BAD)
    write(xdg / "git" / "ignore", "scratch.py\nkept.py\n")  # git's default place
    write(root / ".gitignore", "!kept.py\n")  # outranks the global file
    assert checked(invoke(".", cwd=root)) == {"app.py", "notes.py", "kept.py"}
    # core.excludesFile in the user's configuration (tab-indented, `~`) replaces the default.
    write(home / ".gitconfig", '[user]\n\tname = someone\n[core]\n\texcludesFile = "~/global-ignore" ; mine\n')
    write(home / "global-ignore", "notes.py\n")
    assert checked(invoke(".", cwd=root)) == {"app.py", "scratch.py", "kept.py"}
    # The repository's own configuration outranks the user's.
    write(root / ".git" / "config", f"[core]\n\texcludesfile = {tmp_path / 'repo-ignore'}\n")
    write(tmp_path / "repo-ignore", "app.py\n")
    assert checked(invoke(".", cwd=root)) == {"scratch.py", "notes.py", "kept.py"}
    # Outside a repository git reads no excludes file, nor does loopcheck.
    outside = tmp_path / "plain"
    write(outside / "app.py", BAD)
    assert checked(invoke(".", cwd=outside)) == {"app.py"}


def test_a_worktree_reads_the_exclude_file_of_the_repository_it_shares(tmp_path):
    main = repository(tmp_path / "main")
    write(main / ".git" / "info" / "exclude", "scratch.py\n")
    own = main / ".git" / "worktrees" / "side"
    write(own / "commondir", "../..\n")  # as `git worktree add` writes them
    side = tmp_path / "side"
    write(side / ".git", f"gitdir: {own}\n")
    write(side / "app.py", BAD)
    write(side / "scratch.py", BAD)
    assert checked(invoke(".", cwd=side)) == {"app.py"}


def test_a_walk_below_the_top_applies_the_gitignore_files_above_it(tmp_path):
    root = repository(tmp_path)
    write(root / "src" / "pkg" / "gen_api.py", BAD)
    write(root / "src" / "pkg" / "api.py", BAD)
    write(root / ".gitignore", "gen_*.py\n")
    write(root / "src" / ".gitignore", "/pkg/api.py\n")  # anchored to src/
    result = invoke("pkg", cwd=root / "src")
    assert result.exit_code == 0 and not checked(result)
    assert "no Python files found" in result.stderr
    write(root / "src" / "pkg" / "more.py", BAD)
    assert checked(invoke(".", cwd=root / "src" / "pkg")) == {"more.py"}


def test_a_directory_named_on_the_command_line_is_walked_though_a_gitignore_above_leaves_it_out(tmp_path):
    # pyenv's repository ignores `/versions/`: an interpreter's library under it is still walked
    # when named, and what the .gitignore files say about what lies inside it still applies.
    root = repository(tmp_path)
    write(root / ".gitignore", "/versions/\n*_pb2.py\n")
    library = root / "versions" / "3.11" / "lib" / "asyncio"
    write(library / "locks.py", BAD)
    write(library / "api_pb2.py", BAD)
    assert checked(invoke(".", cwd=library)) == {"locks.py"}
    assert checked(invoke("versions", cwd=root)) == {"versions/3.11/lib/asyncio/locks.py"}
    assert not checked(invoke(".", cwd=root))  # walked from above, it is left out


def test_outside_a_repository_gitignore_files_apply_from_the_project_down(tmp_path):
    write(tmp_path / ".gitignore", "*\n")  # above the project (a home directory's): not its own
    project = tmp_path / "project"
    write(project / "pyproject.toml", "[tool.loopcheck]\n")
    write(project / ".gitignore", "old/\n")
    write(project / "src" / "app.py", BAD)
    write(project / "src" / "old" / "legacy.py", BAD)
    assert checked(invoke("src", cwd=project)) == {"src/app.py"}


def test_files_named_on_the_command_line_are_checked_even_when_ignored(tmp_path):
    """pre-commit names files: naming one is asking for it (as in Ruff)."""
    root = repository(tmp_path)
    write(root / "scratch.py", BAD)
    write(root / ".gitignore", "scratch.py\n")
    result = invoke("scratch.py", cwd=root)
    assert result.exit_code == 1 and checked(result) == {"scratch.py"}


def test_the_option_and_the_setting_turn_it_off(tmp_path):
    root = repository(tmp_path)
    write(root / "app.py", BAD)
    write(root / "scratch.py", BAD)
    write(root / ".gitignore", "scratch.py\n")
    assert checked(invoke(".", cwd=root)) == {"app.py"}
    assert checked(invoke("--no-respect-gitignore", ".", cwd=root)) == {"app.py", "scratch.py"}
    write(root / "pyproject.toml", "[tool.loopcheck]\nrespect-gitignore = false\n")
    assert checked(invoke(".", cwd=root)) == {"app.py", "scratch.py"}
    assert checked(invoke("--respect-gitignore", ".", cwd=root)) == {"app.py"}


def test_show_files_and_show_settings_say_what_gitignore_files_leave_out(tmp_path):
    root = repository(tmp_path)
    write(root / "app.py", BAD)
    write(root / "scratch.py", BAD)
    write(root / ".gitignore", "scratch.py\n")
    assert invoke("--show-files", ".", cwd=root).output.splitlines() == ["app.py"]
    assert "respect-gitignore: true" in invoke("--show-settings", cwd=root).output.splitlines()
    off = invoke("--show-settings", "--no-respect-gitignore", cwd=root)
    assert "respect-gitignore: false" in off.output.splitlines()


def test_respect_gitignore_must_be_true_or_false(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.loopcheck]\nrespect-gitignore = "no"\n')
    write(tmp_path / "app.py", BAD)
    result = invoke(".", cwd=tmp_path)
    assert result.exit_code == 2
    assert "[tool.loopcheck] respect-gitignore: must be true or false" in result.stderr


def test_help_says_gitignore_files_are_respected(tmp_path):
    text = " ".join(invoke("--help", cwd=tmp_path).stdout.split())
    assert "--respect-gitignore / --no-respect-gitignore" in text
    assert "Files named on the command line are always checked." in text


# -- no Python file ------------------------------------------------------------------------


def test_a_walk_that_finds_no_python_file_warns_and_passes_nothing(tmp_path):
    write(tmp_path / "docs" / "index.md", "# docs\n")
    result = invoke("docs", cwd=tmp_path)
    assert result.exit_code == 0
    assert result.stderr == "loopcheck: warning: no Python files found under the given paths\n"
    assert "All checks passed." not in result.output
    assert invoke("-q", "docs", cwd=tmp_path).output == ""


def test_the_warning_is_not_given_when_files_were_checked_or_a_path_failed(tmp_path):
    write(tmp_path / "app.py", "x = 1\n")
    assert "warning" not in invoke(".", cwd=tmp_path).output
    missing = invoke("nowhere", cwd=tmp_path)  # the error line says what went wrong
    assert missing.exit_code == 2 and "warning" not in missing.output


def test_named_files_the_configuration_excludes_are_no_surprise(tmp_path):
    """pre-commit names the staged files; that all of them are excluded is the configuration's
    doing, and a warning at every commit would be noise."""
    write(tmp_path / "pyproject.toml", '[tool.loopcheck]\nextend-exclude = ["migrations"]\n')
    write(tmp_path / "migrations" / "0001.py", BAD)
    result = invoke("migrations/0001.py", cwd=tmp_path)
    assert result.exit_code == 0 and result.stderr == ""


def test_machine_formats_still_print_their_empty_report(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("--output-format", "json", "empty", cwd=tmp_path)
    assert result.exit_code == 0 and result.stdout == "[]\n" and "no Python files" in result.stderr


# -- unreadable paths named on the command line -------------------------------------------


@pytest.fixture
def unreadable(monkeypatch):
    """Names that cannot be read, whoever runs the tests (root reads every file): what the
    operating system answers for a file or directory without read permission."""
    names: set[str] = set()
    real_access, real_open, real_scandir = os.access, os.open, os.scandir

    def denied(path) -> bool:
        return os.path.basename(os.fsdecode(path)) in names

    def access(path, mode, *args, **kwargs):
        return False if denied(path) else real_access(path, mode, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if denied(path):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    def scandir(path="."):
        if denied(path):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "scandir", scandir)
    return names


@pytest.mark.parametrize(
    ("make", "line"),
    [
        ("file", "loopcheck: secret.py: cannot read: Permission denied"),
        ("directory", "loopcheck: secret.py: cannot read directory: Permission denied"),
        ("nothing", "loopcheck: secret.py: no such file or directory"),
    ],
)
def test_an_unreadable_path_is_one_line_and_the_others_are_checked(tmp_path, unreadable, make, line):
    write(tmp_path / "first.py", BAD)
    write(tmp_path / "last.py", BAD)
    if make == "file":
        write(tmp_path / "secret.py", BAD)
    elif make == "directory":
        write(tmp_path / "secret.py" / "inside.py", BAD)
    unreadable.add("secret.py")
    result = invoke("first.py", "secret.py", "last.py", cwd=tmp_path)
    assert result.exit_code == 2  # files that could not be checked
    assert result.stderr.splitlines() == [line]
    assert checked(result) == {"first.py", "last.py"}
    assert "could not be checked" in result.stdout and "Usage" not in result.output


def test_only_a_walk_that_meets_a_gitignore_file_imports_pathspec(tmp_path):
    """pathspec (about 17 ms to import) is imported only when a .gitignore file is met."""
    root = repository(tmp_path)
    write(root / "app.py", BAD)

    def imports() -> str:
        command = [sys.executable, "-X", "importtime", "-m", "loopcheck", "--no-cache", "."]
        return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300).stderr

    assert "pathspec" not in imports()
    write(root / ".gitignore", "scratch.py\n")
    assert "pathspec" in imports()
