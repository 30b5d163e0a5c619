"""Loop-lifecycle fixes never change what a working program does: where asyncio.run() (or a
runner) would behave differently, the finding says why and offers no fix, and where the argument
is not provably a coroutine the fix is unsafe and its title says so. Each case is checked on the
rule and through the real command line, on the working programs of tests/programs/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.engine.diagnostics import Safety
from loopcheck.engine.engine import Linter
from loopcheck.rules import all_rules
from tests.helpers import check_text, fix_text, run_loopcheck

PROGRAMS = Path(__file__).parent / "programs"
RULES = list(all_rules().values())
HANG_GUARD = 120  # seconds: a program or run that takes longer is a hang


def lck201(source: str, target: tuple[int, int] = (3, 10)):
    found = [d for d in check_text(Linter(RULES, target_version=target), source) if d.code == "LCK201"]
    assert len(found) == 1, found
    return found[0]


def function(body: str, *, before: str = "") -> str:
    """A module with a coroutine ``work`` and ``body`` as the body of ``def main(job):``."""
    indented = "".join(f"    {line}\n" if line else "\n" for line in body.splitlines())
    return (
        "import asyncio\nimport contextlib\nimport io\n\n\n"
        f"{before}"
        "async def work(*args):\n    await asyncio.sleep(0)\n    return args\n\n\n"
        f"def main(job):\n{indented}"
    )


SET_AND_CLOSE = "loop = asyncio.new_event_loop()\nasyncio.set_event_loop(loop)\n"


# -- rule level ---------------------------------------------------------------------------


def test_another_context_manager_in_the_with_means_no_fix():
    source = function(
        "with contextlib.closing(asyncio.new_event_loop()) as loop, io.StringIO('x') as fh:\n"
        "    asyncio.set_event_loop(loop)\n"
        "    return loop.run_until_complete(work(fh.read()))\n"
    )
    for target in ((3, 10), (3, 12)):
        finding = lck201(source, target)
        assert finding.fix is None
        assert finding.message.endswith("no fix: the `with` statement also enters other context managers")


def test_a_private_loop_beside_another_context_manager_becomes_a_runner_that_keeps_it():
    source = function(
        "with contextlib.closing(asyncio.new_event_loop()) as loop, io.StringIO('x') as fh:\n"
        "    return loop.run_until_complete(work(fh.read()))\n"
    )
    fixed = fix_text(Linter(RULES, target_version=(3, 11)), source).source
    assert "with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner, io.StringIO('x') as fh:" in fixed


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            SET_AND_CLOSE + "for n in range(2):\n    loop.run_until_complete(work(n))\nloop.close()\n",
            "no fix: the loop runs once per iteration of a loop",
        ),
        (
            SET_AND_CLOSE + "while job:\n    job = loop.run_until_complete(work())\nloop.close()\n",
            "no fix: the loop runs once per iteration of a loop",
        ),
        (
            SET_AND_CLOSE + "results = [loop.run_until_complete(work(n)) for n in job]\nloop.close()\n",
            "no fix: the loop runs once per iteration of a loop",
        ),
        (
            SET_AND_CLOSE
            + "def step(n):\n    return loop.run_until_complete(work(n))\nstep(1)\nstep(2)\nloop.close()\n",
            "no fix: the loop runs in a nested function that may be called more than once",
        ),
        (
            SET_AND_CLOSE + "step = lambda n: loop.run_until_complete(work(n))\nstep(1)\nloop.close()\n",
            "no fix: the loop runs in a nested function that may be called more than once",
        ),
    ],
    ids=["for", "while", "comprehension", "nested-def", "lambda"],
)
def test_a_loop_run_more_than_once_gets_no_fix(body, reason):
    finding = lck201(function(body))
    assert finding.fix is None
    assert reason in finding.message


def test_a_loop_made_and_run_in_each_iteration_is_still_fixed():
    body = "for n in range(2):\n" + "".join(
        f"    {line}\n" for line in (SET_AND_CLOSE + "loop.run_until_complete(work(n))\nasyncio.set_event_loop(None)\nloop.close()").splitlines()
    )
    finding = lck201(function(body))
    assert finding.fix is not None and finding.fix.safety.value == "safe"


@pytest.mark.parametrize(
    "argument",
    [
        "work(asyncio.Future())",
        "work(asyncio.get_event_loop())",
        "work(job, asyncio.Queue())",
        "work(prepare(job))",
        "work([n for n in job.items()])",
    ],
)
def test_an_argument_that_may_read_the_current_loop_gets_no_fix(argument):
    source = function(SET_AND_CLOSE + f"try:\n    return loop.run_until_complete({argument})\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n")
    finding = lck201(source)
    assert finding.fix is None
    assert "in the argument would run before asyncio.run() makes its loop current" in finding.message


@pytest.mark.parametrize(
    "between",
    ["signal = asyncio.Future()\n", "asyncio.get_event_loop().set_debug(True)\n", "prepare(job)\n"],
)
def test_code_that_may_read_the_loop_while_it_is_current_means_no_fix(between):
    source = function(
        SET_AND_CLOSE + between + "try:\n    return loop.run_until_complete(work())\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n"
    )
    finding = lck201(source)
    assert finding.fix is None
    assert "runs while the loop is current and may use it" in finding.message


def test_pure_code_while_the_loop_is_current_keeps_the_fix_safe():
    source = function(
        SET_AND_CLOSE
        + "print(len(job))\ntry:\n    print(loop.run_until_complete(work(job)))\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n"
        + "print(prepare(job))\n"
    )
    assert lck201(source).fix.safety.value == "safe"
    unset_first = function(
        SET_AND_CLOSE + "try:\n    return loop.run_until_complete(work())\n"
        "finally:\n    asyncio.set_event_loop(None)\n    loop.close()\n"
    )
    assert lck201(unset_first).fix.safety.value == "safe"


@pytest.mark.parametrize("argument", ["work(job, len(job), work(job))", "work(lambda: asyncio.Future())"])
def test_an_argument_built_from_coroutines_and_pure_builtins_stays_safe(argument):
    source = function(SET_AND_CLOSE + f"try:\n    return loop.run_until_complete({argument})\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n")
    assert lck201(source).fix.safety.value == "safe"


def test_a_private_loop_evaluates_the_argument_as_the_fix_does():
    """Never made current: the argument sees the caller's loop before and after the fix."""
    source = function(
        "loop = asyncio.new_event_loop()\n"
        "try:\n    return loop.run_until_complete(work(asyncio.Future()))\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n"
    )
    assert lck201(source, (3, 12)).fix.safety.value == "safe"


