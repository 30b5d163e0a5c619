"""[tool.loopcheck] in pyproject.toml: each key changes the result as the README documents, the
command line overrides it, and every mistake is one line naming the key, with exit status 2."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from loopcheck.settings.config import OLDEST_TARGET, fix_target, python_floor
from tests.helpers import invoke, run_loopcheck, write

MODULE_LOCK = "import asyncio\n\nLOCK = asyncio.Lock()\n"
# LCK101 on line 3 and LCK203 on line 7.
TWO_RULES = MODULE_LOCK + (
    "\n\ndef fetch(job):\n    return asyncio.get_event_loop().run_until_complete(job())\n"
)


def codes(result) -> list[str]:
    return sorted(line.split()[1] for line in result.stdout.splitlines() if ": LCK" in line)


def project(tmp_path, table: str, files: dict[str, str] | None = None):
    write(tmp_path / "pyproject.toml", f"[project]\nname = 'app'\n\n[tool.loopcheck]\n{table}\n")
    for name, text in (files or {"app.py": TWO_RULES}).items():
        write(tmp_path / name, text)
    return tmp_path


def test_without_configuration_every_rule_runs(tmp_path):
    write(tmp_path / "app.py", TWO_RULES)
    assert codes(invoke("app.py", cwd=tmp_path)) == ["LCK101", "LCK203"]


def test_select_ignore_and_extend_select(tmp_path):
    assert codes(invoke("app.py", cwd=project(tmp_path, 'select = ["LCK2"]'))) == ["LCK203"]
    assert codes(invoke("app.py", cwd=project(tmp_path, 'ignore = ["LCK203"]'))) == ["LCK101"]
    both = project(tmp_path, 'select = ["LCK1"]\nextend-select = ["LCK203"]')
    assert codes(invoke("app.py", cwd=both)) == ["LCK101", "LCK203"]


def test_the_command_line_overrides_select_and_adds_ignores(tmp_path):
    root = project(tmp_path, 'select = ["LCK2"]')
    assert codes(invoke("--select", "LCK1", "app.py", cwd=root)) == ["LCK101"]
    assert codes(invoke("--ignore", "LCK203", "app.py", cwd=root)) == []


def test_the_configuration_is_found_from_a_subdirectory_and_from_the_paths(tmp_path):
    root = project(tmp_path, 'ignore = ["LCK101"]', {"pkg/app.py": TWO_RULES})
    assert codes(invoke("app.py", cwd=root / "pkg")) == ["LCK203"]
    elsewhere = tmp_path.parent
    assert codes(invoke(root / "pkg" / "app.py", cwd=elsewhere)) == ["LCK203"]


def test_a_pyproject_without_the_table_does_not_stop_the_search(tmp_path):
    root = project(tmp_path, 'ignore = ["LCK101"]', {"pkg/app.py": TWO_RULES})
    write(root / "pkg" / "pyproject.toml", "[project]\nname = 'inner'\n")
    assert codes(invoke("app.py", cwd=root / "pkg")) == ["LCK203"]


def test_per_file_ignores(tmp_path):
    root = project(
        tmp_path,
        '[tool.loopcheck.per-file-ignores]\n"tests/*" = ["LCK101"]\n"scripts/run.py" = ["LCK2"]',
        {"tests/test_app.py": TWO_RULES, "scripts/run.py": TWO_RULES, "app.py": TWO_RULES},
    )
    result = invoke(".", cwd=root)
    found = sorted(
        (line.split(":")[0], line.split()[1]) for line in result.stdout.splitlines() if ": LCK" in line
    )
    assert found == [
        ("app.py", "LCK101"),
        ("app.py", "LCK203"),
        ("scripts/run.py", "LCK101"),
        ("tests/test_app.py", "LCK203"),
    ]


def test_per_file_ignores_are_not_fixed(tmp_path):
    root = project(tmp_path, '[tool.loopcheck.per-file-ignores]\n"app.py" = ["LCK203"]')
    invoke("--fix", "--unsafe-fixes", "app.py", cwd=root)
    assert "get_event_loop().run_until_complete" in (root / "app.py").read_text()


def test_exclude_and_extend_exclude(tmp_path):
    files = {"app.py": MODULE_LOCK, "generated/gen.py": MODULE_LOCK, "build/out.py": MODULE_LOCK}
    root = project(tmp_path, 'extend-exclude = ["generated"]', files)
    paths = {line.split(":")[0] for line in invoke(".", cwd=root).stdout.splitlines() if "LCK" in line}
    assert paths == {"app.py"}  # build/ stays excluded by default
    root = project(tmp_path, 'exclude = ["generated"]', files)
    paths = {line.split(":")[0] for line in invoke(".", cwd=root).stdout.splitlines() if "LCK" in line}
    assert paths == {"app.py", "build/out.py"}  # exclude replaces the default list


def test_files_named_explicitly_honour_configured_excludes(tmp_path):
    """pre-commit names every staged file: the configured excludes must still apply."""
    root = project(tmp_path, 'extend-exclude = ["generated/*.py"]', {"generated/gen.py": MODULE_LOCK})
    result = invoke("generated/gen.py", cwd=root)
    assert result.exit_code == 0 and "LCK" not in result.stdout


def test_target_version_sets_the_grammar(tmp_path):
    newer = "import asyncio\n\nmatch asyncio:\n    case _:\n        asyncio.run(main())\n"  # 3.10
    root = project(tmp_path, 'target-version = "py39"', {"app.py": newer})
    result = invoke("app.py", cwd=root)
    assert result.exit_code == 2 and "syntax error" in result.stderr
    root = project(tmp_path, 'target-version = "py310"', {"app.py": newer})
    assert invoke("app.py", cwd=root).exit_code == 0


def test_an_explicit_config_file(tmp_path):
    write(tmp_path / "app.py", TWO_RULES)
    write(tmp_path / "ci" / "loopcheck.toml", '[tool.loopcheck]\nselect = ["LCK203"]\n')
    assert codes(invoke("--config", "ci/loopcheck.toml", "app.py", cwd=tmp_path)) == ["LCK203"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('selekt = ["LCK1"]', "unknown key 'selekt'"),
        ('per_file_ignores = {}', "did you mean 'per-file-ignores'"),
        ('select = "LCK101"', "select: must be a list of strings"),
        ('select = ["LCK999"]', "select: unknown rule code or prefix 'LCK999'"),
        ('ignore = ["E501"]', "ignore: unknown rule code or prefix 'E501'"),
        ('target-version = "py27"', "target-version: 'py27' is not one of"),
        ('extra-clients = ["Client"]', "extra-clients: 'Client' is not a qualified name"),
        ('celery-pool = "processes"', "celery-pool: 'processes' is not one of prefork, solo, threads"),
        ("celery-pool = 4", "celery-pool: 4 is not one of"),
        ('per-file-ignores = ["x"]', "per-file-ignores: must be a table"),
        ('[tool.loopcheck.per-file-ignores]\n"a.py" = ["NOPE"]', "per-file-ignores.'a.py'"),
        ("select = [", "invalid TOML"),
    ],
)
def test_configuration_mistakes_are_one_line_naming_the_key(tmp_path, table, message):
    root = project(tmp_path, table)
    result = invoke("app.py", cwd=root)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "pyproject.toml" in result.stderr and message in result.stderr, result.stderr


def test_a_missing_or_tableless_config_file_is_an_error(tmp_path):
    write(tmp_path / "app.py", TWO_RULES)
    missing = invoke("--config", "nope.toml", "app.py", cwd=tmp_path)
    assert missing.exit_code == 2 and "no such configuration file" in missing.stderr
    write(tmp_path / "other.toml", "[tool.black]\n")
    tableless = invoke("--config", "other.toml", "app.py", cwd=tmp_path)
    assert tableless.exit_code == 2 and "no [tool.loopcheck] table" in tableless.stderr


def test_the_readme_example_configuration_is_valid(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    example = re.search(r"```toml\n(\[tool\.loopcheck\].*?)```", readme, re.DOTALL)
    assert example, "README.md shows a [tool.loopcheck] example"
    write(tmp_path / "pyproject.toml", example.group(1))
    write(tmp_path / "app.py", TWO_RULES)
    result = invoke("app.py", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    assert codes(result) == ["LCK101"]  # select LCK1 + LCK201/LCK204: LCK203 is not selected


HIDDEN_LOOP = (
    "import asyncio\n\n\nasync def job():\n    pass\n\n\ndef task():\n    loop = asyncio.new_event_loop()\n"
    "    try:\n        return loop.run_until_complete(job())\n    finally:\n        loop.close()\n"
)


@pytest.mark.parametrize(
    "project, fixed",
    [
        ('requires-python = ">=3.12"', "return asyncio.run(job(), loop_factory=asyncio.new_event_loop)"),
        ('requires-python = ">=3.11"', "with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:"),
        ('requires-python = ">=3.10"', None),
    ],
)
def test_requires_python_sets_the_target_when_target_version_is_absent(tmp_path, project, fixed):
    """A loop never made current keeps the caller's loop alone: how depends on the oldest Python."""
    write(tmp_path / "pyproject.toml", f'[project]\nname = "app"\n{project}\n')
    target = write(tmp_path / "app.py", HIDDEN_LOOP)
    result = invoke("--fix", "app.py", cwd=tmp_path)
    if fixed is None:
        assert result.exit_code == 1 and target.read_text() == HIDDEN_LOOP
    else:
        assert result.exit_code == 0, result.output
        assert fixed in target.read_text()


