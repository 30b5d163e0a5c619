"""``loopcheck server`` through a real client session over stdio (pytest-lsp): diagnostics with
their evidence, quick fixes resolved lazily and applied, ``# noqa`` actions, fix-all, hover,
configuration reload, malformed documents, and a clean shutdown. One server serves the module's
session tests (two workspace folders); each test opens its own documents."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

# The session tests share the module's server, and so its event loop.
in_session = pytest.mark.asyncio(loop_scope="module")

SERVER = [sys.executable, "-m", "loopcheck", "server"]
WAIT = 60  # seconds: a guard against a hang, never a measure

TWO_RUNS = """\
import asyncio

_lock = asyncio.Lock()


async def work():
    async with _lock:
        await asyncio.sleep(0)


def first():
    asyncio.run(work())


def second():
    asyncio.run(work())
"""

CURRENT_LOOP = """\
import asyncio


async def main():
    loop = asyncio.get_event_loop()
    return loop
"""

# LCK401 is opt-in: the configuration turns it on, as a project would.
PYPROJECT = '[project]\nname = "demo"\nrequires-python = ">=3.10"\n\n[tool.loopcheck]\nextend-select = ["LCK401"]\n'


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    for name in ("a", "b"):
        (root / name).mkdir()
        (root / name / "pyproject.toml").write_text(PYPROJECT)
    return root


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, workspace: Path):
    folders = [types.WorkspaceFolder((workspace / name).as_uri(), name) for name in ("a", "b")]
    lsp_client.registrations = []
    registered = asyncio.Event()

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        lsp_client.registrations += params.registrations
        registered.set()

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=folders,
        )
    )
    await asyncio.wait_for(registered.wait(), WAIT)  # the watch on configuration files
    yield
    await lsp_client.shutdown_session()


async def until(client: LanguageClient, ready: Callable[[], bool]) -> None:
    """Wait for diagnostics until ``ready()``."""

    async def wait() -> None:
        while not ready():
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), WAIT)


def codes(client: LanguageClient, uri: str) -> list[str] | None:
    found = client.diagnostics.get(uri)
    return None if found is None else [str(d.code) for d in found]


async def open_document(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    await until(client, lambda: uri in client.diagnostics)
    return uri


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )


def offset(text: str, position: types.Position) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(line) for line in lines[: position.line]) + position.character  # ASCII texts


def applied(text: str, edit: types.WorkspaceEdit, uri: str) -> str:
    """``text`` with the edit's changes to ``uri`` (applied from the end)."""
    (change_,) = edit.document_changes
    assert change_.text_document.uri == uri
    for e in sorted(change_.edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(text, e.range.start)] + e.new_text + text[offset(text, e.range.end) :]
    return text


async def actions_for(client: LanguageClient, uri: str, only: list[str] | None = None) -> list[types.CodeAction]:
    found = client.diagnostics[uri]
    whole = types.Range(types.Position(0, 0), types.Position(10_000, 0))
    return await client.text_document_code_action_async(
        types.CodeActionParams(types.TextDocumentIdentifier(uri), whole, types.CodeActionContext(found, only=only))
    )


@in_session
async def test_diagnostic_has_code_link_range_and_evidence(client: LanguageClient, workspace: Path) -> None:
    uri = await open_document(client, workspace / "a" / "jobs.py", TWO_RUNS)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.code == "LCK101"
    assert diagnostic.source == "loopcheck"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    # `asyncio.Lock()` on line 3 (0-based 2), columns 8 to 22.
    assert diagnostic.range == types.Range(types.Position(2, 8), types.Position(2, 22))
    assert diagnostic.code_description.href.endswith("/rules/LCK101.md")
    related = diagnostic.related_information
    loops = [r for r in related if r.message.startswith("reached from")]
    assert [r.location.range.start.line for r in loops] == [11, 15]
    assert "jobs.first (asyncio.run: a new event loop per call) via jobs.work" in loops[0].message
    assert any(r.message == "via uses _lock" for r in related)