@pytest.mark.parametrize(
    "helper",
    [
        "async def background():\n    asyncio.get_running_loop().run_in_executor(None, print)\n\n\n",
        "async def background():\n    asyncio.get_running_loop().run_in_executor(executor=None, func=print)\n\n\n",
        "async def background():\n    asyncio.ensure_future(asyncio.to_thread(print))\n\n\n",
        "def schedule():\n    asyncio.get_running_loop().run_in_executor(None, print)\n\n\n"
        "async def background():\n    schedule()\n\n\n",
    ],
    ids=["run_in_executor", "keywords", "to_thread", "through-a-helper"],
)
@pytest.mark.parametrize("target", [(3, 10), (3, 11), (3, 12)])
def test_a_coroutine_that_reaches_the_default_executor_gets_no_fix(helper, target):
    body = "loop = asyncio.new_event_loop()\n" + ("asyncio.set_event_loop(loop)\n" if target == (3, 10) else "")
    source = function(
        body + "try:\n    return loop.run_until_complete(background())\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n",
        before=helper,
    )
    finding = lck201(source, target)
    assert finding.fix is None
    assert "no fix: the coroutine hands work to the default executor" in finding.message


EXECUTOR_JOB = "async def background():\n    asyncio.get_running_loop().run_in_executor(None, print)\n\n\n"