def test_target_version_wins_over_requires_python(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "app"\nrequires-python = ">=3.10"\n[tool.loopcheck]\ntarget-version = "py312"\n',
    )
    target = write(tmp_path / "app.py", HIDDEN_LOOP)
    assert invoke("--fix", "app.py", cwd=tmp_path).exit_code == 0
    assert "loop_factory=asyncio.new_event_loop" in target.read_text()


@pytest.mark.parametrize(
    "files, floor",
    [
        ({"setup.cfg": "[metadata]\nname = app\n[options]\npython_requires = >=3.9\n"}, (3, 9)),
        ({"setup.py": "from setuptools import setup\n\nsetup(name='app', python_requires='>=3.11')\n"}, (3, 11)),
        (
            {
                "pyproject.toml": '[project]\nname = "app"\nrequires-python = ">=3.12"\n',
                "setup.cfg": "[options]\npython_requires = >=3.9\n",
            },
            (3, 12),
        ),
        ({"pyproject.toml": "[build-system]\nrequires = []\n", "setup.cfg": "[options]\npython_requires = >=3.8\n"}, (3, 8)),
        ({"setup.cfg": "[metadata]\nname = app\n"}, OLDEST_TARGET),
    ],
)
def test_requires_python_also_comes_from_setup_cfg_and_setup_py(tmp_path, files, floor):
    """Projects that never moved to pyproject.toml declare their oldest Python in setup.cfg or
    setup.py; pyproject.toml's requires-python wins in the same directory."""
    for name, text in files.items():
        write(tmp_path / name, text)
    (tmp_path / "pkg").mkdir()
    assert fix_target(tmp_path / "pkg") == floor


