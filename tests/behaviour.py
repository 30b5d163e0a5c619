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

from hypothesis import reject
from hypothesis import strategies as st

from loopcheck.engine.registry import rule_index
from loopcheck.settings.config import TARGET_VERSIONS
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


MODERNISATIONS = tuple(
    option
    for code, rule in rule_index().items()
    if rule.tier == "modernisation"
    for option in ("--extend-select", code)
)


def loopcheck(*args: str, cwd: Path) -> Result:
    """loopcheck's command line, from ``cwd``, without a cache. In this process (click's runner):
    a process of its own would cost a second per call, importing LibCST. A working program runs
    its objects on one loop, where the project model finds them confined and reports (and fixes)
    them only with ``--include-confined``: every fix must keep the program's behaviour, the
    modernisation tier's (opt-in) too."""
    result = invoke("--no-cache", "--include-confined", *MODERNISATIONS, *args, cwd=cwd)
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
        raise AssertionError(
            f"loopcheck --fix failed (exit status {completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )


Fixer = Callable[[Path, bool], None]  # fixes the files of a directory in place; bool: unsafe too


def reported_codes(directory: Path) -> set[str]:
    completed = loopcheck("--output-format", "json", ".", cwd=directory)
    if completed.returncode not in (0, 1):
        raise AssertionError(f"loopcheck failed (exit status {completed.returncode}):\n{completed.stderr}")
    return {finding["code"] for finding in json.loads(completed.stdout)}


def stated_unsafe_effects(directory: Path) -> list[str]:
    """The unsafe fixes of the program whose titles state how they change what it does
    (``... (unsafe: <effect>)``): the change those fixes make is documented, not hidden."""
    completed = loopcheck("--output-format", "json", ".", cwd=directory)
    if completed.returncode not in (0, 1):
        raise AssertionError(f"loopcheck failed (exit status {completed.returncode}):\n{completed.stderr}")
    fixes = (finding["fix"] for finding in json.loads(completed.stdout))
    return [
        fix["message"]
        for fix in fixes
        if fix is not None and fix["applicability"] == "unsafe" and "(unsafe: " in fix["message"]
    ]


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
    # unsafe fixes that changed the output as their titles state (generated programs only)
    stated_changes: list[str] = dataclasses.field(default_factory=list)
    original: Outcome | None = None  # the run as written (None: not run)

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
    stated_effects: bool = False,
) -> Comparison:
    """Runs ``program`` as written, after the safe fixes and after every fix, and compares.
    With ``stated_effects``, the unsafe fixes may change the output where their titles state an
    effect (a generated program has no header to state one)."""
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
    before = result.original = run(original, script, python, timeout, path)
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
        elif after != before and unsafe and stated_effects and not after.hangs and (
            stated := stated_unsafe_effects(original)
        ):
            result.stated_changes.extend(stated)
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


# Generated programs: small working programs built from the shapes the fixes rewrite. Each
# program is a few scenarios, each printing deterministic results from main(); the shapes a
# program uses are named ("lck201:work=executor") so that known-broken ones can be left out or
# asked for.


@dataclasses.dataclass(frozen=True)
class Generated:
    text: str
    target_version: str
    shapes: frozenset[str]


def _block(text: str, indent: int) -> str:
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def _pick(draw, shapes: set[str], name: str, options, force: dict):
    if name in force:
        value = next(option for option in options if str(option) == str(force[name]))
    else:
        value = draw(st.sampled_from(options))
    shapes.add(f"{name}={value}")
    return value


def shape_choices(shape: str) -> dict[str, str]:
    """The choices a shape name stands for: "lck201:work=x+for-loop=True" → {"lck201:work": "x",
    "lck201:for-loop": "True"}; "a & b": the choices of both."""
    choices = {}
    for conjunct in shape.split(" & "):
        prefix = conjunct.split(":")[0]
        for part in conjunct.split("+"):
            name, value = part.split("=", 1)
            choices[name if ":" in name else f"{prefix}:{name}"] = value
    return choices