@pytest.mark.parametrize(
    ("code", "source"),
    [
        ("LCK203", "def main():\n    return asyncio.get_event_loop().run_until_complete(background())\n"),
        (
            "LCK203",
            "def main():\n    loop = asyncio.get_event_loop()\n    return loop.run_until_complete(background())\n",
        ),
        ("LCK202", "_loop = asyncio.new_event_loop()\n\n\ndef main():\n    return _loop.run_until_complete(background())\n"),
    ],
)
def test_lck202_and_lck203_decline_where_asyncio_run_would_wait_for_the_default_executor(code, source):
    found = [d for d in check_text(Linter(RULES), "import asyncio\n\n\n" + EXECUTOR_JOB + source) if d.code == code]
    assert found and all(d.fix is None for d in found)
    assert all("no fix: the coroutine hands work to the default executor (line 5)" in d.message for d in found)


def test_a_default_executor_the_coroutine_never_reaches_does_not_matter():
    source = function(
        SET_AND_CLOSE + "try:\n    return loop.run_until_complete(work())\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n",
        before="async def elsewhere():\n    asyncio.get_running_loop().run_in_executor(None, print)\n\n\n",
    )
    assert lck201(source).fix.safety.value == "safe"


@pytest.mark.parametrize(
    ("setup", "argument", "what"),
    [
        ("", "job(1)", "`job` may return a Future"),
        ("from motor_like import fetch\n", "fetch(1)", "`fetch` may return a Future"),
        ("client = object()\n", "client.find_one(1)", "`client.find_one` may return a Future"),
        ("def sync_work():\n    return asyncio.sleep(0)\n", "sync_work()", "`sync_work` may return a Future"),
        (
            "import functools\n@functools.lru_cache\nasync def cached():\n    return 1\n",
            "cached()",
            "`cached` may return a Future",
        ),
        ("async def rows():\n    yield 1\n", "rows()", "`rows` may return a Future"),
    ],
    ids=["call-of-parameter", "imported", "client-method", "sync-function", "decorated", "async-generator"],
)
def test_an_argument_not_provably_a_coroutine_is_unsafe_and_says_why(setup, argument, what):
    source = function(
        SET_AND_CLOSE + f"try:\n    return loop.run_until_complete({argument})\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n",
        before=setup + "\n\n" if setup else "",
    )
    finding = lck201(source)
    assert finding.fix is not None and finding.fix.safety.value == "unsafe"
    assert finding.fix.description == (
        f"Run the coroutine with asyncio.run() (unsafe: asyncio.run() and asyncio.Runner run only coroutines; {what})"
    )


def test_a_parameter_is_unsafe_unless_the_project_model_shows_every_caller_passes_a_coroutine():
    source = function(
        SET_AND_CLOSE + "try:\n    return loop.run_until_complete(job)\nfinally:\n    asyncio.set_event_loop(None)\n    loop.close()\n"
    )
    fix = lck201(source).fix
    assert fix is not None and fix.safety.value == "unsafe"
    assert fix.description == (
        "Run the coroutine with asyncio.run() (unsafe: asyncio.run() takes only coroutines; a caller of `main`"
        " that passes a Future or another awaitable as `job` would fail with 'a coroutine was expected')"
    )
    assert fix.safe_when is not None and fix.safe_when.parameters == (("main", "job"),)
    assert fix.safe_when.title == "Run the coroutine with asyncio.run()"


def test_an_async_method_of_the_class_through_self_is_provably_a_coroutine():
    source = (
        "import asyncio\n\n\nclass Job:\n    async def build(self):\n        return 1\n\n"
        "    def run(self):\n"
        "        loop = asyncio.new_event_loop()\n        asyncio.set_event_loop(loop)\n"
        "        try:\n            return loop.run_until_complete(self.build())\n"
        "        finally:\n            asyncio.set_event_loop(None)\n            loop.close()\n"
    )
    assert lck201(source).fix.safety.value == "safe"
    overridden = source + "\n\nclass Sync(Job):\n    def build(self):\n        return asyncio.sleep(0)\n"
    assert lck201(overridden).fix.safety.value == "unsafe"
    replaced = source.replace("class Job:\n", "class Job:\n    def __init__(self, op):\n        self.build = op\n\n")
    assert lck201(replaced).fix.safety.value == "unsafe"