@in_session
async def test_quick_fix_resolved_applied_and_cleared(client: LanguageClient, workspace: Path) -> None:
    uri = await open_document(client, workspace / "a" / "fixme.py", TWO_RUNS)
    actions = await actions_for(client, uri)
    (fix,) = [a for a in actions if a.kind == types.CodeActionKind.QuickFix and "(unsafe)" in a.title]
    assert fix.title == "Create one Lock per event loop with `_get_lock()` (unsafe)"
    assert fix.edit is None  # built on resolve
    resolved = await client.code_action_resolve_async(fix)
    fixed = applied(TWO_RUNS, resolved.edit, uri)
    assert "async with _get_lock():" in fixed and "_lock = asyncio.Lock()" not in fixed
    change(client, uri, 2, fixed)
    await until(client, lambda: codes(client, uri) == [])


@in_session
async def test_disable_for_this_line_adds_and_merges_noqa(client: LanguageClient, workspace: Path) -> None:
    for given, expected in [
        ("_lock = asyncio.Lock()\n", "_lock = asyncio.Lock()  # noqa: LCK101\n"),
        ("_lock = asyncio.Lock()  # noqa: E501\n", "_lock = asyncio.Lock()  # noqa: E501, LCK101\n"),
    ]:
        text = TWO_RUNS.replace("_lock = asyncio.Lock()\n", given)
        uri = await open_document(client, workspace / "a" / f"noqa{len(given)}.py", text)
        actions = await actions_for(client, uri)
        (disable,) = [a for a in actions if a.title == "Disable LCK101 for this line"]
        fixed = applied(text, (await client.code_action_resolve_async(disable)).edit, uri)
        assert fixed == TWO_RUNS.replace("_lock = asyncio.Lock()\n", expected)
        change(client, uri, 2, fixed)
        await until(client, lambda: codes(client, uri) == [])


@in_session
async def test_fix_all_applies_the_safe_fixes(client: LanguageClient, workspace: Path) -> None:
    text = TWO_RUNS + "\n\n" + CURRENT_LOOP.replace("import asyncio\n", "")
    uri = await open_document(client, workspace / "a" / "fixall.py", text)
    assert sorted(codes(client, uri)) == ["LCK101", "LCK401"]
    (fix_all,) = await actions_for(client, uri, only=[types.CodeActionKind.SourceFixAll])
    assert fix_all.kind == "source.fixAll.loopcheck"
    fixed = applied(text, (await client.code_action_resolve_async(fix_all)).edit, uri)
    assert "asyncio.get_running_loop()" in fixed
    assert "_lock = asyncio.Lock()" in fixed  # the unsafe fix is left alone, as --fix does
    change(client, uri, 2, fixed)
    await until(client, lambda: codes(client, uri) == ["LCK101"])


HELPER_PROJECT = Path(__file__).parent / "fixtures" / "projects" / "runasync_kept_loop_helper" / "app"


@in_session
async def test_fix_all_takes_the_project_models_proof(client: LanguageClient, workspace: Path) -> None:
    """``run_async(coro)`` over a kept loop becomes ``asyncio.run(coro)`` in fix-all only where
    the project model shows every caller passes a coroutine (folder a); where one passes
    something else (folder b) the fix is unsafe and fix-all leaves it."""
    for name, caller in (("a", "generate(user_id)"), ("b", "pending(user_id)")):
        shutil.copytree(HELPER_PROJECT, workspace / name / "app")
        roadmap = workspace / name / "app" / "roadmap.py"
        roadmap.write_text(
            "import asyncio\n"
            + roadmap.read_text().replace("run_async(generate(user_id))", f"run_async({caller})")
            + "\n\ndef pending(user_id):\n    return asyncio.ensure_future(generate(user_id))\n"
        )
    fixed = {}
    for name in ("a", "b"):
        path = workspace / name / "app" / "loop.py"
        text = path.read_text()
        uri = await open_document(client, path, text)
        assert codes(client, uri) == ["LCK202", "LCK202"]
        (fix_all,) = await actions_for(client, uri, only=[types.CodeActionKind.SourceFixAll])
        resolved = (await client.code_action_resolve_async(fix_all)).edit
        fixed[name] = applied(text, resolved, uri) if resolved and resolved.document_changes else text
    assert "return asyncio.run(coro)" in fixed["a"]
    assert "_worker_loop" not in fixed["a"]
    assert fixed["b"] == (workspace / "b" / "app" / "loop.py").read_text()  # only an unsafe fix: left