LCK201_WORK = ("value", "background-finished", "background-handoff", "executor", "future-argument",
               "future-returning", "gather", "async-generator-left-open")


@st.composite
def lck201_scenario(draw, i: int, force: dict):
    """A function that builds a loop, runs a coroutine on it and closes it, called twice."""
    shapes: set[str] = set()
    form = _pick(
        draw, shapes, "lck201:form", ("sequence", "try-finally", "try-finally+shutdown", "closing", "closing+cm"), force
    )
    current = _pick(draw, shapes, "lck201:set-current", (True, False), force)
    reset = current and _pick(draw, shapes, "lck201:reset-current", (True, False), force)
    repeat = _pick(draw, shapes, "lck201:for-loop", (False, True), force)
    source = _pick(draw, shapes, "lck201:coroutine", ("module", "parameter"), force)
    work = _pick(draw, shapes, "lck201:work", LCK201_WORK, force)
    wrapper = _pick(draw, shapes, "lck201:wrapper", ("function", "closure"), force)
    shapes.add(f"lck201:work={work}+for-loop={repeat}")

    job = "job" if source == "parameter" else f"work_{i}"
    defs = {
        "value": f"async def work_{i}(n):\n    await asyncio.sleep(0)\n    return n * 10 + {i}\n",
        "background-finished": (
            f"log_{i} = []\n\n\nasync def note_{i}(n):\n    await asyncio.sleep(0)\n    log_{i}.append(n)\n\n\n"
            f"async def work_{i}(n):\n    asyncio.ensure_future(note_{i}(n))\n    await asyncio.sleep(0)\n"
            f"    await asyncio.sleep(0)\n    return list(log_{i})\n"
        ),
        "background-handoff": (
            f"pending_{i} = []\n\n\nasync def work_{i}(n):\n    if pending_{i}:\n"
            f"        return await pending_{i}.pop()\n"
            f"    pending_{i}.append(asyncio.ensure_future(asyncio.sleep(0.01, result=n)))\n"
            f"    return 'started'\n"
        ),
        "executor": (
            f"def square_{i}(n):\n    return n * n\n\n\nasync def work_{i}(n):\n"
            f"    return await asyncio.get_running_loop().run_in_executor(None, square_{i}, n)\n"
        ),
        "future-argument": (
            f"async def work_{i}(n, future):\n    future.get_loop().call_soon(future.set_result, n)\n"
            f"    return await future\n"
        ),
        "future-returning": (
            f"async def value_{i}(n):\n    await asyncio.sleep(0)\n    return n + {i}\n\n\n"
            f"def work_{i}(n):\n    return asyncio.ensure_future(value_{i}(n))\n"
        ),
        "gather": f"async def work_{i}(n):\n    await asyncio.sleep(0)\n    return -n\n",
        "async-generator-left-open": (
            f"closed_{i} = []\n\n\nasync def rows_{i}(n):\n    try:\n        for k in range(3):\n"
            f"            yield n + k\n    finally:\n        closed_{i}.append(n)\n\n\n"
            f"async def work_{i}(n):\n    async for row in rows_{i}(n):\n        return [row, list(closed_{i})]\n"
        ),
    }[work]

    def call(argument: str) -> str:
        if work == "future-argument":
            return f"{job}({argument}, asyncio.Future())"
        if work == "gather":
            return f"asyncio.gather({job}({argument}), {job}({argument} + 1))"
        return f"{job}({argument})"

    if repeat:
        run = (
            "results = []\nfor k in range(2):\n"
            f"    results.append(loop.run_until_complete({call('n + k')}))\n"
        )
        result = "results"
    else:
        run = f"result = loop.run_until_complete({call('n')})\n"
        result = "result"
    set_current = "asyncio.set_event_loop(loop)\n" if current else ""
    unset = "asyncio.set_event_loop(None)\n" if reset else ""
    if form == "sequence":
        body = f"loop = asyncio.new_event_loop()\n{set_current}{run}loop.close()\n{unset}return {result}\n"
    elif form.startswith("try-finally"):
        inside = run
        after = f"return {result}\n"
        shutdown = "loop.run_until_complete(loop.shutdown_asyncgens())\n" if form.endswith("shutdown") else ""
        if not repeat and _pick(draw, shapes, "lck201:return-inside-try", (False, True), force):
            inside, after = f"return loop.run_until_complete({call('n')})\n", ""
        body = (
            f"loop = asyncio.new_event_loop()\n{set_current}try:\n{_block(inside, 4)}"
            f"finally:\n{_block(shutdown, 4)}    loop.close()\n{_block(unset, 4)}{after}"
        )
    else:
        extra = ""
        if form == "closing+cm":
            extra = ", " + _pick(
                draw, shapes, "lck201:extra-cm",
                ("contextlib.suppress(LookupError)", "contextlib.nullcontext()"), force,
            )
        body = (
            f"with contextlib.closing(asyncio.new_event_loop()) as loop{extra}:\n"
            f"{_block(set_current + run, 4)}{unset}return {result}\n"
        )
    params = "job, n" if source == "parameter" else "n"
    if wrapper == "function":
        runner = f"def run_{i}({params}):\n{_block(body, 4)}"
    else:
        runner = (
            f"def make_run_{i}():\n    def run({params}):\n{_block(body, 8)}\n    return run\n\n\n"
            f"run_{i} = make_run_{i}()\n"
        )
    argument = f"work_{i}, " if source == "parameter" else ""
    caller = _pick(draw, shapes, "lck201:caller", ("direct", "worker-thread", "own-current-loop"), force)
    if caller == "direct":
        calls = [f"print('run_{i}', run_{i}({argument}{n}))" for n in (1, 2)]
    elif caller == "worker-thread":
        calls = [
            f"with concurrent.futures.ThreadPoolExecutor(1) as pool:\n"
            f"    print('run_{i}', pool.submit(run_{i}, {argument}{n}).result())"
            for n in (1, 2)
        ]
    else:  # a caller that keeps a current loop of its own around the call
        runner += (
            f"\n\ndef call_{i}(*args):\n    callers_loop = asyncio.new_event_loop()\n"
            f"    asyncio.set_event_loop(callers_loop)\n    try:\n        result = run_{i}(*args)\n"
            f"        current = asyncio.get_event_loop_policy()._local._loop\n"
            f"        return result, 'kept' if current is callers_loop else 'none' if current is None else 'replaced'\n"
            f"    finally:\n        asyncio.set_event_loop(None)\n        callers_loop.close()\n"
        )
        calls = [f"print('run_{i}', call_{i}({argument}{n}))" for n in (1, 2)]
    return defs + "\n\n" + runner, calls, shapes


