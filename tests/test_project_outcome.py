"""The model's outcome kept across runs (project/outcome.py): reused while nothing it depends on
changed, made again when something did, and the same findings and evidence either way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.registry import rule_index
from loopcheck.project.outcome import SUBDIRECTORY, decode_reach, encode_reach
from loopcheck.run import cache as results_cache
from loopcheck.run import project as run_project
from loopcheck.run.project import ProjectView, project_view
from loopcheck.settings.config import Settings
from tests.helpers import write
from tests.test_project_run import ONE_LOOP, STORE, TASK

# Neither an entry module, nor one the reach resolves into, nor one that may keep an object in
# a global (its lock is made in a function): the model never asks for it.
OTHER = """\
import asyncio


def other():
    return asyncio.Lock()
"""

KEPT_LOOP = """\
import asyncio

from app.store import guarded

_worker_loop = asyncio.new_event_loop()


def job():
    return _worker_loop.run_until_complete(guarded())
"""


def project(root: Path) -> Path:
    write(root / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    write(root / "app" / "__init__.py", "")
    write(root / "app" / "tasks.py", TASK)
    write(root / "app" / "store.py", STORE)
    write(root / "app" / "other.py", OTHER)
    return root


class Runs:
    """project_view over the project at ``root``, counting how often the reach is walked and the
    modules are listed (what a kept outcome spares)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, checked: list[str] | None = None) -> None:
        self.root = root
        self.checked = checked  # None: every file, the directory walked
        self.cache = root / ".cache"
        self.reaches = 0
        self.listings = 0
        compute_reach, list_project = run_project.compute_reach, run_project.list_project

        def counted_reach(*args, **kwargs):
            self.reaches += 1
            return compute_reach(*args, **kwargs)

        def counted_listing(*args, **kwargs):
            self.listings += 1
            return list_project(*args, **kwargs)

        monkeypatch.setattr(run_project, "compute_reach", counted_reach)
        monkeypatch.setattr(run_project, "list_project", counted_listing)
        monkeypatch.chdir(root)

    def view(self, cache: bool = True, enabled: tuple[str, ...] = tuple(rule_index())) -> ProjectView:
        files = self.checked or sorted(
            str(path.relative_to(self.root)) for path in self.root.rglob("*.py") if ".cache" not in path.parts
        )
        walked = [] if self.checked else ["."]
        cache_dir = str(self.cache) if cache else None
        notes: list[str] = []
        view = project_view(files, Settings(), Catalogue.load(), enabled, cache_dir, notes.append, walked=walked)
        assert notes == []
        return view

    def made_again(self) -> bool:
        """Whether the next view walks the reach again."""
        before = self.reaches
        self.view()
        return self.reaches > before


