"""What the model knows of each module of a project from its text alone (no parse): its imports
and its seed flags; which modules it summarises up front.

Parsing every module of a project costs about ten times a whole Ruff run, so the model parses
only the modules a loop can start in when it is built (its *entry modules*), and the others when
the reach's calls resolve into them (``model.ProjectModel.summary``):

1. **Import graph.** A regular expression over each file's text finds its import lines
   (``import a.b``, ``from a import b, c``, ``from . import x``, parenthesised lists; also those
   inside functions, in strings or under ``if TYPE_CHECKING:``, which only keeps a module more).
   Each gives an edge to the longest prefix of ``a.b`` (``a.b``/``a.c``, else ``a``) that is a
   listed module of the importing module's own project (``roots.Roots.project_of_file``);
   relative imports are resolved against the importing module's package. The model reads the
   edges backwards: the modules that import a module are where its callers are looked for.
2. **Seeds**, three flags per file:
   - *starts*: the text names a loop start of data/entries.toml (the last part of a call such as
     ``run(`` with every part before it in the file, the first, a module, ``asyncio``, where a
     module's name is bound: an import line, or written as a string, see candidates.module_words;
     ``run_until_complete``; ``Runner``);
   - *serves*: it names an execution context whose code runs on a loop it provides (a lifespan
     seed of data/contexts.toml: ``FastAPI(lifespan=...)``, ``on_event``; an arq
     ``WorkerSettings``, ``@pytest.mark.asyncio``; a route decorator or URL pattern of
     data/entries.toml's ``[[served]]``: ``@app.get``, ``path(``; a Celery task where
     ``[tool.loopcheck] celery-pool`` names a pool that awaits ``async def`` tasks on its loop);
   - *configures*: it names a setting of Celery's worker pool (``worker_pool``), which decides
     how the Celery tasks' loops meet.
   The entry modules are those with any of these three: every loop the reach follows starts in
   one of them. A fourth flag makes no entry:
   - *objects*: it may keep a primitive or client of the catalogue in a module global, whose
     public name's fix needs to know which modules import it, whether or not a loop reaches the
     module (``reach``): an import line names the object's package (``asyncio``), the text holds
     every part of its name, and a call of it (``Lock(``) stands outside every function and class
     (after a top-level line that is no ``def``, ``class`` or decorator), or anywhere in a module
     with a ``global`` statement (a start-up hook's global). A call in a module-level block that
     starts with one of those (a ``def`` in an ``if``) is missed: that name's fix stays withheld.
   The contexts that run no loop (a thread, a Celery task) and the objects are not looked for:
   they matter only where the reach's walk or a function's callers lead, loaded then. (So the
   ``async def`` tasks of a Celery pool with a loop that only the code sets are seen where the
   walk or a function's callers lead.)
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from loopcheck.data.catalogue import DEFAULT_CELERY_POOL, Catalogue
from loopcheck.prefilter.candidates import import_lines, module_words, parts_in, quoted_pattern, starts_word
from loopcheck.project.celery_config import POOL_NAMES

# The names that set Celery's worker pool (project/celery_config.py), as words.
POOL_WORDS = re.compile(r"\b(?:" + "|".join(sorted(POOL_NAMES)) + r")\b")

# ``from X import names`` (names possibly a parenthesised, multi-line list) or ``import names``.
IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)|import[ \t]+([^\n#;]+))",
    re.MULTILINE,
)
# One imported name, before any ``as``.
IMPORTED_NAME = re.compile(r"([\w.]+)(?:\s+as\s+\w+)?")
# A line that begins at the top level (the newline before it, then code), and the top-level lines
# that open a function or class (a decorator's function follows it).
TOP_LEVEL_LINE = re.compile(r"\n[^ \t\n\r\f#]")
DEFINITIONS = ("def ", "def\t", "async ", "class ", "class\t", "@")
# A ``global`` statement, in a function.
GLOBAL_STATEMENT = re.compile(r"\n[ \t]+global[ \t]")

# An import as written: how many leading dots, the dotted name after them.
ImportSpec = tuple[int, str]


def import_specs(text: str) -> list[ImportSpec]:
    """The modules (and possible submodules) the import lines of ``text`` name, as written
    (``text``: a module's, or its ``import_lines``)."""
    specs: list[ImportSpec] = []
    end = 0
    for start in _lines_naming(text, "import"):
        # As IMPORT_LINE.finditer would find them: each import begins on a line that says
        # `import`, and none begins inside the one before (a parenthesised list).
        match = IMPORT_LINE.match(text, start) if start >= end else None
        if match is None:
            continue
        end = match.end()
        dots, source, names, plain = match.groups()
        if plain is not None:
            specs += [(0, name) for name in IMPORTED_NAME.findall(plain) if not name.endswith(".")]
            continue
        level = len(dots)
        if not source and not level:
            continue
        # ``from pkg import sub``: the submodule ``pkg.sub`` when there is one, else ``pkg``.
        names = [name for name in IMPORTED_NAME.findall(names.strip("()")) if "." not in name]
        specs += [(level, f"{source}.{name}" if source else name) for name in names] or [(level, source)]
    return specs


def _lines_naming(text: str, word: str) -> Iterator[int]:
    """Where each line of ``text`` that holds ``word`` begins, in order (lines end at LF, as
    ``^`` sees them in a MULTILINE pattern). The word is looked for as a literal, much faster than
    trying a pattern at every line."""
    found = text.find(word)
    while found != -1:
        yield text.rfind("\n", 0, found) + 1
        end = text.find("\n", found)
        if end == -1:
            return
        found = text.find(word, end)


def absolute(spec: ImportSpec, module: str, is_package: bool) -> str | None:
    """The absolute dotted name of ``spec`` written in ``module``; None when a relative import
    climbs above the top package."""
    level, name = spec
    if not level:
        return name
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level > len(package):  # beyond the top-level package: an ImportError
        return None
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, name] if name else base)