CONNECTOR_PROJECT = Path(__file__).parent / "fixtures" / "projects" / "instance_connector_per_task" / "app"


@in_session
async def test_a_project_rule_s_fix_is_decided_on_the_text_as_the_command_line_decides_it(
    client: LanguageClient, workspace: Path
) -> None:
    """LCK306's fix is granted by the project model and built on the file: where the text shows
    it would not work (an attribute set on the instance), the finding says so, as a plain check
    of the command line does."""
    project = workspace / "a" / "connector"  # a project of its own in the folder
    shutil.copytree(CONNECTOR_PROJECT, project / "app")
    (project / "pyproject.toml").write_text(PYPROJECT)
    path = project / "app" / "memory.py"
    text = path.read_text() + "\n\nasync def rename(user):\n    _neo4j_connector.user = user\n"
    path.write_text(text)
    uri = await open_document(client, path, text)
    (found,) = [d for d in client.diagnostics[uri] if d.code == "LCK306"]
    assert "no fix: code sets or deletes an attribute" in found.message


@in_session
async def test_a_project_rule_s_quick_fix_is_resolved_to_the_edit_fixing_writes(
    client: LanguageClient, workspace: Path
) -> None:
    """LCK306's quick fix: resolved on the document, it gives the edit ``--fix --unsafe-fixes``
    writes to the file (the model granted the fix, the file's text builds it)."""
    project = workspace / "b" / "connector"
    shutil.copytree(CONNECTOR_PROJECT, project / "app")
    (project / "pyproject.toml").write_text(PYPROJECT)
    path = project / "app" / "memory.py"
    text = path.read_text()
    uri = await open_document(client, path, text)
    (found,) = [d for d in client.diagnostics[uri] if d.code == "LCK306"]
    (fix,) = [a for a in await actions_for(client, uri) if a.diagnostics[0].code == found.code and "(unsafe)" in a.title]
    assert fix.title.startswith("Make one `Neo4jConnector` per event loop")
    fixed = applied(text, (await client.code_action_resolve_async(fix)).edit, uri)
    copy = workspace / "fixed-connector"
    shutil.copytree(project, copy)
    subprocess.run([*SERVER[:-1], "--fix", "--unsafe-fixes", "--no-cache", str(copy)], capture_output=True, check=False)
    assert fixed == (copy / "app" / "memory.py").read_text() != text
    assert "_neo4j_connector = _Neo4jConnectorPerLoop()" in fixed


@in_session
async def test_hover_on_a_noqa_code_shows_its_explanation(client: LanguageClient, workspace: Path) -> None:
    text = "x = 1  # noqa: E501, LCK401\n"
    uri = await open_document(client, workspace / "a" / "hover.py", text)
    at = text.index("LCK401") + 2

    async def hover(character: int) -> types.Hover | None:
        return await client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, character))
        )

    shown = await hover(at)
    assert shown.contents.value.startswith("# LCK401: get-event-loop-in-coroutine")
    assert "## Why is this bad" in shown.contents.value
    assert await hover(text.index("E501")) is None
    assert await hover(0) is None