def trust_every_stat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are as new as the run that reads them: a stat within a timestamp
    tick of a change is not trusted, so the quick key would never be taken. Here it is."""
    monkeypatch.setattr(results_cache, "RACY_MARGIN_NS", 0)
    monkeypatch.setattr(results_cache, "COARSE_RACY_MARGIN_NS", 0)


def lock_finding(view: ProjectView, path: str = "app/store.py", line: int = 3) -> list[Diagnostic]:
    found = Diagnostic(path, line, 9, line, 23, "LCK101", "a lock kept in a global")
    return view.finish([found], path)


def test_a_warm_run_with_nothing_changed_neither_lists_the_modules_nor_walks_the_reach(tmp_path, monkeypatch):
    trust_every_stat(monkeypatch)
    runs = Runs(project(tmp_path), monkeypatch)
    first = runs.view()
    assert (runs.reaches, runs.listings) == (1, 1)
    again = runs.view()
    assert (runs.reaches, runs.listings) == (1, 1)
    assert again.reach == first.reach and again.found == first.found
    assert lock_finding(again) == lock_finding(first) and lock_finding(first)[0].evidence
    assert again.held_back() == first.held_back()


def test_files_written_within_a_tick_are_listed_again_but_the_outcome_is_kept(tmp_path, monkeypatch):
    runs = Runs(project(tmp_path), monkeypatch)  # stats as new as the run: not trusted
    runs.view()
    runs.view()
    assert (runs.reaches, runs.listings) == (1, 2)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("other.py", OTHER + "\n\ndef more():\n    return other()\n", id="a module never asked for"),
        pytest.param("store.py", STORE + "# a comment: the same summary\n", id="a comment in a module asked for"),
    ],
)
def test_a_change_the_model_does_not_depend_on_keeps_the_outcome(tmp_path, monkeypatch, name, text):
    trust_every_stat(monkeypatch)
    runs = Runs(project(tmp_path), monkeypatch)
    first = runs.view()
    write(tmp_path / "app" / name, text)
    assert not runs.made_again()
    assert runs.listings == 2  # its stat changed: listed again, and found to change nothing
    assert not runs.made_again() and runs.listings == 2  # kept under the new stat
    assert lock_finding(runs.view()) == lock_finding(first)


def test_a_line_moved_in_a_module_the_model_asked_for_makes_the_outcome_again(tmp_path, monkeypatch):
    trust_every_stat(monkeypatch)
    runs = Runs(project(tmp_path), monkeypatch)
    runs.view()
    write(tmp_path / "app" / "store.py", "\n" + STORE)  # the summary keeps the lock's line
    assert runs.made_again()
    (moved,) = lock_finding(runs.view(), line=4)
    assert moved.evidence


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda root: write(root / "app" / "new.py", OTHER), id="a file added"),
        pytest.param(lambda root: (root / "app" / "other.py").unlink(), id="a file deleted"),
        pytest.param(
            lambda root: write(root / "app" / "store.py", STORE + "\n\nasync def more():\n    await guarded()\n"),
            id="a module asked for",
        ),
        pytest.param(lambda root: write(root / "app" / "other.py", OTHER + KEPT_LOOP), id="a module becomes an entry"),
        pytest.param(
            lambda root: write(root / "app" / "other.py", "from app import store\n" + OTHER), id="a module's imports"
        ),
        pytest.param(lambda root: write(root / "app" / "tools" / "pyproject.toml", ""), id="a project inside"),
    ],
)
def test_what_the_outcome_depends_on_makes_it_again(tmp_path, monkeypatch, change):
    trust_every_stat(monkeypatch)
    # One file checked: the others are found by listing its project.
    runs = Runs(project(tmp_path), monkeypatch, checked=["app/store.py"])
    write(tmp_path / "app" / "tools" / "helper.py", "")
    runs.view()
    assert not runs.made_again()
    change(tmp_path)
    assert runs.made_again()
    # The outcome made again is the one a run without the cache makes.
    with_cache = runs.view()
    without = runs.view(cache=False)
    assert with_cache.reach == without.reach and with_cache.found == without.found


def test_the_rules_that_run_are_part_of_the_outcome(tmp_path, monkeypatch):
    trust_every_stat(monkeypatch)
    runs = Runs(project(tmp_path), monkeypatch)
    runs.view()
    runs.view(enabled=("LCK101",))
    assert runs.reaches == 2


def outcome_file(root: Path) -> Path:
    (found,) = (path for path in (root / ".cache" / SUBDIRECTORY).rglob("*.json") if not path.name.endswith(".shape.json"))
    return found


def shape_file(root: Path) -> Path:
    (found,) = (root / ".cache" / SUBDIRECTORY).rglob("*.shape.json")
    return found


class ShapeCounts:
    """How often a listing names the modules and follows their import lines (``_shape``), which a
    kept shape spares."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from loopcheck.project import model

        self.made = 0
        original = model._shape

        def counted(*args, **kwargs):
            self.made += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(model, "_shape", counted)


@pytest.mark.parametrize(
    ("name", "text", "made_again"),
    [
        pytest.param("other.py", OTHER + "\n\ndef more():\n    return other()\n", False, id="a body"),
        pytest.param("store.py", STORE + "\n\ndef more():\n    return 1\n", False, id="a body of a module asked for"),
        pytest.param("other.py", "import app.store\n" + OTHER, True, id="an import line"),
        pytest.param("other.py", OTHER + "\n\nasyncio.run(None)\n", True, id="a seed: a loop start"),
        pytest.param("other.py", OTHER + "\n\nlock = asyncio.Lock()\n", True, id="a flag: an object in a global"),
    ],
)
def test_the_listing_keeps_its_shape_while_no_import_line_or_seed_changed(tmp_path, monkeypatch, name, text, made_again):
    trust_every_stat(monkeypatch)
    shapes = ShapeCounts(monkeypatch)
    runs = Runs(project(tmp_path), monkeypatch)
    runs.view()
    assert shapes.made == 1 and shape_file(tmp_path).is_file()
    write(tmp_path / "app" / name, text)
    with_shape = runs.view()
    assert runs.listings == 2 and shapes.made == (2 if made_again else 1)
    without = runs.view(cache=False)
    assert with_shape.reach == without.reach and with_shape.found == without.found
    assert lock_finding(with_shape) == lock_finding(without)