def import_edges(
    specs: Iterable[ImportSpec], module: str, is_package: bool, modules: Mapping[str, object], project: object = None
) -> set[str]:
    """The listed modules ``module``'s imports reach: for each name, its longest listed prefix,
    when that module is of the same project (``modules``: each module's project)."""
    edges: set[str] = set()
    for spec in specs:
        name = absolute(spec, module, is_package)
        while name:
            if name in modules:
                if name != module and modules[name] == project:
                    edges.add(name)
                break
            name = name.rpartition(".")[0]
    return edges


@dataclass(frozen=True)
class Flags:
    """What the text of one file may hold (see the module's description)."""

    starts: bool
    serves: bool
    # It may set the Celery worker pool (``worker_pool = "threads"``), which decides how the
    # project's Celery tasks meet each other's loops.
    configures: bool = False
    # It may make a loop-bound object of the catalogue (no entry for that).
    objects: bool = False

    @property
    def entry(self) -> bool:
        return self.starts or self.serves or self.configures


class _Words:
    """Qualified names (``asyncio.run``: the last part as a word, every part before it somewhere in
    the text; for ``calls``, the word followed by ``(``), method names (``.name`` on something)
    and decorator methods (``@anything.name``). One pattern per kind, each searched once: the
    engine scans for the words' literals."""

    def __init__(
        self, qualified: Iterable[str], methods: Iterable[str], decorators: Iterable[str] = (), calls: Iterable[str] = ()
    ) -> None:
        # By last part (and whether it must be called), the parts before it, every one of which
        # an import of the name writes (``django`` and ``urls`` for ``django.urls.path``: the
        # word ``path`` and ``django`` alone are in most files of a Django project).
        self.firsts: dict[tuple[str, bool], set[tuple[str, ...]]] = {}
        for names, called in ((qualified, False), (calls, True)):
            for name in names:
                first, _, last = name.rpartition(".")
                self.firsts.setdefault((last, called), set()).add(tuple(first.split(".")) if first else ())
        # Each pattern starts with its word, a literal the engine scans for (a pattern starting
        # with a look-behind is tried at every position); the word's start is tested on each match.
        self.words = {
            (word, called): re.compile(re.escape(word) + (r"[ \t]*\(" if called else r"\b"))
            for word, called in self.firsts
        }
        # Fewer than the words (``fastapi`` for ``FastAPI``, ``APIRouter``, ``APIRoute``...): looked
        # for first, once each, as each `in` reads the whole text where the word is missing.
        self.modules = sorted({parts[0] for found in self.firsts.values() for parts in found if parts})
        # The words to look at once the modules found are known: those some name of which has no
        # module part, then by module those some name of which starts with it (most texts name
        # none of the modules, and most words are not looked at then).
        self.unqualified = [key for key, found in self.firsts.items() if () in found]
        self.by_module = {
            module: [key for key, found in self.firsts.items() if any(parts[:1] == (module,) for parts in found)]
            for module in self.modules
        }
        self.methods = _alternation(r"\.[ \t]*(?:", methods, r")\b", 0)
        # Only at the start of a line, after its indentation: tested on each match (a pattern
        # that starts with `^` is tried at every position of the text; one that starts with `@`
        # only where there is one).
        self.decorators = _alternation(r"@[\w. \t]*\.[ \t]*(?:", decorators, r")\b", 0)

    def found_in(self, text: str, bound: str) -> bool:
        """Whether ``text`` names one of the words, a name's first part, a module, being looked
        for where ``text`` may bind a module's name (``bound``: candidates.module_words)."""
        present = {module for module in self.modules if module in bound}
        keys = self.unqualified
        if present:
            found = (key for module in self.modules if module in present for key in self.by_module[module])
            keys = list(dict.fromkeys([*keys, *found]))
        for word, called in keys:
            if any(parts_in(parts, present, text) for parts in self.firsts[word, called]) and word in text:
                if any(starts_word(text, match.start()) for match in self.words[word, called].finditer(text)):
                    return True
        if self.methods is not None and self.methods.search(text):
            return True
        return self.decorators is not None and any(
            _indentation_only(text, match.start()) for match in self.decorators.finditer(text)
        )


