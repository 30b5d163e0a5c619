"""The protocol: documents opened, changed (checked after a pause in typing), saved (the project
model rebuilt, the folder's documents checked again) and closed; configuration files watched;
diagnostics pushed; code actions, their resolution, and hover on ``# noqa`` codes.

Checking and model building run on one worker thread, one job at a time, so that the server keeps
answering while they run and no two of them share a folder's state at once; a result is
published only if its document has not changed since it was read.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from loopcheck import __version__
from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.limits import describe
from loopcheck.engine.registry import rule_index
from loopcheck.files import SourceError
from loopcheck.frontends.server import actions, folders
from loopcheck.frontends.server.diagnostics import to_lsp
from loopcheck.frontends.server.noqa import code_at
from loopcheck.frontends.server.positions import Lines
from loopcheck.settings.config import ConfigError
from loopcheck.settings.selection import SelectionError

# How long typing must pause before a changed document is checked again.
DEBOUNCE_SECONDS = 0.15
CONFIG_FILES = ("pyproject.toml", "setup.cfg", "setup.py")  # settings, and the fixes' target Python

T = TypeVar("T")


class LoopcheckServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("loopcheck", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.folders: dict[str, folders.Folder] = {}
        self.broken: dict[str, str] = {}  # folders whose configuration is wrong: why
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="loopcheck")

    # -- folders ---------------------------------------------------------------------------

    def roots(self) -> list[str]:
        folders_ = self.workspace.folders.values()
        roots = [to_fs_path(f.uri) for f in folders_]
        if not roots and self.workspace.root_path:
            roots = [self.workspace.root_path]
        return [os.path.abspath(r) for r in roots if r]

    def root_of(self, path: str) -> str:
        """The workspace folder ``path`` is in (the innermost); its directory when in none."""
        inside = [r for r in self.roots() if path == r or path.startswith(r.rstrip(os.sep) + os.sep)]
        return max(inside, key=len) if inside else os.path.dirname(path)

    def folder(self, root: str) -> folders.Folder | None:
        """The folder's state, read on first use; None when its configuration is wrong (said
        once, in a message)."""
        if root not in self.folders and root not in self.broken:
            try:
                self.folders[root] = folders.open_folder(root)
            except (ConfigError, SelectionError) as error:
                self.broken[root] = str(error)
                self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"loopcheck: {error}"))
        return self.folders.get(root)

    def open_texts(self, root: str) -> dict[str, str]:
        """The open Python documents of the folder ``root``, by absolute path."""
        texts = {}
        for document in list(self.workspace.text_documents.values()):
            path = _path(document.uri)
            if path and _is_python(document.language_id, path) and self.root_of(path) == root:
                texts[path] = document.source
        return texts

    # -- checking --------------------------------------------------------------------------

    async def run(self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.worker, job)

    def log(self, text: str) -> None:
        self.window_log_message(types.LogMessageParams(types.MessageType.Log, f"loopcheck: {text}"))

    async def rebuild(self, root: str) -> None:
        folder = self.folder(root)
        if folder is not None:
            texts = self.open_texts(root)
            await self.run(lambda: folders.rebuild_model(folder, texts, self.log))

    async def check(self, uri: str) -> None:
        """Check the document as it is now and publish its findings, unless it changes meanwhile."""
        document = self.workspace.text_documents.get(uri)
        path = _path(uri)
        if document is None or path is None or not _is_python(document.language_id, path):
            return
        folder = self.folder(self.root_of(path))
        if folder is None:  # its configuration is wrong (said once): no findings to stand by
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, [], document.version))
            return
        text, version = document.source, document.version

        def job() -> list[Diagnostic] | None:
            # Typing may have gone on while the job waited for the worker: then it is skipped.
            return folders.check_text(folder, path, text) if self.version_of(uri) == version else None

        try:
            found = await self.run(job)
        except SourceError as error:  # a syntax error while typing: the last findings stay
            self.log(f"{path}: {error}")
            return
        except Exception as error:  # a bug: said, and the server goes on
            self.log(f"{path}: internal error: {describe(error)}")
            return
        if found is None or self.version_of(uri) != version:
            return
        lines = Lines(text, self.workspace.position_encoding)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri, [to_lsp(d, lines) for d in found], version)
        )

    def version_of(self, uri: str) -> int | None:
        document = self.workspace.text_documents.get(uri)
        return None if document is None else document.version

    def check_later(self, uri: str) -> None:
        """Check after typing pauses: a newer change cancels the check waiting."""
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()

        async def later() -> None:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self.pending.pop(uri, None)
            await self.check(uri)

        self.pending[uri] = asyncio.ensure_future(later())

    async def recheck_folder(self, root: str) -> None:
        await self.rebuild(root)
        for path in self.open_texts(root):
            await self.check(Path(path).as_uri())

    async def reload_configuration(self) -> None:
        """Read every folder's configuration again, then rebuild and re-check."""
        roots = {*self.folders, *self.broken}
        self.folders.clear()
        self.broken.clear()
        for root in roots:
            await self.recheck_folder(root)