@st.composite
def lck204_scenario(draw, i: int, force: dict):
    """A coroutine driven by hand (no loop runs) that runs its steps with asyncio.run() or a loop
    of its own: the only place where such calls work."""
    shapes: set[str] = set()
    inner = _pick(draw, shapes, "lck204:inner", ("value", "sleep0", "needs-loop"), force)
    style = _pick(draw, shapes, "lck204:call", ("asyncio.run", "own-loop"), force)
    body = {
        "value": "return n * 2\n",
        "sleep0": "await asyncio.sleep(0)\nreturn n * 2\n",
        "needs-loop": "await asyncio.sleep(0.001)\nreturn n * 2\n",
    }[inner]
    if style == "asyncio.run":
        step = f"total += asyncio.run(inner_{i}(k))\n"
    else:
        step = (
            f"loop = asyncio.new_event_loop()\ntry:\n    total += loop.run_until_complete(inner_{i}(k))\n"
            "finally:\n    loop.close()\n"
        )
    defs = (
        f"def drive_{i}(coroutine):\n    try:\n        while True:\n            coroutine.send(None)\n"
        f"    except StopIteration as stop:\n        return stop.value\n\n\n"
        f"async def inner_{i}(n):\n{_block(body, 4)}\n\n"
        f"async def outer_{i}(n):\n    total = 0\n    for k in range(n):\n{_block(step, 8)}    return total\n"
    )
    return defs, [f"print('drive_{i}', drive_{i}(outer_{i}(3)))"], shapes