class _Kept:
    """The *objects* flag (see the module's description) for the qualified names of the
    catalogue's primitives and clients."""

    def __init__(self, names: Iterable[str]) -> None:
        # By the first part of each name (the package an import line names), its last part and
        # the parts before it.
        self.by_root: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
        for name in names:
            first, _, last = name.rpartition(".")
            parts = tuple(first.split(".")) if first else ()
            self.by_root.setdefault(parts[0] if parts else "", set()).add((last, parts))

    def found_in(self, text: str, specs: Iterable[ImportSpec]) -> bool:
        roots = {name.partition(".")[0] for level, name in specs if not level} | {""}
        tops: list[int] | None = None  # where each top-level line begins, found once asked for
        for root in roots & self.by_root.keys():
            for last, parts in self.by_root[root]:
                if not all(part in text for part in parts):
                    continue
                found = text.find(last)
                while found != -1:
                    after = found + len(last)
                    if starts_word(text, found) and text[after : after + 40].lstrip(" \t").startswith("("):
                        if tops is None:
                            if GLOBAL_STATEMENT.search(text):
                                return True
                            tops = [match.start() + 1 for match in TOP_LEVEL_LINE.finditer(text)]
                        if _outside_definitions(text, tops, found):
                            return True
                    found = text.find(last, after)
        return False


def _outside_definitions(text: str, tops: list[int], index: int) -> bool:
    """Whether ``index`` stands on a top-level line, or on an indented one under a top-level line
    that opens no function or class (``tops``: where each top-level line after the first begins)."""
    line = text.rfind("\n", 0, index) + 1
    if text[line] not in " \t":
        return True
    above = bisect.bisect_right(tops, line) - 1
    opener = text[tops[above] :] if above >= 0 else text if text[:1] not in " \t" else ""
    return not opener.startswith(DEFINITIONS)


def _indentation_only(text: str, index: int) -> bool:
    """Whether only spaces and tabs stand between the start of its line and ``index``."""
    return not text[text.rfind("\n", 0, index) + 1 : index].strip(" \t")


def _alternation(before: str, words: Iterable[str], after: str, flags: int) -> re.Pattern[str] | None:
    ordered = sorted(set(words), key=lambda word: (-len(word), word))
    return re.compile(before + "|".join(map(re.escape, ordered)) + after, flags) if ordered else None


class SeedTest:
    """The seed flags of a file's text, from the catalogue."""

    def __init__(self, catalogue: Catalogue) -> None:
        starts_qualified: set[str] = set()
        starts_methods: set[str] = set()
        for start in catalogue.loop_starts:
            starts_qualified |= start.calls
            if start.receivers:  # ``Runner.run``: the receiver's class is named in the file
                starts_qualified |= start.receivers
            else:
                starts_methods |= start.methods
        self.starts = _Words(starts_qualified, starts_methods)
        # The Celery task's among them where the configuration names a pool that awaits an
        # `async def` task on its loop (a pool the code sets is known only once summarised).
        pool = catalogue.celery_pool or DEFAULT_CELERY_POOL
        server = {name for name, runs in catalogue.context_runs_under(pool).items() if runs.runs_on_loop}
        qualified: set[str] = set()
        calls: set[str] = set()
        methods: set[str] = set()
        decorators: set[str] = set()
        for seed in [*(s for s in catalogue.context_seeds if s.context in server), *catalogue.served]:
            calls |= seed.calls  # a route or an application is handed its function in a call
            qualified |= seed.decorators | seed.subclass_of | seed.class_names
            if not seed.subclass_of:  # ``run`` of a ``Thread`` subclass: the base is named
                methods |= seed.methods
            decorators |= seed.decorator_methods
        self.serves = _Words(qualified, methods, decorators, calls)
        self.objects = _Kept([*catalogue.primitives, *catalogue.clients])
        self.quoted = quoted_pattern([*self.starts.modules, *self.serves.modules])

    def flags(self, text: str, specs: Iterable[ImportSpec] | None = None, imports: str | None = None) -> Flags:
        """The flags of ``text``, whose import lines are ``imports`` and name ``specs`` (read
        from it when None)."""
        imports = import_lines(text) if imports is None else imports
        bound = module_words(text, imports, self.quoted)
        return Flags(
            starts=self.starts.found_in(text, bound),
            serves=self.serves.found_in(text, bound),
            configures=_configures(text),
            objects=self.objects.found_in(text, import_specs(imports) if specs is None else specs),
        )

    def entry(self, text: str) -> bool:
        """Whether ``text`` is an entry module's (``Flags.entry``), its other flags untold."""
        bound = module_words(text, import_lines(text), self.quoted)
        return self.starts.found_in(text, bound) or self.serves.found_in(text, bound) or _configures(text)


def _configures(text: str) -> bool:
    return any(name in text for name in POOL_NAMES) and POOL_WORDS.search(text) is not None
