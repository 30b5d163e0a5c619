"""A finding's evidence (the loops that reach its object) in every output format, and kept by
every step that rebuilds a finding: the fix edits, the form feed mapping, suppression and the
results cache."""

from __future__ import annotations

import ast
import dataclasses
import io
import json

import jsonschema
import pytest

from loopcheck.engine import formfeed
from loopcheck.engine.diagnostics import Diagnostic, Edit, Evidence, Fix, FixProposal, Location, Safety, declined
from loopcheck.engine.engine import Result
from loopcheck.engine.pipeline import _with_edits
from loopcheck.frontends.flake8_plugin import evidence_tail
from loopcheck.reporters import REPORTERS
from loopcheck.reporters.text import SHOWN_EVIDENCE, report_text
from loopcheck.run import cache, runner
from loopcheck.settings.suppression import unsuppressed
from tests.helpers import invoke, write
from tests.test_output_formats import sarif_schema

CELERY = Evidence(
    "reached from the Celery task 'sync' (asyncio.run: a new event loop per call) via "
    "tasks.run_async -> notify.publish",
    Location("app/tasks.py", 12, 5, "the task starts a loop"),
    (
        Location("app/tasks.py", 13, 12, "asyncio.run(run_async())"),
        Location("app/adapter.py", 4, 9, "run_async calls notify.publish"),
    ),
)
# Brackets and a backslash: SARIF escapes them in a message with links.
WORKER = Evidence(
    "reached from the thread 'worker[0]' (a kept loop: run_forever) via C:\\jobs",
    Location("app/worker.py", 3, 1, "the thread's loop runs here"),
)
EVIDENCED = Diagnostic(
    "app/client.py", 3, 9, 3, 23, "LCK101", "asyncio.Lock() at module level", None, (CELERY, WORKER)
)
PLAIN = Diagnostic("app/client.py", 8, 1, 8, 4, "LCK101", "asyncio.Lock() at module level")
SOURCES = {"app/client.py": "import asyncio\n\n_lock = asyncio.Lock()\n"}
# A file with a finding, for the runs through the command line and the flake8 plugin.
USES_LOCK = SOURCES["app/client.py"] + "\n\nasync def use():\n    async with _lock:\n        await asyncio.sleep(0)\n"
EVIDENCE_LINES = [f"    app/tasks.py:12:5: {CELERY.message}", f"    app/worker.py:3:1: {WORKER.message}"]
CHECK_FILE = runner.pipeline.check_file
# What the text output says under a finding of these (LCK101, with no fix), after its evidence.
NO_FIX_LINE = "    no fix: loopcheck has no automatic fix for this; instead, create it inside the coroutine that uses it, or keep one per event loop"
# ... and under the finding of USES_LOCK, whose fix is unsafe.
UNSAFE_FIX_LINE = "    unsafe fix (--unsafe-fixes applies it): Create one Lock per event loop with `_get_lock()`"


def _found_with_evidence(*args, **kwargs):
    """The findings of the file, each given the evidence the project model would attach."""
    return [dataclasses.replace(d, evidence=(CELERY, WORKER)) for d in CHECK_FILE(*args, **kwargs)]


def report(format_name: str, diagnostics: list[Diagnostic]) -> str:
    stream = io.StringIO()
    REPORTERS[format_name](diagnostics, SOURCES, stream)
    return stream.getvalue()


# -- text, concise, GitHub annotations --------------------------------------------------------------


def test_text_shows_one_indented_line_per_evidence_under_its_finding():
    assert report("text", [EVIDENCED, PLAIN]).splitlines() == [
        "app/client.py:3:9: LCK101 asyncio.Lock() at module level",
        f"    app/tasks.py:12:5: {CELERY.message}",
        f"    app/worker.py:3:1: {WORKER.message}",
        NO_FIX_LINE,
        "app/client.py:8:1: LCK101 asyncio.Lock() at module level",
        NO_FIX_LINE,
    ]


def test_text_shows_the_first_evidence_lines_and_counts_the_others():
    many = dataclasses.replace(EVIDENCED, evidence=(CELERY,) * (SHOWN_EVIDENCE + 3))
    lines = report("text", [many]).splitlines()
    assert lines[1 : SHOWN_EVIDENCE + 1] == [f"    app/tasks.py:12:5: {CELERY.message}"] * SHOWN_EVIDENCE
    assert lines[SHOWN_EVIDENCE + 1:] == ["    ... and 3 more loops (the JSON and SARIF outputs list every one)", NO_FIX_LINE]
    assert len(json.loads(report("json", [many]))[0]["evidence"]) == SHOWN_EVIDENCE + 3


