"""What loopcheck costs every process to start: LibCST's matchers module builds thousands of
dataclasses when imported (about a fifth of a second, paid by each worker, each single-file run
and the language server), so loopcheck checks and fixes code without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
# Findings and fixes of every stage that used to match shapes of code: module-level objects and
# getters (LCK101, LCK104), class attributes and singletons (LCK102, LCK105), loops run by hand,
# kept or taken as the current one (LCK201-LCK203).
CHECKED = ("LCK101.py", "LCK102.py", "LCK104.py", "LCK105.py", "LCK201.py", "LCK202.py", "LCK203.py")

# Run in a fresh interpreter: the test process has imported whatever other tests needed.
SCRIPT = """
import importlib, pkgutil, sys
from pathlib import Path

import loopcheck.analysis, loopcheck.engine, loopcheck.fixes, loopcheck.rules
from loopcheck.engine.engine import Linter
from loopcheck.engine.pipeline import fix_file
from loopcheck.rules import all_rules

for package in (loopcheck.analysis, loopcheck.engine, loopcheck.fixes, loopcheck.rules):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
linter = Linter(list(all_rules().values()), target_version=(3, 11))
findings = changed = 0
for path in sys.argv[1:]:
    source = Path(path).read_text("utf-8")
    outcome = fix_file(linter, source, path, unsafe=True)
    findings += len(outcome.found)
    changed += outcome.source != source
print(findings, changed, "libcst.matchers" in sys.modules)
"""


def test_checking_and_fixing_do_not_import_libcst_matchers():
    paths = [str(FIXTURES / name) for name in CHECKED]
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, *paths], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr
    findings, changed, imported = completed.stdout.split()
    assert int(findings) > 0 and int(changed) > 0, "the files checked must have findings and fixes"
    assert imported == "False", "something imports libcst.matchers"


# A run over one file no rule can report on, in a project the model cannot change it in (the
# pre-commit and editor path): what it must not import.
ONE_FILE = """
import atexit, sys
sys.argv = ["loopcheck", "-q", "--no-cache", sys.argv[1]]
never = ("libcst", "multiprocessing", "concurrent.futures", "tempfile", "loopcheck.project.outcome",
         "loopcheck.rules.project", "loopcheck.reporters.sarif", "loopcheck.run.writing")
atexit.register(lambda: print(" ".join(name for name in never if name in sys.modules)))
from loopcheck.frontends.entry import main
main()
"""


def test_a_one_file_run_imports_neither_libcst_nor_the_pool_nor_the_model_s_outcome(tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("import re\n\nPATTERN = re.compile('[a-z]+')\n\n\ndef words(text):\n    return PATTERN.findall(text)\n")
    completed = subprocess.run(
        [sys.executable, "-c", ONE_FILE, str(plain)], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


# A cold run over many files (the benchmark's shape): the model, built here while the workers
# check, is what the run waits for; it never needs LibCST, which each worker loads for itself.
MANY_FILES = """
import atexit, sys
sys.argv = ["loopcheck", "-q", "--no-cache", "-j", "2", sys.argv[1]]
atexit.register(lambda: print("concurrent.futures" in sys.modules, "libcst" in sys.modules))
from loopcheck.frontends.entry import main
main()
"""


def test_a_cold_run_over_many_files_forks_its_workers_without_loading_libcst(tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for number in range(600):
        (package / f"module_{number}.py").write_text(f"VALUE = {number}\n")
    (package / "runs.py").write_text("import asyncio\n\nasyncio.run(main())\n")
    completed = subprocess.run(
        [sys.executable, "-c", MANY_FILES, str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["True", "False"], "workers started, and LibCST stayed out of this process"