def test_lck202_and_lck203_titles_say_when_the_argument_may_be_a_future():
    lck203 = "import asyncio\n\n\ndef run(operation):\n    return asyncio.get_event_loop().run_until_complete(operation())\n"
    [finding] = [d for d in check_text(Linter(RULES), lck203) if d.code == "LCK203"]
    assert finding.fix.description.endswith("(unsafe: asyncio.run() and asyncio.Runner run only coroutines; `operation` may return a Future)")
    lck202 = (
        "import asyncio\n\n_loop = asyncio.new_event_loop()\n\n\n"
        "def run(operation):\n    return _loop.run_until_complete(operation())\n"
    )
    found = [d for d in check_text(Linter(RULES), lck202) if d.code == "LCK202"]
    assert found and all(
        d.fix.description.endswith("(unsafe: asyncio.run() and asyncio.Runner run only coroutines; `operation` may return a Future)")
        for d in found
    )


# -- what the fixes leave behind ------------------------------------------------------------

SUPPRESSED_TEARDOWN = (
    "import asyncio\nimport contextlib\n\n\nasync def work():\n    return 1\n\n\n"
    "def main():\n    loop = asyncio.new_event_loop()\n    asyncio.set_event_loop(loop)\n"
    "    try:\n        return loop.run_until_complete(work())\n    finally:\n"
    "        with contextlib.suppress(Exception):\n"
    "            loop.run_until_complete(loop.shutdown_asyncgens())\n"
    "        asyncio.set_event_loop(None)\n        loop.close()\n"
)
SET_UP_IN_TRY = (
    "import asyncio\n\n\nasync def work():\n    return 1\n\n\n"
    "def main():\n    # Make sure this thread has a loop.\n    try:\n        # A new loop, made current.\n"
    "        asyncio.set_event_loop(asyncio.new_event_loop())\n    except RuntimeError:\n        pass\n"
    "    else:\n        print('made')\n"
    "    return asyncio.get_event_loop().run_until_complete(work())\n"
)


def test_an_lck201_fix_leaves_no_empty_suppress_block():
    fixed = fix_text(Linter(RULES), SUPPRESSED_TEARDOWN).source
    assert fixed == (
        "import asyncio\n\n\nasync def work():\n    return 1\n\n\n"
        "def main():\n    return asyncio.run(work())\n"
    )


def test_an_lck203_fix_drops_an_emptied_try_and_keeps_its_comments():
    fixed = fix_text(Linter(RULES), SET_UP_IN_TRY, unsafe=True).source
    assert fixed == (
        "import asyncio\n\n\nasync def work():\n    return 1\n\n\n"
        "def main():\n    # Make sure this thread has a loop.\n    print('made')\n"
        "    return asyncio.run(work())\n"
    )


def test_a_negated_running_branch_keeps_each_comment_with_its_branch():
    # The `if not` line leads into the run (now `except`), the `else` line into the task (now `try`).
    source = (
        "import asyncio\n\n\ndef run_async(coro):\n"
        "    loop = asyncio.get_event_loop()\n"
        "    if not loop.is_running():  # no loop runs\n"
        "        result = loop.run_until_complete(coro)\n"
        "    # a running loop\n"
        "    else:  # from a coroutine\n"
        "        result = asyncio.ensure_future(coro, loop=loop)\n"
        "    return result\n"
    )
    assert fix_text(Linter(RULES), source, unsafe=True).source == (
        "import asyncio\n\n\ndef run_async(coro):\n"
        "    try:  # from a coroutine\n"
        "        loop = asyncio.get_running_loop()\n"
        "    except RuntimeError:  # no loop runs\n"
        "        result = asyncio.run(coro)\n"
        "    # a running loop\n"
        "    else:\n"
        "        result = asyncio.ensure_future(coro, loop=loop)\n"
        "    return result\n"
    )