@st.composite
def lck401_scenario(draw, i: int, force: dict):
    """A coroutine that asks get_event_loop() for its loop, run under two loops."""
    shapes: set[str] = set()
    use = _pick(draw, shapes, "lck401:use", ("future", "executor", "identity", "call-later", "is-closed"), force)
    container = _pick(draw, shapes, "lck401:in", ("coroutine", "async-generator", "method"), force)
    name = _pick(draw, shapes, "lck401:name", ("asyncio.get_event_loop", "get_event_loop"), force)
    body = f"loop = {name}()\n" + {
        "future": "future = loop.create_future()\nloop.call_soon(future.set_result, n)\nVALUE = await future\n",
        "executor": "VALUE = await loop.run_in_executor(None, pow, n, 2)\n",
        "identity": "VALUE = loop is asyncio.get_running_loop()\n",
        "is-closed": "VALUE = loop.is_closed()\n",
        "call-later": "future = loop.create_future()\nloop.call_later(0, future.set_result, n)\nVALUE = await future\n",
    }[use]
    if container == "coroutine":
        defs = f"async def ask_{i}(n):\n{_block(body.replace('VALUE =', 'return'), 4)}"
        use_call = f"await ask_{i}(n)"
    elif container == "async-generator":
        defs = f"async def ask_{i}(n):\n{_block(body.replace('VALUE =', 'yield'), 4)}"
        use_call = f"[value async for value in ask_{i}(n)]"
    else:
        defs = f"class Asker_{i}:\n    async def ask(self, n):\n{_block(body.replace('VALUE =', 'return'), 8)}"
        use_call = f"await Asker_{i}().ask(n)"
    defs += f"\n\nasync def use_{i}(n):\n    return {use_call}\n"
    driver = "asyncio.run"
    if use == "is-closed":
        driver = _pick(draw, shapes, "lck401:driver", ("asyncio.run", "by-hand"), force)
    if driver == "asyncio.run":
        calls = [f"print('ask_{i}', asyncio.run(use_{i}({n})))" for n in (1, 2)]
    else:  # no loop runs: a synchronous facade sends into the coroutine itself
        defs += (
            f"\n\ndef drive_{i}(coroutine):\n    try:\n        while True:\n            coroutine.send(None)\n"
            f"    except StopIteration as stop:\n        return stop.value\n"
        )
        calls = [f"print('ask_{i}', drive_{i}(use_{i}({n})))" for n in (1, 2)]
    return defs, calls, shapes


_CRITICAL_SECTION = "async with P:\n    log_I.append(('in', n))\n    await asyncio.sleep(0)\n    log_I.append(('out', n))\n"
PRIMITIVES = {
    # constructor: the body of one use, with P the primitive and n the caller's number
    "Lock()": _CRITICAL_SECTION,
    "Semaphore(2)": _CRITICAL_SECTION,
    "BoundedSemaphore(2)": _CRITICAL_SECTION,
    "Event()": "if n == 2:\n    P.set()\nawait P.wait()\nlog_I.append(('seen', n))\n",
    "Condition()": (
        "async with P:\n    if n == 2:\n        P.notify_all()\n    else:\n        await P.wait()\n"
        "    log_I.append(('woken', n))\n"
    ),
    "Queue()": "await P.put(n)\nlog_I.append(('got', await P.get()))\n",
}