def test_a_new_module_is_a_new_shape(tmp_path, monkeypatch):
    trust_every_stat(monkeypatch)
    shapes = ShapeCounts(monkeypatch)
    runs = Runs(project(tmp_path), monkeypatch)
    runs.view()
    write(tmp_path / "app" / "jobs.py", KEPT_LOOP)
    with_shape = runs.view()
    assert shapes.made == 2
    without = runs.view(cache=False)
    assert with_shape.reach == without.reach and with_shape.found == without.found


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda data: "{not json", id="not JSON"),
        pytest.param(lambda data: json.dumps({**data, "modules": {"app": ["app/__init__.py", 1]}}), id="a module"),
        pytest.param(lambda data: json.dumps({**data, "importers": {"app.store": "app.tasks"}}), id="importers"),
        pytest.param(lambda data: json.dumps({**data, "entries": ["nowhere"]}), id="an entry not listed"),
        pytest.param(lambda data: json.dumps({**data, "key": "another"}), id="another layout"),
    ],
)
def test_a_corrupt_or_foreign_shape_file_is_ignored(tmp_path, monkeypatch, spoil):
    trust_every_stat(monkeypatch)
    shapes = ShapeCounts(monkeypatch)
    runs = Runs(project(tmp_path), monkeypatch)
    first = runs.view()
    kept = shape_file(tmp_path)
    kept.write_text(spoil(json.loads(kept.read_text())))
    write(tmp_path / "app" / "other.py", OTHER + "\n\ndef more():\n    return other()\n")
    again = runs.view()
    assert shapes.made == 2  # made again, not taken from the spoiled file
    assert again.reach == first.reach and again.found == first.found


def test_a_kept_shape_brings_its_listing_key_and_a_wrong_one_only_costs_the_outcome(tmp_path, monkeypatch):
    from loopcheck.project.outcome import OutcomeStore

    trust_every_stat(monkeypatch)
    hashed = []
    original = OutcomeStore._listing_key
    monkeypatch.setattr(OutcomeStore, "_listing_key", lambda self, shape: hashed.append(shape) or original(self, shape))
    runs = Runs(project(tmp_path), monkeypatch)
    first = runs.view()
    assert len(hashed) == 1
    body = OTHER + "\n\ndef more():\n    return _other\n"
    write(tmp_path / "app" / "other.py", body)
    assert not runs.made_again() and len(hashed) == 1  # the shape taken with its key: not hashed again
    # The shape made again: its key, hashed afresh, is the one the outcome was kept under.
    shape_file(tmp_path).unlink()
    write(tmp_path / "app" / "other.py", body + "\n# more\n")
    assert not runs.made_again() and len(hashed) == 2
    kept = shape_file(tmp_path)
    kept.write_text(json.dumps({**json.loads(kept.read_text()), "listing": "another"}))
    write(tmp_path / "app" / "other.py", body + "\n# most\n")
    again = runs.view()
    assert runs.reaches == 2  # no kept outcome has that key: made again
    assert again.reach == first.reach and again.found == first.found


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda data: "{not json", id="not JSON"),
        pytest.param(lambda data: json.dumps([data]), id="not an object"),
        pytest.param(lambda data: json.dumps({**data, "reach": data["reach"][:4]}), id="a reach of another shape"),
        pytest.param(
            lambda data: json.dumps({**data, "reach": [[[1]], *data["reach"][1:]]}), id="an object of another shape"
        ),
        pytest.param(lambda data: json.dumps({**data, "found": {"a.py": []}}), id="findings of another shape"),
        pytest.param(lambda data: json.dumps({**data, "asked": []}), id="asked modules of another shape"),
        pytest.param(lambda data: json.dumps({**data, "asked": {"app.store": "another"}}), id="another text"),
    ],
)
def test_a_corrupt_or_foreign_outcome_file_is_ignored(tmp_path, monkeypatch, spoil):
    # The stats are not trusted: the modules are listed again, and the whole file is read.
    runs = Runs(project(tmp_path), monkeypatch)
    first = runs.view()
    kept = outcome_file(tmp_path)
    kept.write_text(spoil(json.loads(kept.read_text())))
    again = runs.view()
    assert runs.reaches == 2  # made again, and written again
    assert again.reach == first.reach and again.found == first.found
    assert not runs.made_again()