def test_the_cli_writes_no_pass_where_a_block_was_emptied(tmp_path):
    (tmp_path / "a.py").write_text(SUPPRESSED_TEARDOWN)
    (tmp_path / "b.py").write_text(SET_UP_IN_TRY)
    result = loopcheck("--fix", "--unsafe-fixes", "a.py", "b.py", cwd=tmp_path)
    assert result.returncode == 0, result
    for name in ("a.py", "b.py"):
        text = (tmp_path / name).read_text()
        assert "pass" not in text and "suppress" not in text and "try:" not in text, text
    assert "# Make sure this thread has a loop." in (tmp_path / "b.py").read_text()
    assert "# A new loop, made current." not in (tmp_path / "b.py").read_text()


# -- through the command line, on working programs ------------------------------------------


def run_program(path: Path) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, path.name], cwd=path.parent, capture_output=True, text=True, timeout=HANG_GUARD
    )
    return result.returncode, result.stdout, result.stderr


def loopcheck(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    return run_loopcheck(*args, cwd=cwd, text=True)


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        ("lck201_with_two_managers.py", "no fix: the `with` statement also enters other context managers"),
        ("lck201_loop_in_for.py", "no fix: the loop runs once per iteration of a loop"),
        ("lck201_future_argument.py", "no fix: `asyncio.Future()` in the argument would run before"),
        ("lck201_future_made_while_current.py", "no fix: `asyncio.Future()` runs while the loop is current"),
        ("lck201_default_executor.py", "no fix: the coroutine hands work to the default executor"),
        ("lck203_default_executor.py", "no fix: the coroutine hands work to the default executor"),
    ],
)
def test_the_cli_declines_to_fix_a_working_program_it_would_break(tmp_path, program, reason):
    copy = Path(shutil.copy(PROGRAMS / program, tmp_path))
    before = run_program(copy)
    assert before[0] == 0, before
    result = loopcheck("--fix", "--unsafe-fixes", copy.name, cwd=tmp_path)
    assert result.returncode == 1 and reason in result.stdout, result
    assert copy.read_text() == (PROGRAMS / program).read_text()
    assert run_program(copy) == before


def test_the_cli_fixes_a_future_returning_operation_only_when_asked_for_unsafe_fixes(tmp_path):
    program = "lck201_future_returning_operation.py"
    copy = Path(shutil.copy(PROGRAMS / program, tmp_path))
    before = run_program(copy)
    assert before[0] == 0, before
    result = loopcheck("--fix", copy.name, cwd=tmp_path)
    assert result.returncode == 1 and "Fixed 0 findings." in result.stdout  # its fix is unsafe: not applied
    assert run_program(copy) == before
    shown = loopcheck("--output-format", "json", copy.name, cwd=tmp_path)
    assert '"applicability": "unsafe"' in shown.stdout
    assert "asyncio.run() and asyncio.Runner run only coroutines; `operation_func` may return a Future" in shown.stdout
    loopcheck("--fix", "--unsafe-fixes", copy.name, cwd=tmp_path)
    after = run_program(copy)
    assert after[0] != 0 and "a coroutine was expected" in after[2]  # the documented risk


# nest_asyncio.apply() replaces asyncio.run() for the whole process: the rewritten run may reuse the
# caller's running loop (and asyncio.Runner refuses to start in one), so the fix is not safe.
NESTED_MODULE = """\
import asyncio
import nest_asyncio

nest_asyncio.apply()


async def work():
    return 1


def run():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(work())
    finally:
        loop.close()
"""


@pytest.mark.parametrize("target", [(3, 10), (3, 11), (3, 12)])
def test_no_safe_fix_where_the_module_applies_nest_asyncio(target):
    for source in (NESTED_MODULE, NESTED_MODULE.replace("    asyncio.set_event_loop(loop)\n", "")):
        fix = lck201(source, target).fix
        if fix is not None:
            assert fix.safety is Safety.UNSAFE and "nest_asyncio" in fix.description