@st.composite
def lck1_scenario(draw, i: int, force: dict):
    """A primitive at module level (LCK101), in a class attribute (LCK102), in a default argument
    (LCK103), made by a lazy getter (LCK104) or in a shared instance (LCK105), used by the tasks of
    one asyncio.run() only."""
    shapes: set[str] = set()
    kind = _pick(draw, shapes, "lck1:primitive", tuple(PRIMITIVES), force)
    holder = _pick(draw, shapes, "lck1:holder", ("module", "class", "default", "getter", "instance"), force)
    body = PRIMITIVES[kind].replace("log_I", f"log_{i}")
    spelled = _pick(draw, shapes, "lck1:spelled", ("asyncio.", "from-import"), force)
    constructor = f"asyncio.{kind}" if spelled == "asyncio." else kind
    defs = f"log_{i} = []\n\n\n"
    if holder == "module":
        defs += f"_primitive_{i} = {constructor}\n\n\nasync def use_{i}(n):\n"
        defs += _block(body.replace("P", f"_primitive_{i}"), 4)
    elif holder == "class":
        defs += f"class Holder_{i}:\n    primitive = {constructor}\n\n\nasync def use_{i}(n):\n"
        defs += _block(body.replace("P", f"Holder_{i}.primitive"), 4)
    elif holder == "default":
        defs += f"async def use_{i}(n, primitive={constructor}):\n"
        defs += _block(body.replace("P", "primitive"), 4)
    elif holder == "getter":
        defs += (
            f"_primitive_{i} = None\n\n\ndef get_primitive_{i}():\n    global _primitive_{i}\n"
            f"    if _primitive_{i} is None:\n        _primitive_{i} = {constructor}\n    return _primitive_{i}\n\n\n"
            f"async def use_{i}(n):\n    primitive = get_primitive_{i}()\n"
        )
        defs += _block(body.replace("P", "primitive"), 4)
    else:
        defs += (
            f"class Service_{i}:\n    def __init__(self):\n        self.primitive = {constructor}\n\n"
            f"    async def use(self, n):\n{_block(body.replace('P', 'self.primitive'), 8)}\n\n"
            f"service_{i} = Service_{i}()\n\n\nasync def use_{i}(n):\n    await service_{i}.use(n)\n"
        )
    defs += (
        f"\n\nasync def all_{i}():\n    await asyncio.gather(*(use_{i}(n) for n in range(3)))\n"
        f"    return log_{i}\n"
    )
    return defs, [f"print('primitive_{i}', asyncio.run(asyncio.wait_for(all_{i}(), 5)))"], shapes


def observe_scenario(i: int, force: dict):
    """What earlier scenarios left as the thread's current loop (none, closed or open), looked up
    without creating one or warning."""
    shapes = {f"observe:current-loop={'after' if i else 'first'}"}
    defs = (
        f"def current_loop_{i}():\n    loop = asyncio.get_event_loop_policy()._local._loop\n"
        f"    return 'none' if loop is None else 'closed' if loop.is_closed() else 'open'\n"
    )
    return st.just((defs, [f"print('current_loop_{i}', current_loop_{i}())"], shapes))


PRIMITIVE_CLASSES = sorted({kind.split("(")[0] for kind in PRIMITIVES})
SCENARIOS = (lck201_scenario, lck204_scenario, lck401_scenario, lck1_scenario, observe_scenario)


def broken(shapes: set[str], known: frozenset[str]) -> bool:
    """Whether a program of ``shapes`` has one of the ``known`` shapes ("a & b": both)."""
    return any(all(part in shapes for part in key.split(" & ")) for key in known)


@st.composite
def generated_programs(draw, exclude: frozenset[str] = frozenset(), force: dict | None = None):
    """A working program of one to three scenarios. ``force`` fixes shape choices: the first
    scenario is of the kind they name, and an observer of the current loop comes last when they
    name one. ``exclude`` leaves out programs with any of those shapes (see ``broken``)."""
    force = force or {}
    kinds = {name.split(":")[0] for name in force}
    forced = [scenario for scenario in SCENARIOS if scenario.__name__.split("_")[0] in kinds - {"observe"}]
    count = draw(st.integers(1, 3))
    chosen = [forced[0] if i == 0 and forced else draw(st.sampled_from(SCENARIOS)) for i in range(count)]
    if "observe" in kinds:
        chosen.append(observe_scenario)
    parts, calls, shapes = [], [], set()
    for i, scenario in enumerate(chosen):
        defs, scenario_calls, scenario_shapes = draw(scenario(i, force))
        parts.append(defs)
        calls += scenario_calls
        shapes |= scenario_shapes
    if broken(shapes, exclude):
        reject()
    # The Python fixes target: 3.10 gets no runner fix for a loop never made current, 3.11
    # asyncio.Runner, 3.12 loop_factory= (run under that interpreter where it is newer).
    target = draw(st.sampled_from([t for t in ("py310", "py311", "py312") if interpreter_for(t)]))
    text = (
        "import asyncio\nimport concurrent.futures\nimport contextlib\nfrom asyncio import get_event_loop\n"
        f"from asyncio import {', '.join(PRIMITIVE_CLASSES)}\n\n\n"
        + "\n\n".join(parts)
        + "\n\ndef main():\n" + _block("\n".join(calls) + "\n", 4) + "\n\nmain()\n"
    )
    return Generated(text, target, frozenset(shapes))