def _path(uri: str) -> str | None:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return os.path.abspath(path) if path else None


def _is_python(language_id: str | None, path: str) -> bool:
    return language_id == "python" or path.endswith((".py", ".pyi"))


def _is_config(uri: str) -> bool:
    return uri.rsplit("/", 1)[-1] in CONFIG_FILES


def build_server() -> LoopcheckServer:
    server = LoopcheckServer()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: LoopcheckServer, params: types.InitializedParams) -> None:
        watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        if watched and watched.dynamic_registration:
            watchers = [types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILES]
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(
                        [
                            types.Registration(
                                "loopcheck-configuration",
                                types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                types.DidChangeWatchedFilesRegistrationOptions(watchers),
                            )
                        ]
                    )
                )
            except Exception as error:  # the client refused: saving pyproject.toml still reloads
                ls.log(f"configuration files are not watched ({describe(error)})")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LoopcheckServer, params: types.DidOpenTextDocumentParams) -> None:
        path = _path(params.text_document.uri)
        if path is None:
            return
        root = ls.root_of(path)
        folder = ls.folder(root)
        if folder is not None and not folders.knows(folder, path):
            await ls.rebuild(root)
        await ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LoopcheckServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.check_later(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LoopcheckServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if _is_config(uri):
            await ls.reload_configuration()
            return
        path = _path(uri)
        if path is not None:
            await ls.recheck_folder(ls.root_of(path))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LoopcheckServer, params: types.DidCloseTextDocumentParams) -> None:
        waiting = ls.pending.pop(params.text_document.uri, None)
        if waiting is not None:
            waiting.cancel()
        path = _path(params.text_document.uri)
        folder = ls.folders.get(ls.root_of(path)) if path else None
        if path and folder is not None:
            folders.forget(folder, path)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(params.text_document.uri, []))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(ls: LoopcheckServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(_is_config(change.uri) for change in params.changes):
            await ls.reload_configuration()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: LoopcheckServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for removed in params.event.removed:
            root = os.path.abspath(to_fs_path(removed.uri) or "")
            ls.folders.pop(root, None)
            ls.broken.pop(root, None)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL], resolve_provider=True
        ),
    )
    async def code_action(ls: LoopcheckServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        document = ls.workspace.text_documents.get(uri)
        if document is None:
            return None
        listed = actions.listed(uri, document.version, params.context)
        only = params.context.only or []
        if any(str(kind) in (actions.FIX_ALL, types.CodeActionKind.SourceFixAll) for kind in only) and not any(
            a.kind == actions.FIX_ALL for a in listed
        ):
            listed.append(actions.fix_all_action(uri, document.version))
        if not _resolves_edits(ls):
            listed = [await resolve_action(ls, action) for action in listed]
        return listed

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve_action(ls: LoopcheckServer, action: types.CodeAction) -> types.CodeAction:
        data: dict[str, Any] = action.data if isinstance(action.data, dict) else {}
        uri = data.get("uri")
        document = ls.workspace.text_documents.get(uri) if isinstance(uri, str) else None
        path = _path(uri) if isinstance(uri, str) else None
        folder = ls.folder(ls.root_of(path)) if path else None
        if document is None or path is None or folder is None:
            return action
        text, version, encoding = document.source, document.version, ls.workspace.position_encoding
        try:
            return await ls.run(lambda: actions.resolve(action, folder, path, text, version, encoding))
        except SourceError as error:
            ls.log(f"{path}: {error}")
            return action

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: LoopcheckServer, params: types.HoverParams) -> types.Hover | None:
        document = ls.workspace.text_documents.get(params.text_document.uri)
        if document is None:
            return None
        lines = Lines(document.source, ls.workspace.position_encoding)
        line, column = lines.column(params.position)
        code = code_at(lines.line_text(line), column)
        rule = rule_index().get(code) if code else None
        if rule is None:
            return None
        from loopcheck.rules.docs import render_rule  # the rule classes: hover needs them

        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, render_rule(rule.rule)))

    return server


def _resolves_edits(ls: LoopcheckServer) -> bool:
    """Whether the client resolves a code action's edit lazily (else edits come at once)."""
    text = ls.client_capabilities.text_document
    support = text.code_action.resolve_support if text and text.code_action else None
    return bool(support and "edit" in support.properties)