@pytest.mark.parametrize(
    ("body", "target", "reason"),
    [
        (
            SET_AND_CLOSE + "loop.run_until_complete(work(1))\nloop.run_until_complete(work(2))\nloop.close()\n",
            (3, 10),
            "no fix: it runs 2 coroutines that may share its objects; run them from one coroutine",
        ),
        (
            "loop = asyncio.new_event_loop()\nloop.run_until_complete(work(loop))\nloop.close()\n",
            (3, 10),
            "no fix: the loop is passed on to other code, which may keep using it",
        ),
        (
            "loop = asyncio.new_event_loop()\nloop.call_soon(print)\nloop.run_until_complete(work())\nloop.close()\n",
            (3, 10),
            "no fix: `loop.call_soon` uses the loop outside its runs",
        ),
        (
            SET_AND_CLOSE + "loop.run_until_complete(asyncio.gather(work(1), work(2)))\nloop.close()\n",
            (3, 10),
            "no fix: `asyncio.gather()` returns a Future, which asyncio.run() refuses",
        ),
        (
            "loop = asyncio.new_event_loop()\nloop.run_until_complete(work())\nloop.close()\n",
            (3, 10),
            "no fix: the code must run on Python 3.10, which has no runner that leaves the current"
            " loop alone (asyncio.Runner is 3.11+: see target-version)",
        ),
        (
            "loop = asyncio.new_event_loop(); n = 1\nloop.run_until_complete(work(n))\nloop.close()\n",
            (3, 11),
            "no fix: the loop is not created on a line of its own, which the runner's `with` needs",
        ),
        (
            "loop = asyncio.new_event_loop()\nif job:\n    loop = asyncio.new_event_loop()\n"
            "asyncio.set_event_loop(loop)\nloop.run_until_complete(work())\nloop.close()\n",
            (3, 10),
            "no fix: `loop` may also hold another loop where it is run",
        ),
    ],
    ids=["two-runs", "passed-on", "other-method", "future", "py310-private", "runner-shared-line", "rebound"],
)
def test_a_declined_hand_built_loop_says_why(body, target, reason):
    finding = lck201(function(body), target)
    assert finding.fix is None
    assert finding.message.endswith(reason)


LOOP_RULE_CASES = "import asyncio\n\n\nasync def work(*args):\n    return args\n\n\n"


@pytest.mark.parametrize(
    ("code", "source", "reason"),
    [
        ("LCK204", "async def f():\n    return asyncio.run(work(), debug=True)\n",
         "no fix: the call has arguments besides the coroutine"),
        ("LCK204", "async def f(x):\n    return asyncio.run(x or work())\n",
         "no fix: the argument would need parentheses after `await`"),
        ("LCK204", "async def f(x):\n    return list(asyncio.run(work(i)) for i in x)\n",
         "no fix: `await` in a generator expression would make it an async generator"),
        ("LCK203", "def f():\n    run = asyncio.get_event_loop().run_until_complete\n    return run(work())\n",
         "no fix: its `run_until_complete` is kept in a variable and called from there"),
        # (A parameter of the function gets an unsafe fix, safe where every caller passes a
        # coroutine: tests/test_helper_fix_safety.py.)
        ("LCK203", "pending = None\ndef f():\n    loop = asyncio.get_event_loop()\n"
         "    return loop.run_until_complete(pending)\n",
         "no fix: `pending` may be a Future, which asyncio.run() refuses"),
        ("LCK203", "def f(c):\n    loop = asyncio.get_event_loop()\n    if c:\n"
         "        loop = asyncio.new_event_loop()\n    return loop.run_until_complete(work())\n",
         "no fix: `loop` may also hold another loop where it is run"),
        ("LCK203", "def f():\n    loop = asyncio.get_event_loop()\n    loop.call_soon(print)\n"
         "    return loop.run_until_complete(work())\n",
         "no fix: `loop.call_soon` uses the loop outside its runs"),
        ("LCK202", "_loop = None\n__all__ = ['get_loop']\ndef get_loop():\n    global _loop\n    if _loop is None:\n"
         "        _loop = asyncio.new_event_loop()\n    return _loop\ndef f():\n"
         "    return get_loop().run_until_complete(work())\n",
         "no fix: its getter `get_loop` is listed in `__all__`, and the fix removes it"),
        ("LCK202", "_loop = asyncio.new_event_loop()\ndef f():\n    return _loop.run_until_complete(work())\n"
         "def g():\n    global _loop\n    _loop = 3\n",
         "no fix: the global `_loop` is also set to something other than a new loop or None"),
        ("LCK202", "_loop = asyncio.new_event_loop()\ndef f():\n    if _loop.is_closed():\n        print('x')\n"
         "    return _loop.run_until_complete(work())\n",
         "no fix: an `if` that tests the loop also does other work"),
    ],
    ids=["204-arguments", "204-parentheses", "204-genexp", "203-alias", "203-future", "203-rebound",
         "203-other-method", "202-exported-getter", "202-other-write", "202-guard"],
)
def test_a_declined_loop_fix_says_why(code, source, reason):
    found = [d for d in check_text(Linter(RULES), LOOP_RULE_CASES + source) if d.code == code]
    assert found
    assert all(d.fix is None and d.message.endswith(reason) for d in found), [d.message for d in found]


