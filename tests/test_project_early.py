"""Summaries made where a file is parsed anyway (project/early.py): a check offers the summary of
an entry module it parsed, the model takes it only where it is exactly the one it would make,
and a run's findings are the same whoever made the summaries."""

from __future__ import annotations

import ast
import dataclasses
import functools
from pathlib import Path

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.registry import rule_index
from loopcheck.frontends.cli import _enabled_rules
from loopcheck.project import model as project_model
from loopcheck.project.early import EarlySummaries, Offered, Offers
from loopcheck.project.model import list_project, project_files
from loopcheck.project.roots import find_roots
from loopcheck.project.selection import SeedTest
from loopcheck.project.store import SummaryStore, catalogue_key
from loopcheck.project.summary import summarise
from loopcheck.run import project as run_project
from loopcheck.run import runner
from loopcheck.run.runner import Job, Mode, check_files
from loopcheck.settings.config import Settings
from tests.helpers import write
from tests.test_project_run import STORE  # a lock the task's loop reaches

CATALOGUE = Catalogue.load()
TESTS = Path(__file__).parent

# An entry module (it starts a loop) that the text test keeps (it makes a lock): its check
# parses it.
TASKS = """\
import asyncio

from app.store import guarded

_unused = asyncio.Lock()


def task():
    asyncio.run(guarded())
"""
PLAIN = "def title(text):\n    return text.title()\n"