def test_the_source_excerpt_comes_after_the_evidence_lines():
    stream = io.StringIO()
    report_text([EVIDENCED], SOURCES, stream, show_source=True)
    lines = stream.getvalue().splitlines()
    assert lines[1].startswith("    app/tasks.py:12:5: ")
    assert lines[2].startswith("    app/worker.py:3:1: ")
    assert lines[3] == NO_FIX_LINE
    assert lines[4:7] == ["  |", "3 | _lock = asyncio.Lock()", "  |         ^^^^^^^^^^^^^^"]


DECLINED = dataclasses.replace(EVIDENCED, message=declined(EVIDENCED.message, "`_lock` is public"), evidence=())
SAFE = dataclasses.replace(PLAIN, fix=Fix(Safety.SAFE, "Remove the lock"))
UNSAFE = dataclasses.replace(PLAIN, fix=Fix(Safety.UNSAFE, "Create one Lock per event loop with `_get_lock()`"))


def test_text_says_under_a_finding_why_it_has_no_fix_and_what_to_write_instead():
    assert report("text", [DECLINED]).splitlines() == [
        "app/client.py:3:9: LCK101 asyncio.Lock() at module level",
        "    no fix: `_lock` is public; instead, create it inside the coroutine that uses it, or keep one per event loop",
    ]


def test_text_says_why_a_rule_without_fixes_has_none_from_its_documentation():
    """A rule that offers no fix at all documents why (``No fix: <why>.``): its findings say it."""
    helper = dataclasses.replace(PLAIN, code="LCK405", message="`get_loop()` hands out the current loop")
    assert report("text", [helper]).splitlines()[1] == (
        "    no fix: every caller has to change, and how depends on what it does with the loop; instead, run"
        " coroutines with asyncio.run() and use asyncio.get_running_loop() inside them"
    )


def test_text_marks_only_a_safe_fix_and_names_an_unsafe_one_under_its_finding():
    assert report("text", [SAFE, UNSAFE]).splitlines() == [
        "app/client.py:8:1: LCK101 [*] asyncio.Lock() at module level",
        "app/client.py:8:1: LCK101 asyncio.Lock() at module level",
        "    unsafe fix (--unsafe-fixes applies it): Create one Lock per event loop with `_get_lock()`",
    ]


def test_concise_keeps_the_reason_for_no_fix_in_its_one_line():
    assert report("concise", [DECLINED, SAFE, UNSAFE]).splitlines() == [
        "app/client.py:3:9: LCK101 asyncio.Lock() at module level; no fix: `_lock` is public",
        "app/client.py:8:1: LCK101 [*] asyncio.Lock() at module level",
        "app/client.py:8:1: LCK101 asyncio.Lock() at module level",
    ]


def test_concise_stays_one_line_per_finding():
    assert len(report("concise", [EVIDENCED, PLAIN]).splitlines()) == 2


def test_github_annotations_carry_the_evidence_lines_as_encoded_newlines():
    lines = report("github", [EVIDENCED, PLAIN]).splitlines()
    assert len(lines) == 2
    message = lines[0].split("::", 2)[2]
    assert message == (
        "LCK101 asyncio.Lock() at module level"
        f"%0A    app/tasks.py:12:5: {CELERY.message}%0A    app/worker.py:3:1: {WORKER.message}"
    )
    assert lines[1].endswith("::LCK101 asyncio.Lock() at module level")


# -- JSON ---------------------------------------------------------------------------------------------


def test_json_lists_each_evidence_with_its_location_and_steps():
    evidenced, plain = json.loads(report("json", [EVIDENCED, PLAIN]))
    assert evidenced["evidence"] == [
        {
            "message": CELERY.message,
            "location": {"path": "app/tasks.py", "row": 12, "column": 5},
            "steps": [
                {"path": "app/tasks.py", "row": 13, "column": 12, "message": "asyncio.run(run_async())"},
                {"path": "app/adapter.py", "row": 4, "column": 9, "message": "run_async calls notify.publish"},
            ],
        },
        {"message": WORKER.message, "location": {"path": "app/worker.py", "row": 3, "column": 1}, "steps": []},
    ]
    assert plain["evidence"] == []
    # The rest of the finding is as before.
    assert list(plain) == ["code", "message", "filename", "location", "end_location", "evidence", "fix"]


# -- SARIF --------------------------------------------------------------------------------------------


@pytest.fixture
def sarif(tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)  # the URIs are relative to the working directory
    return json.loads(report("sarif", [EVIDENCED, PLAIN]))


def test_sarif_with_evidence_is_valid_sarif_2_1_0(sarif):
    jsonschema.Draft4Validator(sarif_schema()).validate(sarif)