def test_the_command_line_says_why_a_fix_is_declined(tmp_path):
    """Text and JSON output carry the reason; the finding is not counted as fixable."""
    import json

    runs = "loop.run_until_complete(work(1))\nloop.run_until_complete(work(2))\nloop.close()\n"
    source = function(SET_AND_CLOSE + runs)
    (tmp_path / "app.py").write_text(source)
    reason = "no fix: it runs 2 coroutines that may share its objects; run them from one coroutine"
    text = loopcheck("app.py", cwd=tmp_path)
    assert text.returncode == 1 and reason in text.stdout and "fixable" not in text.stdout, text.stdout
    found = json.loads(loopcheck("--output-format", "json", "app.py", cwd=tmp_path).stdout)
    assert [(d["code"], d["fix"], d["message"].endswith(reason)) for d in found] == [("LCK201", None, True)]


# asyncio.run() leaves the thread with no current loop. A loop made current and closed but never
# unset stays current, closed, and a later get_event_loop() in the thread returns it: the fix
# changes what that call does, so it is unsafe, and says how to make it safe.
LEFT_CURRENT = function(SET_AND_CLOSE + "try:\n    return loop.run_until_complete(work())\nfinally:\n    loop.close()\n")


def test_a_closed_loop_left_current_makes_the_fix_unsafe():
    fix = lck201(LEFT_CURRENT).fix
    assert fix.safety is Safety.UNSAFE
    assert "left with no current loop" in fix.description and "set_event_loop(None)" in fix.description
    unset = LEFT_CURRENT.replace("    loop.close()\n", "    asyncio.set_event_loop(None)\n        loop.close()\n")
    assert "set_event_loop(None)" in unset
    assert lck201(unset).fix.safety is Safety.SAFE


def test_only_an_unset_after_the_loops_own_set_counts():
    # Another loop is set between this loop's close and the unset: the unset is the other's.
    later = function(
        SET_AND_CLOSE + "loop.run_until_complete(work())\nloop.close()\n"
        "other = asyncio.new_event_loop()\nasyncio.set_event_loop(other)\n"
        "for n in job:\n    other.run_until_complete(work(n))\nother.close()\nasyncio.set_event_loop(None)\n"
    )
    found = [d for d in check_text(Linter(RULES, target_version=(3, 10)), later) if d.code == "LCK201"]
    first = min(found, key=lambda d: d.line)
    assert first.fix.safety is Safety.UNSAFE and "no current loop" in first.fix.description
    fixed = fix_text(Linter(RULES, target_version=(3, 10)), later, unsafe=True).source
    assert fixed.count("asyncio.set_event_loop(None)") == 1  # the other loop's unset stays
    # An unset before the loop is made current does not unset it.
    before = function("asyncio.set_event_loop(None)\n" + SET_AND_CLOSE + "loop.run_until_complete(work())\nloop.close()\n")
    assert lck201(before).fix.safety is Safety.UNSAFE
    assert "asyncio.set_event_loop(None)" in fix_text(Linter(RULES), before, unsafe=True).source


