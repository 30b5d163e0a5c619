"""Runs working programs before and after loopcheck's fixes and compares what they do.

A program (tests/programs/README.md) is copied into a directory of its own with a
``pyproject.toml`` that sets the Python its fixes target, run as ``python <name>.py``, then fixed
on copies (``--fix``, and ``--fix --unsafe-fixes``) through the command line and run again. What a
run does is its stdout, its stderr and its exit status; a run that does not finish within the
timeout is reported as a hang. Every problem is one message that shows both runs' outputs side by
side (a unified diff) and the fix's own diff, so a failing comparison can be read without
rerunning anything.

The fix step is a parameter (``fixer``): the tests inject a fix that changes behaviour on purpose to
check that a difference is caught."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from loopcheck.config import TARGET_VERSIONS
from tests.helpers import interpreters, invoke
from tests.runtime_deps import REQUIREMENTS, deps_dir

PROGRAMS = Path(__file__).parent / "programs"
TIMEOUT = 20.0  # seconds for one run of a program
DEFAULT_TARGET = "py310"
HEADER = re.compile(r"^#\s*loopcheck-program:\s*(?P<key>[a-z-]+)\s*=\s*(?P<value>.*?)\s*$")
CODE = re.compile(r"^LCK[0-9]{3}$")
SUPPORT = "_support"  # a sibling folder <name>_support/ travels with <name>.py


class HeaderError(ValueError):
    """A program whose `# loopcheck-program:` header is missing or wrong."""


@dataclasses.dataclass(frozen=True)
class Program:
    path: Path
    findings: tuple[str, ...]
    target_version: str = DEFAULT_TARGET
    unsafe_effect: str | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def support(self) -> Path:
        return self.path.with_name(self.path.stem + SUPPORT)


def programs() -> list[Path]:
    """Every program of tests/programs/."""
    return sorted(PROGRAMS.glob("*.py"))


def read_program(path: Path) -> Program:
    """The program's settings, from the comment lines it starts with."""
    settings: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        if not line.startswith("#"):
            break
        match = HEADER.match(line)
        if match:
            key = match.group("key")
            if key in settings:
                raise HeaderError(f"{path.name}: `{key}` is given twice")
            settings[key] = match.group("value")
    unknown = settings.keys() - {"findings", "target-version", "unsafe-effect"}
    if unknown:
        raise HeaderError(f"{path.name}: unknown header key(s) {', '.join(sorted(unknown))}")
    codes = tuple(c.strip() for c in settings.get("findings", "").split(",") if c.strip())
    if not codes or not all(CODE.match(code) for code in codes):
        raise HeaderError(
            f"{path.name}: the header must say `# loopcheck-program: findings = LCKxxx[, ...]`"
        )
    target = settings.get("target-version", DEFAULT_TARGET)
    if target not in TARGET_VERSIONS:
        raise HeaderError(f"{path.name}: target-version {target!r} is not one of {', '.join(TARGET_VERSIONS)}")
    effect = settings.get("unsafe-effect")
    if effect is not None:
        try:
            re.compile(effect)
        except re.error as error:
            raise HeaderError(f"{path.name}: unsafe-effect is not a regular expression: {error}") from None
    return Program(path, codes, target, effect)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one run of a program did."""

    stdout: str
    stderr: str
    status: int | None  # None: no result within the timeout
    timeout: float = dataclasses.field(default=TIMEOUT, compare=False)

    @property
    def hangs(self) -> bool:
        return self.status is None

    @property
    def clean(self) -> bool:
        """Exit status 0 and nothing on stderr, where asyncio reports what it swallows."""
        return self.status == 0 and not self.stderr

    def render(self) -> list[str]:
        status = f"no result after {self.timeout:g} s (hangs)" if self.hangs else str(self.status)
        lines = [f"exit status: {status}", "stdout:"]
        lines += ["  " + line for line in self.stdout.splitlines()]
        lines.append("stderr:")
        lines += ["  " + line for line in self.stderr.splitlines()]
        return lines


def third_party_path(program: Program, python: str) -> tuple[str, ...]:
    """The directory of tests/runtime_deps.py's packages when the program imports one of them
    (installed for that interpreter on first use), else nothing."""
    provided = {re.split(r"[<>=!~ ]", requirement)[0].replace("-", "_") for requirement in REQUIREMENTS}
    sources = [program.path, *(sorted(program.support.rglob("*.py")) if program.support.is_dir() else [])]
    imported = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    if not imported & provided:
        return ()
    version = next(v for v, p in interpreters().items() if p == python)
    return (str(deps_dir(python, version)),)


def interpreter_for(target: str) -> str | None:
    """The running interpreter, or the one the fixes target when that is newer."""
    wanted = TARGET_VERSIONS[target]
    if sys.version_info[:2] >= wanted:
        return sys.executable
    return interpreters().get(f"{wanted[0]}.{wanted[1]}")


def run(
    directory: Path, script: str, python: str = sys.executable, timeout: float = TIMEOUT,
    path: tuple[str, ...] = (),
) -> Outcome:
    """``python script`` from ``directory``, as a user runs it."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "LOOPCHECK_"))
    }
    environment.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    if path:
        environment["PYTHONPATH"] = os.pathsep.join(path)
    try:
        completed = subprocess.run(
            [python, script], cwd=directory, capture_output=True, text=True, timeout=timeout,
            env=environment, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        return Outcome(_local(expired.stdout, directory), _local(expired.stderr, directory), None, timeout)
    return Outcome(
        _local(completed.stdout, directory), _local(completed.stderr, directory), completed.returncode, timeout
    )


def _local(output: bytes | str | None, directory: Path) -> str:
    """The output with the copy's directory written `.`: copies live in different places."""
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    return (output or "").replace(str(directory), ".")


def loopcheck(*args: str, cwd: Path) -> Result:
    """loopcheck's command line, from ``cwd``, without a cache. In this process (click's runner):
    a process of its own would cost a second per call, importing LibCST."""
    result = invoke("--no-cache", *args, cwd=cwd)
    return Result(result.exit_code, result.stdout, result.stderr)


@dataclasses.dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli_fix(directory: Path, unsafe: bool) -> None:
    """``loopcheck --fix [--unsafe-fixes] .`` in ``directory``."""
    completed = loopcheck("--fix", *(["--unsafe-fixes"] if unsafe else []), ".", cwd=directory)
    if completed.returncode not in (0, 1):
        raise AssertionError(f"loopcheck --fix failed (exit status {completed.returncode}):\n{completed.stdout}{completed.stderr}")


Fixer = Callable[[Path, bool], None]  # fixes the files of a directory in place; bool: unsafe too


def reported_codes(directory: Path) -> set[str]:
    completed = loopcheck("--output-format", "json", ".", cwd=directory)
    if completed.returncode not in (0, 1):
        raise AssertionError(f"loopcheck failed (exit status {completed.returncode}):\n{completed.stderr}")
    return {finding["code"] for finding in json.loads(completed.stdout)}


def fix_diff(directory: Path, unsafe: bool) -> str:
    """What loopcheck's fix does to the program, as ``loopcheck --diff`` prints it."""
    return loopcheck("--diff", *(["--unsafe-fixes"] if unsafe else []), ".", cwd=directory).stdout


def tree_diff(before: Path, after: Path) -> str:
    """The difference between two copies of a program, as a unified diff (any fixer's)."""
    chunks = []
    for old in sorted(before.rglob("*.py")):
        relative = old.relative_to(before)
        new = after / relative
        chunks += difflib.unified_diff(
            old.read_text("utf-8").splitlines(keepends=True),
            new.read_text("utf-8").splitlines(keepends=True) if new.exists() else [],
            f"a/{relative}", f"b/{relative}",
        )
    return "".join(chunks)


def same_sources(before: Path, after: Path) -> bool:
    return not tree_diff(before, after)


def outcome_diff(expected: Outcome, actual: Outcome, labels: tuple[str, str]) -> str:
    return "\n".join(
        difflib.unified_diff(expected.render(), actual.render(), labels[0], labels[1], lineterm="")
    )


def copy_program(program: Program, directory: Path) -> Path:
    """The program (and its support folder) alone in ``directory``, with a pyproject.toml that
    sets the Python its fixes target. Returns ``directory``."""
    directory.mkdir(parents=True)
    shutil.copy(program.path, directory / program.path.name)
    if program.support.is_dir():
        shutil.copytree(program.support, directory / program.support.name)
    (directory / "pyproject.toml").write_text(
        f'[tool.loopcheck]\ntarget-version = "{program.target_version}"\n'
    )
    return directory


def copy_tree(source: Path, directory: Path) -> Path:
    shutil.copytree(source, directory, ignore=shutil.ignore_patterns("__pycache__", ".loopcheck_cache"))
    return directory


@dataclasses.dataclass
class Comparison:
    """The problems found with one program: empty when every fixed copy behaves as the original."""

    program: Program
    problems: list[str] = dataclasses.field(default_factory=list)
    runs: int = 0  # how many fixed copies were run and compared

    def __bool__(self) -> bool:
        return not self.problems

    def report(self) -> str:
        return f"{self.program.path.name}:\n" + "\n\n".join(self.problems)


def compare_program(
    program: Program,
    workdir: Path,
    fixer: Fixer = cli_fix,
    timeout: float = TIMEOUT,
    check_findings: bool = True,
) -> Comparison:
    """Runs ``program`` as written, after the safe fixes and after every fix, and compares."""
    result = Comparison(program)
    python = interpreter_for(program.target_version)
    if python is None:
        raise LookupError(f"no interpreter for {program.target_version}")
    script = program.path.name
    original = copy_program(program, workdir / "original")
    if check_findings:
        missing = set(program.findings) - reported_codes(original)
        if missing:
            result.problems.append(
                f"the original is not reported for {', '.join(sorted(missing))}: the program does not "
                "exercise what its header says"
            )
    path = third_party_path(program, python)
    before = run(original, script, python, timeout, path)
    if not before.clean:
        result.problems.append("the original does not run clean:\n" + "\n".join(before.render()))
        return result
    for label, unsafe in (("--fix", False), ("--fix --unsafe-fixes", True)):
        fixed = copy_tree(original, workdir / ("unsafe" if unsafe else "safe"))
        fixer(fixed, unsafe)
        after = before if same_sources(original, fixed) else run(fixed, script, python, timeout, path)
        result.runs += after is not before
        effect = program.unsafe_effect if unsafe else None
        if effect is not None:
            if after.hangs or not re.search(effect, after.stdout + after.stderr, re.MULTILINE):
                result.problems.append(
                    f"after `loopcheck {label}` the output does not show the documented effect "
                    f"/{effect}/{hangs_note(after)}:\n" + "\n".join(after.render())
                    + "\n\nthe fix:\n" + describe_fix(original, fixed, fixer, unsafe)
                )
        elif after != before:
            result.problems.append(
                f"after `loopcheck {label}` the program does something else{hangs_note(after)}:\n"
                + outcome_diff(before, after, ("as written", f"after {label}"))
                + "\n\nthe fix:\n" + describe_fix(original, fixed, fixer, unsafe)
            )
    return result


def hangs_note(outcome: Outcome) -> str:
    return f" (hangs after the fix: no result within {outcome.timeout:g} s)" if outcome.hangs else ""


def describe_fix(original: Path, fixed: Path, fixer: Fixer, unsafe: bool) -> str:
    if fixer is cli_fix:
        return fix_diff(original, unsafe)
    return tree_diff(original, fixed)
