"""The language server's re-check of one document after an edit, timed in-process.

    python benchmarks/server_recheck.py [--every-rule] [--code-edit] FOLDER FILE EDITS [GROW_TO_LINES]

Run with the interpreter of the venv loopcheck is installed in (with its ``lsp`` extra). It does
what ``loopcheck server`` does for a document: the folder opened (its settings read), the project
model built from the open document (as on opening it), one check untimed (LibCST and the rules
loaded, as after the first check of a session), then EDITS edits, each a new comment line
appended to the text, each followed by the check the server runs after typing pauses
(``folders.check_text``: the text parsed, analysed and checked against the model of the last
save). Only those checks are timed: the server's pause before checking (its debounce) and the
JSON-RPC exchange are not in the figures. Prints one JSON object: per edit the wall and CPU
seconds of its check, the findings of the last check and the document's lines.

With GROW_TO_LINES the document is the file followed by copies of itself up to that many lines
(a large module whose constructs go through every stage of the check: the corpus has few files of
2,000 lines that do, and none near that length). With --every-rule the folder checks with every
rule, the opt-in tiers included, as with ``select = ["LCK"]`` in its configuration. With
--code-edit each edit appends a statement instead (``edit_1 = 1``): the server keeps the findings
of an edit of comments and blank lines without checking again, while a change of code is checked
in full, which is what typing mostly does.
"""

from __future__ import annotations

import json
import os
import sys
import time


def grown_to(text: str, lines: int) -> str:
    """``text`` followed by copies of itself until it has at least ``lines`` lines: a module that
    defines its names again and again is still valid Python (``from __future__`` imports, which
    must come first, are left out of the copies), and each copy has the constructs and findings
    of the original."""
    if not text.endswith("\n"):
        text += "\n"
    copy = "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("from __future__ import"))
    grown = text
    while grown.count("\n") < lines:
        grown += copy
    return grown


def recheck_times(folder_root: str, path: str, edits: int, grow_to: int = 0, *,
                  every_rule: bool = False, code_edit: bool = False) -> dict[str, object]:
    from dataclasses import replace

    from loopcheck.engine.registry import rule_index
    from loopcheck.frontends.server import folders
    from loopcheck.run.runner import Checker

    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as handle:
        text = grown_to(handle.read(), grow_to) if grow_to else handle.read()
    folder = folders.open_folder(folder_root)
    if every_rule:  # as `select = ["LCK"]` in the folder's configuration
        job = replace(folder.checker.job, enabled=tuple(rule_index()))
        folder = replace(folder, checker=Checker(job))
    folders.rebuild_model(folder, {path: text}, lambda note: None)
    folders.check_text(folder, path, text)
    samples = []
    found: list[object] = []
    for edit in range(edits):
        separator = "" if text.endswith("\n") else "\n"
        added = f"edit_{edit + 1} = {edit + 1}" if code_edit else f"# edit {edit + 1}"
        text = f"{text}{separator}{added}\n"
        wall, cpu = time.perf_counter(), time.process_time()
        found = folders.check_text(folder, path, text)
        samples.append((time.perf_counter() - wall, time.process_time() - cpu))
    return {"samples": samples, "findings": len(found), "lines": text.count("\n")}


def main(argv: list[str]) -> int:
    every_rule, code_edit = EVERY_RULE in argv, CODE_EDIT in argv
    argv = [a for a in argv if a not in (EVERY_RULE, CODE_EDIT)]
    numbers = argv[2:]
    if len(argv) not in (3, 4) or not all(n.isdigit() for n in numbers) or int(argv[2]) < 1:
        print(f"usage: server_recheck.py [{EVERY_RULE}] [{CODE_EDIT}] FOLDER FILE EDITS [GROW_TO_LINES]",
              file=sys.stderr)
        return 2
    print(json.dumps(recheck_times(argv[0], argv[1], *map(int, numbers), every_rule=every_rule, code_edit=code_edit)))
    return 0


EVERY_RULE = "--every-rule"
CODE_EDIT = "--code-edit"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