BROKEN_SARIF = {
    "related location id not an integer": lambda result: result["relatedLocations"][0].update(id="1"),
    "step column 0": lambda result: result["codeFlows"][0]["threadFlows"][0]["locations"][0]["location"][
        "physicalLocation"
    ]["region"].update(startColumn=0),
    "thread flow without steps": lambda result: result["codeFlows"][0]["threadFlows"][0].update(locations=[]),
}


@pytest.mark.parametrize("breakage", BROKEN_SARIF.values(), ids=BROKEN_SARIF)
def test_sarif_evidence_validation_can_fail(sarif, breakage):
    """The schema does check what evidence adds."""
    breakage(sarif["runs"][0]["results"][0])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(sarif_schema()).validate(sarif)


def test_sarif_related_locations_are_linked_from_the_message(sarif):
    evidenced, plain = sarif["runs"][0]["results"]
    related = evidenced["relatedLocations"]
    assert [r["id"] for r in related] == [1, 2]
    assert related[1] == {
        "id": 2,
        "physicalLocation": {
            "artifactLocation": {"uri": "app/worker.py", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 3, "startColumn": 1},
        },
        "message": {"text": WORKER.message},
    }
    # Each link's target is a related location's id; literal brackets and backslashes escaped.
    assert evidenced["message"]["text"] == (
        f"asyncio.Lock() at module level ([{CELERY.message}](1); "
        "[reached from the thread 'worker\\[0\\]' (a kept loop: run_forever) via C:\\\\jobs](2))"
    )
    assert plain["message"]["text"] == "asyncio.Lock() at module level"
    assert "relatedLocations" not in plain and "codeFlows" not in plain


def test_sarif_code_flows_follow_the_steps_of_each_evidence_that_has_some(sarif):
    evidenced = sarif["runs"][0]["results"][0]
    (flow,) = evidenced["codeFlows"]  # the worker's evidence has no steps
    assert flow["message"]["text"] == CELERY.message
    (thread,) = flow["threadFlows"]
    assert [
        (
            step["location"]["physicalLocation"]["artifactLocation"],
            step["location"]["physicalLocation"]["region"]["startLine"],
            step["location"]["message"]["text"],
        )
        for step in thread["locations"]
    ] == [
        ({"uri": "app/tasks.py", "uriBaseId": "%SRCROOT%"}, 13, "asyncio.run(run_async())"),
        ({"uri": "app/adapter.py", "uriBaseId": "%SRCROOT%"}, 4, "run_async calls notify.publish"),
    ]


# -- flake8 -------------------------------------------------------------------------------------------


def test_flake8_gets_a_short_tail_naming_the_first_loop():
    assert evidence_tail(EVIDENCED) == " [reached from the Celery task 'sync' and 1 more]"
    assert evidence_tail(PLAIN) == ""
    assert evidence_tail(dataclasses.replace(EVIDENCED, evidence=(CELERY,))) == " [reached from the Celery task 'sync']"


def test_the_flake8_plugin_appends_the_tail_to_each_message(tmp_path, monkeypatch):
    from loopcheck.frontends import flake8_plugin

    path = write(tmp_path / "app.py", USES_LOCK)
    monkeypatch.setattr(flake8_plugin.pipeline, "check_file", _found_with_evidence)
    plugin = flake8_plugin.Plugin(ast.parse(USES_LOCK), str(path), USES_LOCK.splitlines(keepends=True))
    ((line, column, message, _),) = plugin.run()
    assert (line, column) == (3, 8)
    assert message.startswith("LCK101 ") and message.endswith(" [reached from the Celery task 'sync' and 1 more]")


@pytest.mark.parametrize(
    ("message", "tail"),
    [
        ("reached from the task 'a' (asyncio.run() per call) via x.f", " [reached from the task 'a']"),
        ("reached from the task 'a' (kept (forever)) via x.f -> y.g", " [reached from the task 'a']"),
        ("reached from the thread 'b'", " [reached from the thread 'b']"),
        ("reached from f(x) and )", " [reached from f(x) and )]"),  # unbalanced: kept
    ],
)
def test_the_flake8_tail_drops_the_chain_and_the_closing_parenthesis(message, tail):
    evidence = (Evidence(message, Location("a.py", 1, 1, "")),)
    assert evidence_tail(Diagnostic("a.py", 1, 1, 1, 2, "LCK101", "m", None, evidence)) == tail


# -- the steps that rebuild a finding keep its evidence -----------------------------------------------


def test_fix_edits_keep_the_evidence():
    proposal = FixProposal(Safety.UNSAFE, "Use a per-loop accessor", lambda: ())
    (kept,) = _with_edits([Result(EVIDENCED, proposal)], {})
    assert kept.evidence == EVIDENCED.evidence
    # A fix with edits: the finding is rebuilt with them, evidence and all.
    proposal = FixProposal(Safety.UNSAFE, "Use a per-loop accessor", lambda: (Edit(0, 1, "x"),))
    (kept,) = _with_edits([Result(EVIDENCED, proposal)], {})
    assert kept.fix == Fix(Safety.UNSAFE, "Use a per-loop accessor", (Edit(0, 1, "x"),))
    assert kept.evidence == EVIDENCED.evidence