@pytest.mark.parametrize("python_requires, fixed", [(">=3.12", True), (">=3.9", False)])
def test_setup_cfg_python_requires_sets_the_fix_target(tmp_path, python_requires, fixed):
    write(tmp_path / "setup.cfg", f"[metadata]\nname = app\n[options]\npython_requires = {python_requires}\n")
    write(tmp_path / "app.py", HIDDEN_LOOP)
    diff = invoke("--diff", "app.py", cwd=tmp_path).output
    assert ("loop_factory=asyncio.new_event_loop" in diff) is fixed


# -- the Python fixes target, through the command line ------------------------------------


def cli(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` in a process of its own (the real entry point)."""
    return run_loopcheck(*args, cwd=cwd, cache=True, text=True)


# What each declaration lets a hand-built loop that was never made current become: nothing on
# 3.10 (and older), an asyncio.Runner from 3.11, asyncio.run(loop_factory=...) from 3.12.
NO_FIX, RUNNER, LOOP_FACTORY = None, "asyncio.Runner(loop_factory=", "loop_factory=asyncio.new_event_loop)"


@pytest.mark.parametrize(
    "specifier, fixed",
    [
        (">3.9", NO_FIX),  # 3.9.1 is newer than 3.9 (PEP 440): the floor is 3.9
        (">=3", NO_FIX),  # no minor version: the oldest target
        ("~=3.10", NO_FIX),
        ("==3.11.*", RUNNER),
        (">=3.9,<4", NO_FIX),
        ("!=3.9.*,>=3.8", NO_FIX),
        ("!=3.10.*, !=3.11.*, >=3.10", LOOP_FACTORY),
        (">3.11.99", RUNNER),
        ("<4", NO_FIX),  # no floor at all: the oldest target, not the running interpreter
        ("not a specifier", NO_FIX),
    ],
)
def test_every_requires_python_specifier_sets_a_floor_never_the_running_interpreter(tmp_path, specifier, fixed):
    write(tmp_path / "pyproject.toml", f'[project]\nname = "app"\nrequires-python = "{specifier}"\n')
    target = write(tmp_path / "app.py", HIDDEN_LOOP)
    result = cli("--no-cache", "--fix", "app.py", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    if fixed is NO_FIX:
        assert result.returncode == 1 and target.read_text() == HIDDEN_LOOP, result.stdout
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert fixed in target.read_text()


def test_without_any_declaration_fixes_target_the_oldest_python(tmp_path):
    target = write(tmp_path / "app.py", HIDDEN_LOOP)
    result = cli("--no-cache", "--fix", "app.py", cwd=tmp_path)
    assert result.returncode == 1 and target.read_text() == HIDDEN_LOOP


@pytest.mark.parametrize(
    "name, text",
    [
        ("setup.cfg", "[options]\npython_requires = >=3\n"),
        ("setup.py", "from setuptools import setup\nsetup(python_requires='>3.9')\n"),
    ],
)
def test_python_requires_in_setup_files_is_read_as_a_specifier_too(tmp_path, name, text):
    write(tmp_path / name, text)
    target = write(tmp_path / "app.py", HIDDEN_LOOP)
    assert cli("--no-cache", "--fix", "app.py", cwd=tmp_path).returncode == 1
    assert target.read_text() == HIDDEN_LOOP


SPECIFIERS = [
    ">3.9", ">=3", "~=3.10", "~=3.10.2", "==3.11.*", ">=3.9,<4", "!=3.9.*,>=3.8", ">=3.10", "==3.12",
    ">=2.7,!=3.0.*,!=3.1.*,!=3.2.*,!=3.3.*", ">=3.8, !=3.8.*, !=3.9.*", ">3.10.99", "<3.11,>3.10.3",
    "==3.10.4", "!=3.10.0,!=3.10.1,==3.10.*", ">=3.10.0rc1", "<=3.9", "<3", ">=4", "~=3", "===3.11",
]


@pytest.mark.parametrize("specifier", SPECIFIERS)
def test_the_floor_is_the_oldest_minor_packaging_allows(specifier):
    """The small parser agrees with the reference implementation (the `packaging` library,
    which the tests have but loopcheck does not depend on)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        allowed = SpecifierSet(specifier)
    except InvalidSpecifier:
        assert python_floor(specifier) is None
        return
    expected = next(
        (
            (3, minor)
            for minor in range(0, 20)
            if any(allowed.contains(f"3.{minor}.{patch}") for patch in (*range(0, 120), 10**6))
        ),
        None,
    )
    assert python_floor(specifier) == expected


def monorepo(tmp_path: Path, first: str, second: str) -> tuple[Path, Path]:
    """A top directory with no Python declared, and two projects of their own below it."""
    write(tmp_path / "pyproject.toml", "[tool.loopcheck]\n")
    for name, specifier in (("old", first), ("new", second)):
        write(tmp_path / name / "pyproject.toml", f'[project]\nname = "{name}"\nrequires-python = "{specifier}"\n')
        write(tmp_path / name / "src" / "app.py", HIDDEN_LOOP)
    return tmp_path / "old" / "src" / "app.py", tmp_path / "new" / "src" / "app.py"


def test_each_file_gets_the_fix_its_own_project_allows(tmp_path):
    """Run from the top of a monorepo: each file's target is its nearest project's."""
    old, new = monorepo(tmp_path, ">=3.10", ">=3.12")
    result = cli("--no-cache", "--fix", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr  # the 3.10 project's stays
    assert old.read_text() == HIDDEN_LOOP
    assert LOOP_FACTORY in new.read_text()


def test_a_loopcheck_target_version_in_a_subproject_sets_its_files_target(tmp_path):
    old, new = monorepo(tmp_path, ">=3.10", ">=3.10")
    write(tmp_path / "new" / "pyproject.toml", '[project]\nname = "new"\n[tool.loopcheck]\ntarget-version = "py311"\n')
    cli("--no-cache", "--fix", ".", cwd=tmp_path)
    assert old.read_text() == HIDDEN_LOOP
    assert RUNNER in new.read_text()


def test_the_cache_keys_each_file_on_its_own_target(tmp_path):
    """A file whose bytes did not change is checked again when its project's floor did."""
    old, new = monorepo(tmp_path, ">=3.10", ">=3.12")
    cache = ("--cache-dir", tmp_path / "cache", "--output-format", "concise")
    fixable = lambda out: sorted(line.split(":")[0] for line in out.splitlines() if ": LCK" in line and "[*]" in line)  # noqa: E731
    first = cli(*cache, ".", cwd=tmp_path)
    assert fixable(first.stdout) == ["new/src/app.py"]
    assert fixable(cli(*cache, ".", cwd=tmp_path).stdout) == ["new/src/app.py"]  # from the cache
    write(tmp_path / "old" / "pyproject.toml", '[project]\nname = "old"\nrequires-python = ">=3.12"\n')
    write(tmp_path / "new" / "pyproject.toml", '[project]\nname = "new"\nrequires-python = ">=3.10"\n')
    assert fixable(cli(*cache, ".", cwd=tmp_path).stdout) == ["old/src/app.py"]


@pytest.mark.parametrize("below", ["", "pkg", "pkg/sub", "../elsewhere", "../elsewhere/pkg"])
def test_a_walk_excludes_a_directorys_files_as_excluded_does(tmp_path, below):
    # The walk asks once per directory (files_excluded_in) what excluded() works out per file.
    from loopcheck.settings.config import Settings

    patterns = ("gen_*.py", "pkg/skip.py", "pkg/sub/*.py", "sub", "*/elsewhere/pkg/*.py", "elsewhere/pkg/x.py")
    settings = Settings(root=tmp_path / "root", exclude=(), extend_exclude=patterns)
    directory = os.path.normpath(tmp_path / "root" / below)
    excluded = settings.files_excluded_in(directory)
    names = ["app.py", "gen_a.py", "skip.py", "x.py", "sub", "pkg"]
    expected = [settings.excluded(os.path.join(directory, name), within_included=True) for name in names]
    assert [excluded(name) for name in names] == expected
    assert any(expected) and not all(expected)


def test_the_fix_targets_remembered_across_searches_are_those_of_each_search_alone(tmp_path):
    # One memo for a run's searches: each directory keeps what it resolves to (the nearest
    # declaration at or above it), whatever was asked before it.
    write(tmp_path / "repo" / "pyproject.toml", "[project]\nname = 'repo'\nrequires-python = '>=3.9'\n")
    write(tmp_path / "repo" / "sub" / "pyproject.toml", "[tool.loopcheck]\ntarget-version = 'py311'\n")
    places = ["repo/a/b/c", "repo/sub/d/e", "repo/a", "repo/sub", "repo/a/b", "repo", "elsewhere/x", "repo/sub/d"]
    for place in places:
        (tmp_path / place).mkdir(parents=True, exist_ok=True)
    alone = {place: fix_target(tmp_path / place) for place in places}
    assert alone["repo/a/b/c"] == (3, 9) and alone["repo/sub/d/e"] == (3, 11)
    for order in (places, places[::-1], sorted(places)):
        memo: dict = {}
        assert {place: fix_target(tmp_path / place, None, memo) for place in order} == alone