def project(root: Path, padding: int = 0) -> dict[str, str]:
    write(root / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    files = {
        "app": write(root / "app" / "__init__.py", ""),
        "tasks": write(root / "app" / "tasks.py", TASKS),
        "store": write(root / "app" / "store.py", STORE),
    }
    for number in range(padding):  # enough files for worker processes
        files[f"plain{number}"] = write(root / "app" / f"plain{number}.py", PLAIN)
    return {name: str(path) for name, path in files.items()}


def offer(path: str) -> Offered | None:
    text = Path(path).read_text()
    return EarlySummaries(find_roots([path]), CATALOGUE).offer(path, text.encode(), text, ast.parse(text))


def key(path: str) -> str:
    return SummaryStore(None, catalogue_key(CATALOGUE)).content_key(Path(path).read_bytes())


def test_an_entry_module_parsed_for_its_check_is_offered_as_the_model_summarises_it(tmp_path):
    files = project(tmp_path)
    offered = offer(files["tasks"])
    assert offered is not None
    assert offered.summary == summarise(TASKS, "app.tasks", files["tasks"], False, CATALOGUE)
    assert offered.fits(key(files["tasks"]), "app.tasks", files["tasks"], False)
    # Of other bytes, or as another module, path or package: not the model's summary.
    assert not offered.fits(key(files["store"]), "app.tasks", files["tasks"], False)
    assert not offered.fits(key(files["tasks"]), "tasks", files["tasks"], False)
    assert not offered.fits(key(files["tasks"]), "app.tasks", files["store"], False)
    assert not offered.fits(key(files["tasks"]), "app.tasks", files["tasks"], True)


def test_a_module_that_is_not_an_entry_module_is_not_offered(tmp_path):
    files = project(tmp_path)
    assert offer(files["store"]) is None  # no loop starts there: summarised only if reached


def listing(files: dict[str, str], offers: Offers) -> project_model.Listing:
    found = project_files([files["tasks"], files["store"]])
    return list_project(found, CATALOGUE, None, offered=offers)


def test_the_model_takes_an_offered_summary_that_fits_and_ignores_any_other(tmp_path, monkeypatch):
    files = project(tmp_path)
    made: list[str] = []
    summarise_file = project_model._summarise
    monkeypatch.setattr(
        project_model, "_summarise", lambda *args: made.append(args[3]) or summarise_file(*args)
    )
    real = summarise(TASKS, "app.tasks", files["tasks"], False, CATALOGUE)
    # Told apart from the model's own summary by its functions.
    stand_in = dataclasses.replace(real, functions=real.functions[:1])
    settled: list[bool] = []
    fitting = Offers(settled=lambda: settled.append(True))
    fitting.found[files["tasks"]] = Offered(key(files["tasks"]), stand_in)
    assert listing(files, fitting).model().modules["app.tasks"] == stand_in
    assert made == [] and settled == [True]

    other_bytes = Offers()
    other_bytes.found[files["tasks"]] = Offered(key(files["store"]), stand_in)
    assert listing(files, other_bytes).model().modules["app.tasks"] == real
    assert made == ["app.tasks"]


def test_the_entries_no_summary_is_expected_for_are_summarised_first(tmp_path, monkeypatch):
    files = project(tmp_path)
    write(Path(files["store"]), STORE + "\n\ndef main():\n    asyncio.run(guarded())\n")  # an entry too
    made: list[str] = []
    summarise_file = project_model._summarise
    monkeypatch.setattr(
        project_model, "_summarise", lambda *args: made.append(args[3]) or summarise_file(*args)
    )
    # app.tasks sorts first and is the smaller file: it comes last only as the one expected.
    listing(files, Offers(expected=lambda path: path == files["tasks"])).model()
    assert made == ["app.store", "app.tasks"]
    made.clear()
    listing(files, Offers()).model()
    assert made == ["app.tasks", "app.store"]


def test_a_summary_is_expected_of_a_checked_file_until_its_check_comes_back(tmp_path, monkeypatch):
    """Of a file its check parses (the text test keeps it); once the check is back, told without
    reading the file again."""
    files = project(tmp_path)
    write(tmp_path / "app" / "plain.py", PLAIN)
    files["plain"] = str(tmp_path / "app" / "plain.py")
    job = Job(Settings(), ("LCK101",), Mode(), None, model_roots=find_roots(list(files.values())))
    offers = Offers()
    checking = frozenset([files["tasks"], files["store"], files["plain"]])
    expected = functools.partial(runner._may_offer, runner.Checker(job), checking, offers.returned)
    assert expected(files["tasks"]) and expected(files["store"])
    assert not expected(files["plain"]) and not expected(files["app"])  # not parsed; not checked

    def unread(path, *args):
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr(runner, "read_source", unread)
    runner._take_offer(runner.FileResult(files["store"]), offers)  # came back without an offer
    runner._take_offer(runner.FileResult(files["tasks"], offered=offer(files["tasks"])), offers)
    assert not expected(files["store"]) and not expected(files["tasks"])
    assert set(offers.found) == {files["tasks"]}


def run(files: dict[str, str], jobs: int) -> list[tuple[str, str, tuple[str, ...]]]:
    settings = Settings()
    enabled = tuple(rule.code for rule in _enabled_rules(rule_index(), settings, (), (), ()))
    job = Job(settings, enabled, Mode(), None)
    paths = sorted(files.values())
    return [
        (result.path, d.code, tuple(e.message for e in d.evidence))
        for result in check_files(paths, job, jobs)
        for d in result.diagnostics
    ]


def test_a_run_finds_the_same_whoever_summarised_the_entry_modules(tmp_path, monkeypatch):
    files = project(tmp_path, padding=runner.PARALLEL_THRESHOLD)
    made: list[str] = []
    summarise_file = project_model._summarise
    monkeypatch.setattr(
        project_model, "_summarise", lambda *args: made.append(args[3]) or summarise_file(*args)
    )
    one_process = run(files, jobs=1)
    # The check of app.tasks parsed it: the model did not (app.store it summarised when reached).
    assert made == ["app.store"]
    with monkeypatch.context() as patched:
        patched.setattr(runner, "EarlySummaries", lambda *args: None)  # no summary offered
        made.clear()
        assert run(files, jobs=1) == one_process
        assert made == ["app.tasks", "app.store"]
    assert run(files, jobs=2) == one_process
    assert {(Path(path).name, code) for path, code, _ in one_process} >= {("store.py", "LCK101")}
    assert any(evidence for path, code, evidence in one_process if path == files["store"])


def _facts(known) -> tuple:
    return (known.key, known.specs, known.flags)


def test_a_file_read_by_a_worker_is_what_the_model_reads(tmp_path):
    """Its content key, import lines and seed flags: on every fixture and program."""
    sources = sorted([*(TESTS / "fixtures").glob("LCK*.py"), *(TESTS / "programs").glob("*.py")])
    worker = EarlySummaries(find_roots([str(path) for path in sources]), CATALOGUE)
    store, seeds = SummaryStore(None, catalogue_key(CATALOGUE)), SeedTest(CATALOGUE)
    for path in map(str, sources):
        elsewhere, here = worker.read(path, None), project_model.read_file(path, store, seeds, None)
        assert _facts(elsewhere.known) == _facts(here.known), path
        assert elsewhere.identity == here.identity, path


def listed(files: dict[str, str], offers: Offers) -> tuple:
    found = project_files(sorted(files.values()))
    made = list_project(found, CATALOGUE, None, offered=offers)
    return made.shape, made.keys, made.identities


def test_the_listing_takes_the_files_read_elsewhere_and_reads_those_whose_read_failed(tmp_path, monkeypatch):
    files = project(tmp_path, padding=3)
    alone = listed(files, Offers())
    worker = EarlySummaries(find_roots(list(files.values())), CATALOGUE)
    by_worker = worker.read(files["tasks"], None)
    read = []
    real_read = project_model.read_file
    monkeypatch.setattr(project_model, "read_file", lambda path, *args: read.append(path) or real_read(path, *args))
    offers = Offers()
    offers.read_elsewhere[files["tasks"]] = lambda: by_worker

    def failed() -> None:
        raise OSError("the worker is gone")

    offers.read_elsewhere[files["store"]] = failed
    assert listed(files, offers) == alone
    assert files["tasks"] not in read and files["store"] in read


def test_a_cold_run_hands_a_share_of_the_listing_to_its_workers_and_finds_the_same(tmp_path, monkeypatch):
    files = project(tmp_path, padding=runner.PARALLEL_THRESHOLD)
    elsewhere: list[int] = []
    real = project_model.list_project

    def listing_of(found, catalogue, cache_dir=None, **options):
        offered = options.get("offered")
        elsewhere.append(len(offered.read_elsewhere) if offered is not None else 0)
        return real(found, catalogue, cache_dir, **options)

    monkeypatch.setattr(run_project, "list_project", listing_of)
    one_process = run(files, jobs=1)
    assert run(files, jobs=2) == one_process
    assert elsewhere[0] == 0 and elsewhere[1] > len(files) // 3, elsewhere