def test_the_reach_is_kept_exactly(tmp_path, monkeypatch):
    runs = Runs(project(tmp_path), monkeypatch)
    write(tmp_path / "app" / "jobs.py", KEPT_LOOP)
    reach = runs.view().reach
    assert reach is not None and reach.objects and reach.loops and reach.loaded
    data = json.loads(json.dumps(encode_reach(reach)))
    assert decode_reach(data) == reach
    assert decode_reach(data[:4]) is None
    data[4] = [1]
    assert decode_reach(data) is None


# -- through the command line and flake8 -----------------------------------------------------------


def loopcheck(root: Path, *args: str, stdin: str | None = None) -> list:
    result = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--output-format", "json", *args],
        cwd=root, input=stdin, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_findings_and_evidence_are_the_same_with_and_without_the_kept_outcome(tmp_path):
    root = project(tmp_path)
    write(root / "app" / "jobs.py", KEPT_LOOP)
    for n in range(40):  # enough files for the runner to use worker processes
        write(root / "app" / f"filler_{n}.py", f"import asyncio\n\n_lock_{n} = asyncio.Lock()\n")
    cache = str(tmp_path / "cache")
    cold = loopcheck(root, "--no-cache", "-j", "2", ".")
    assert any(f["evidence"] for f in cold)
    assert loopcheck(root, "--cache-dir", cache, "-j", "2", ".") == cold  # made and kept
    assert loopcheck(root, "--cache-dir", cache, "-j", "2", ".") == cold  # kept
    assert loopcheck(root, "--cache-dir", cache, "-j", "1", "app/store.py") == [
        f for f in cold if f["filename"] == "app/store.py"
    ]
    piped = loopcheck(root, "--cache-dir", cache, "--stdin-filename", "app/store.py", "-", stdin=STORE)
    assert piped == [f for f in cold if f["filename"] == "app/store.py"]
    write(root / "app" / "other.py", OTHER + "\n\ndef more():\n    return other()\n")
    assert loopcheck(root, "--cache-dir", cache, "-j", "2", ".") == loopcheck(root, "--no-cache", "-j", "2", ".")


def test_the_flake8_plugin_reads_the_same_kept_outcome(tmp_path):
    root = project(tmp_path)

    def flake8() -> list[str]:
        result = subprocess.run(
            [sys.executable, "-m", "flake8", "--isolated", "--select", "LCK", "app/store.py"],
            cwd=root, capture_output=True, text=True, timeout=120,
        )
        return result.stdout.splitlines()

    first = flake8()
    assert list((root / ".loopcheck_cache" / SUBDIRECTORY).rglob("*.json"))  # kept by the first
    assert flake8() == first and first[0].endswith("[reached from app.tasks.task]")


def test_fixes_leave_a_confined_object_alone_with_the_kept_outcome_too(tmp_path):
    app = write(tmp_path / "app.py", ONE_LOOP)
    cache = str(tmp_path / "cache")
    assert loopcheck(tmp_path, "--cache-dir", cache, "app.py") == []
    for _ in range(2):  # the outcome made, then kept
        subprocess.run(
            [sys.executable, "-m", "loopcheck", "--cache-dir", cache, "--fix", "--unsafe-fixes", "app.py"],
            cwd=tmp_path, capture_output=True, timeout=120, check=True,
        )
        assert app.read_text() == ONE_LOOP


def test_findings_with_their_fixes_and_evidence_are_kept_as_they_were():
    from loopcheck.engine.diagnostics import Edit, Evidence, Fix, Location, Safety
    from loopcheck.project.store import decode, encode

    at = Location("app/tasks.py", 7, 5, "a loop starts here")
    found = Diagnostic(
        "app/store.py", 3, 9, 3, 23, "LCK101", "a lock", Fix(Safety.UNSAFE, "make it lazily", (Edit(1, 2, "x"),)),
        (Evidence("reached from app.tasks.task", at, (at,)),),
    )
    data = json.loads(json.dumps(encode((found,))))
    assert decode(data, tuple[Diagnostic, ...]) == (found,)
    data[0][7][0] = "risky"  # not a member of Safety
    assert decode(data, tuple[Diagnostic, ...]) is None