@in_session
async def test_saving_rebuilds_the_project_model(client: LanguageClient, workspace: Path) -> None:
    def loops() -> list[str]:
        (diagnostic,) = client.diagnostics[uri]
        return [r.message for r in diagnostic.related_information if r.message.startswith("reached from")]

    one_run = TWO_RUNS.split("\n\ndef second")[0] + "\n"
    path = workspace / "a" / "saved.py"
    path.write_text(one_run)
    uri = await open_document(client, path, one_run)
    assert [m.split(" via")[0] for m in loops()] == ["reached from saved.first (asyncio.run: a new event loop per call)"]
    path.write_text(TWO_RUNS)
    change(client, uri, 2, TWO_RUNS)
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri)))
    await until(client, lambda: len(loops()) == 2)
    assert "saved.second" in loops()[1]


def shown(client: LanguageClient, uri: str) -> list[tuple[object, ...]]:
    """The document's diagnostics: where, code, message and the lines of their evidence."""
    return [(d.range.start.line, d.range.start.character, d.range.end.line, str(d.code), d.message,
             [r.location.range.start.line for r in d.related_information or ()])
            for d in client.diagnostics[uri]]


async def shown_after_edits(
    client: LanguageClient, uri: str, path: Path, texts: list[str]
) -> list[list[tuple[object, ...]]]:
    """The diagnostics of the open document ``uri`` (at ``path``) after each edit to one of
    ``texts`` in turn, each asserted to be those of the same text opened anew beside it."""
    seen = []
    for version, text in enumerate(texts, start=2):
        client.diagnostics.pop(uri, None)
        change(client, uri, version, text)
        await until(client, lambda: uri in client.diagnostics)
        seen.append(shown(client, uri))
        fresh = await open_document(client, path.with_name(f"{path.stem}_{version}.py"), text)
        assert shown(client, uri) == shown(client, fresh)
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(fresh)))
    return seen


@in_session
async def test_edits_are_checked_as_a_fresh_open_checks_them(client: LanguageClient, workspace: Path) -> None:
    """Comments and blank lines added above a finding (whose findings the server keeps, moved),
    removed again, then code changed: after each edit the diagnostics, and the lines of their
    evidence, are those of the same text opened anew (its model built from that text)."""
    documented = '"""Jobs."""\n' + TWO_RUNS
    path = workspace / "a" / "edited.py"
    uri = await open_document(client, path, documented)
    commented = documented.replace("import asyncio\n", "import asyncio\n# one\n\n# two\n", 1)
    without_lock = commented.replace("asyncio.Lock()", "None")
    seen = await shown_after_edits(client, uri, path, [commented, documented, commented, without_lock])
    moved, back = seen[0][0], seen[1][0]
    assert moved[:4] == (6, 8, 6, "LCK101") and back[:4] == (3, 8, 3, "LCK101")  # three lines down, and back
    assert [line - 3 for line in moved[5]] == back[5] != []  # with the evidence
    assert seen[3] == []


@in_session
async def test_code_edits_inside_functions_are_checked_as_a_fresh_open_checks_them(
    client: LanguageClient, workspace: Path
) -> None:
    """Code typed in one function's body (which the server parses alone, keeping the rest of
    the last check's module), a name changed, a statement added at the top level, then taken
    away: after each edit the diagnostics are those of the same text opened anew."""
    text = CURRENT_LOOP + "\n\nasync def later():\n    return 2\n"
    path = workspace / "a" / "typed.py"
    uri = await open_document(client, path, text)
    second_call = text.replace("    return 2\n", "    asyncio.get_event_loop()\n    return 2\n")
    renamed = second_call.replace("loop = ", "running = ").replace("return loop", "return running")
    with_top = renamed + "LIMIT = 3\n"
    seen = await shown_after_edits(client, uri, path, [second_call, renamed, with_top, text])
    assert [(d[0], d[3]) for d in seen[0]] == [(4, "LCK401"), (9, "LCK401")]
    assert seen[1] == seen[2] and [(d[0], d[1]) for d in seen[1]] == [(4, 14), (9, 4)]
    assert [(d[0], d[3]) for d in seen[3]] == [(4, "LCK401")]