def test_the_form_feed_mapping_keeps_the_evidence():
    normalised = formfeed.normalise("import asyncio\n\x0c_lock = asyncio.Lock()\n")
    assert normalised is not None
    moved = Diagnostic("app/client.py", 2, 1, 2, 6, "LCK101", "m", None, EVIDENCED.evidence)
    mapped = normalised.diagnostic(moved)
    assert (mapped.column, mapped.evidence) == (2, EVIDENCED.evidence)


def test_suppression_keeps_the_evidence_of_what_it_does_not_silence():
    source = "import asyncio\n\n_lock = asyncio.Lock()\n" + "\n" * 4 + "x = 1  # noqa: LCK101\n"
    assert unsuppressed([EVIDENCED, PLAIN], source, lambda d: d) == [EVIDENCED]


# -- the results cache --------------------------------------------------------------------------------


@pytest.fixture
def stored(tmp_path) -> tuple[cache.Cache, str]:
    results = cache.Cache(tmp_path, "settings")
    key = results.key("profile", b"source")
    results.store(key, [EVIDENCED, PLAIN])
    return results, key


def test_a_stored_finding_with_evidence_loads_equal(stored):
    results, key = stored
    assert results.load(key, "app/client.py", ["LCK101"]) == [EVIDENCED, PLAIN]


BROKEN_EVIDENCE = [
    None,  # missing (an entry written before evidence was stored)
    "reached",
    [["reached", ["a.py", 1, 1, "m"]]],  # no steps
    [[1, ["a.py", 1, 1, "m"], []]],  # message not text
    [["reached", ["a.py", "1", 1, "m"], []]],  # line not a number
    [["reached", ["a.py", 1, True, "m"], []]],  # a bool is not a column
    [["reached", ["a.py", 1, 1], []]],  # location without its message
    [["reached", ["a.py", 1, 1, "m"], "steps"]],
    [["reached", ["a.py", 1, 1, "m"], [["b.py", 2, 3, None]]]],  # a step's message not text
    [["reached", ["a.py", 1, 1, "m"], [["b.py", 2, 3]]]],
]


@pytest.mark.parametrize("evidence", BROKEN_EVIDENCE, ids=range(len(BROKEN_EVIDENCE)))
def test_an_entry_with_malformed_evidence_is_a_miss(stored, evidence):
    results, key = stored
    entry = results._entry(key)
    data = json.loads(entry.read_text())
    if evidence is None:
        del data["diagnostics"][1]["evidence"]
    else:
        data["diagnostics"][1]["evidence"] = evidence
    entry.write_text(json.dumps(data))
    assert results.load(key, "app/client.py", ["LCK101"]) is None


def test_the_entry_format_is_part_of_the_cache_key(tmp_path, monkeypatch):
    before = cache.Cache(tmp_path, "settings").base
    monkeypatch.setattr(cache, "ENTRY_FORMAT", cache.ENTRY_FORMAT + 1)
    assert cache.Cache(tmp_path, "settings").base != before


def test_the_command_line_prints_evidence_as_found_and_as_served_from_the_cache(tmp_path, monkeypatch):
    """Through the runner and the cache, in the run that finds the evidence and in the next one,
    which reads the finding back from the cache without checking the file."""
    write(tmp_path / "app.py", USES_LOCK)

    def never(*args, **kwargs):
        raise AssertionError("checked again: the cache was not used")

    options = ("--cache-dir", tmp_path / "cache", "-j", "1", "-q", "app.py")
    monkeypatch.setattr(runner.pipeline, "check_file", _found_with_evidence)
    found = invoke(*options, cwd=tmp_path).output.splitlines()
    monkeypatch.setattr(runner.pipeline, "check_file", never)
    served = invoke(*options, cwd=tmp_path).output.splitlines()
    assert found[1:] == [*EVIDENCE_LINES, UNSAFE_FIX_LINE]
    assert served == found


def test_standard_input_keeps_the_evidence(tmp_path, monkeypatch):
    monkeypatch.setattr(runner.pipeline, "check_file", _found_with_evidence)
    result = invoke("-q", "--stdin-filename", "app.py", "-", cwd=tmp_path, stdin=USES_LOCK)
    assert result.output.splitlines()[0].startswith("app.py:3:9: LCK101 ")
    assert result.output.splitlines()[1:] == [*EVIDENCE_LINES, UNSAFE_FIX_LINE]