def check_generated(generated: Generated, workdir: Path, timeout: float = 10.0) -> Comparison:
    """Runs a generated program as written and after both fixes (its findings are not checked:
    a scenario may be fixed away before another one is seen, and that is still a comparison)."""
    folder = workdir / "generated"
    folder.mkdir(parents=True)
    path = folder / "generated.py"
    path.write_text(generated.text)
    program = Program(path, ("LCK201",), generated.target_version)
    return compare_program(program, workdir / "work", timeout=timeout, check_findings=False, stated_effects=True)


# Modules: importing a module before and after --fix gives the same public names (or the same
# error). Public names are __all__ where the module defines it, else the names without a leading
# underscore that the module defines itself: names it imports are left out, since fixes remove
# imports they leave unused.

IMPORT_SCRIPT = """\
import importlib, json, sys, types
sys.path[:0] = json.loads(sys.argv[2])
try:
    module = importlib.import_module(sys.argv[1])
except BaseException as error:
    print(json.dumps({"error": f"{type(error).__name__}: {str(error).splitlines()[:1]}"}))
else:
    def own(name, value):
        if isinstance(value, types.ModuleType):
            return False
        if not isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            return True
        return getattr(value, "__module__", None) in (None, module.__name__)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_") and own(n, v)]
    print(json.dumps({"names": sorted(names)}))
"""


def import_module(module: str, path: list[str], python: str = sys.executable, timeout: float = 60) -> dict:
    """{"names": [...]} or {"error": "..."}: what importing ``module`` with ``path`` first on
    sys.path gives, in a process of its own."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    try:
        completed = subprocess.run(
            [python, "-c", IMPORT_SCRIPT, module, json.dumps(path)], capture_output=True, text=True,
            timeout=timeout, env=environment, stdin=subprocess.DEVNULL, cwd=path[0],
        )
    except subprocess.TimeoutExpired:
        return {"error": f"hangs: no result after {timeout:g} s"}
    if completed.returncode != 0 or not completed.stdout.strip():
        return {"error": f"exit status {completed.returncode}: {completed.stderr.strip().splitlines()[-1:]}"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def compare_import(
    path: Path, root: Path, workdir: Path, extra_path: list[str], target_version: str = DEFAULT_TARGET,
    python: str = sys.executable,
) -> tuple[dict, dict, str]:
    """Imports the module of ``path`` (a file under the sys.path entry ``root``) as it is, and from
    a copy of its top-level package (or of the file) fixed with --fix. (before, after, fix diff)"""
    module = module_name(path, root)
    top = root / path.relative_to(root).parts[0]
    copy_root = workdir / "fixed"
    copy_root.mkdir(parents=True)
    if top.is_dir():
        shutil.copytree(top, copy_root / top.name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy(top, copy_root / top.name)
    (copy_root / "pyproject.toml").write_text(f'[tool.loopcheck]\ntarget-version = "{target_version}"\n')
    relative = str(path.relative_to(root))
    diff = loopcheck("--diff", relative, cwd=copy_root).stdout
    fixed = loopcheck("--fix", relative, cwd=copy_root)
    if fixed.returncode not in (0, 1):
        raise AssertionError(f"loopcheck --fix {relative} failed:\n{fixed.stdout}{fixed.stderr}")
    before = import_module(module, [str(root), *extra_path], python)
    after = import_module(module, [str(copy_root), str(root), *extra_path], python)
    return before, after, diff