@pytest.mark.parametrize(
    "header",
    ['"""Reports."""\n# generated-by: reports\n\n', '"""Reports."""\n\n# generated-by: reports\n\n', '"""Reports."""\n\n'],
    ids=["comment-under-docstring", "blank-then-comment", "blank"],
)
def test_a_fix_leaves_the_lines_under_the_module_docstring_as_they_were(tmp_path, header):
    body = (
        "import asyncio\n\n\n"
        "async def build():\n    return 1\n\n\n"
        "def report():\n"
        "    loop = asyncio.new_event_loop()\n"
        "    try:\n        return loop.run_until_complete(build())\n"
        "    finally:\n        loop.close()\n"
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "reports"\nrequires-python = ">=3.11"\n')
    (tmp_path / "reports.py").write_text(header + body)
    result = run_loopcheck("--fix", "reports.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = (tmp_path / "reports.py").read_text()
    assert fixed.startswith(header + "import asyncio\n"), fixed
    assert "runner.run(build())" in fixed


def test_runners_take_a_name_free_in_their_own_function():
    """Each function's runner is `runner` (another function's is no clash); a second fix in the
    same function, or a local `runner` already there, gives `runner_2`."""
    run_once = (
        "    loop = asyncio.new_event_loop()\n"
        "    try:\n        return loop.run_until_complete(work())\n    finally:\n        loop.close()\n"
    )
    source = (
        "import asyncio\n\n\nasync def work():\n    return 1\n\n\n"
        f"def first():\n{run_once}\n\ndef second():\n    runner = None\n{run_once}"
    )
    fixed = fix_text(Linter(RULES, target_version=(3, 11)), source).source
    first, second = fixed.split("def second():")
    assert first.count("as runner:") == 1 and "runner_2" not in first, fixed
    assert second.count("as runner_2:") == 1, fixed


# -- comments that go with the statements a fix deletes -----------------------------------

KEPT_LOOP_BODY = (
    "{above}loop = asyncio.new_event_loop()\nasyncio.set_event_loop(loop)\n"
    "try:\n    return loop.run_until_complete(work(job))\nfinally:\n    loop.close()\n    asyncio.set_event_loop(None)\n"
)


def test_the_title_names_the_comment_that_goes_with_the_deleted_loop():
    source = function(KEPT_LOOP_BODY.format(above="# keep one loop for the pool\n"))
    found = lck201(source)
    assert found.fix.description == (
        "Run the coroutine with asyncio.run(); removes the comment `# keep one loop for the pool`"
    )
    assert "keep one loop" not in fix_text(Linter(RULES), source).source


def test_a_comment_a_blank_line_parts_from_the_deleted_loop_stays_and_is_not_named():
    source = function(KEPT_LOOP_BODY.format(above="# What follows runs the job.\n\n"))
    found = lck201(source)
    assert found.fix.description == "Run the coroutine with asyncio.run()"
    fixed = fix_text(Linter(RULES), source).source
    assert "    # What follows runs the job.\n\n    return asyncio.run(work(job))\n" in fixed, fixed


def test_the_title_counts_several_removed_comment_lines_and_names_the_first():
    source = function(
        KEPT_LOOP_BODY.format(above="# A loop for this job.\n")
        .replace("finally:\n", "finally:\n    # Closed whatever happened.\n    # (it was never made current)\n")
    )
    found = lck201(source)
    assert found.fix.description == (
        "Run the coroutine with asyncio.run(); removes 3 comment lines, the first `# A loop for this job.`"
    )


@pytest.mark.parametrize(
    ("code", "source"),
    [
        ("LCK202", "import asyncio\n\n# One loop for every task.\n_loop = asyncio.new_event_loop()\n\n\n"
         "async def work():\n    return 1\n\n\ndef task():\n    return _loop.run_until_complete(work())\n"),
        ("LCK203", "import asyncio\n\n\nasync def work():\n    return 1\n\n\ndef task():\n"
         "    # The thread's loop.\n    loop = asyncio.get_event_loop()\n    return loop.run_until_complete(work())\n"),
    ],
)
def test_lck202_and_lck203_titles_name_the_comment_of_the_deleted_loop(code, source):
    found = [d for d in check_text(Linter(RULES), source) if d.code == code]
    assert found and found[0].fix is not None, found
    assert "; removes the comment `# " in found[0].fix.description, found[0].fix.description
    comment = found[0].fix.description.split("`")[-2]
    assert comment in source and comment not in fix_text(Linter(RULES), source, unsafe=True).source