@in_session
async def test_malformed_documents_never_stop_the_server(client: LanguageClient, workspace: Path) -> None:
    broken = workspace / "a" / "broken.py"
    uri = broken.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, "def f(:\n  \x00 '''\n"))
    )
    for version, text in enumerate(["\udcff = 1\n", "async def f(\n", "\t\f  x = (\n" * 50], start=2):
        change(client, uri, version, text)
    change(client, uri, 9, TWO_RUNS)
    await until(client, lambda: codes(client, uri) == ["LCK101"])
    # Not Python: never checked, whatever it holds.
    notes = workspace / "a" / "notes.txt"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(notes.as_uri(), "plaintext", 1, TWO_RUNS))
    )
    other = await open_document(client, workspace / "a" / "after_notes.py", TWO_RUNS)
    assert codes(client, other) == ["LCK101"]
    assert notes.as_uri() not in client.diagnostics


@in_session
async def test_configuration_is_read_again_when_it_changes(client: LanguageClient, workspace: Path) -> None:
    (watch,) = client.registrations
    assert watch.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert {"**/pyproject.toml"} <= {w["globPattern"] for w in watch.register_options["watchers"]}
    uri = await open_document(client, workspace / "b" / "jobs.py", TWO_RUNS)
    assert codes(client, uri) == ["LCK101"]
    pyproject = workspace / "b" / "pyproject.toml"
    pyproject.write_text(PYPROJECT + 'ignore = ["LCK101"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(pyproject.as_uri(), types.FileChangeType.Changed)])
    )
    await until(client, lambda: codes(client, uri) == [])
    # Folder a keeps its own configuration.
    other = await open_document(client, workspace / "a" / "still.py", TWO_RUNS)
    assert codes(client, other) == ["LCK101"]
    # Saving pyproject.toml in the editor reads it again too.
    pyproject.write_text(PYPROJECT)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(pyproject.as_uri(), "toml", 1, PYPROJECT))
    )
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(pyproject.as_uri())))
    await until(client, lambda: codes(client, uri) == ["LCK101"])
    # A wrong configuration: said once, and the folder's findings withdrawn.
    pyproject.write_text(PYPROJECT + "select = 3\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(pyproject.as_uri(), types.FileChangeType.Changed)])
    )
    await until(client, lambda: codes(client, uri) == [])
    (shown,) = client.messages
    assert shown.type == types.MessageType.Error
    assert shown.message.startswith("loopcheck: ") and "pyproject.toml" in shown.message and "select" in shown.message


@in_session
async def test_shutdown_and_exit_end_the_process_cleanly(workspace: Path) -> None:
    client = await ClientServerConfig(server_command=[*SERVER, "--stdio"]).start()
    await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=(workspace / "a").as_uri())
    )
    await client.shutdown_session()
    assert client._server.returncode == 0
    await client.stop()


def test_without_the_extra_the_command_says_so_in_one_line() -> None:
    blocked = "import sys; sys.modules['pygls'] = None; sys.argv = ['loopcheck', 'server']; "
    done = subprocess.run(
        [sys.executable, "-c", blocked + "from loopcheck.frontends.entry import main; main()"],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 2
    assert done.stderr == "loopcheck server: needs the lsp extra (pip install 'loopcheck[lsp]')\n"
    assert done.stdout == ""


def test_an_unknown_argument_is_one_line_and_exit_2() -> None:
    done = subprocess.run([*SERVER, "--tcp"], capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2
    assert done.stderr == "loopcheck server: unexpected argument '--tcp' (only --stdio)\n"


def test_help_says_how_to_run_the_server_and_exits_0() -> None:
    done = subprocess.run([*SERVER, "--help"], capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0
    assert done.stdout.startswith("Usage: loopcheck server [--stdio]\n")
    assert "pip install 'loopcheck[lsp]'" in done.stdout
