"""SARIF 2.1.0 output, as GitHub code scanning and other SARIF viewers read it: one run, the
rules with their documentation, each finding with its location, a fingerprint of its content (not
of its line) and, when it has one, its fix.

A finding's evidence (the loops that reach its object) becomes ``relatedLocations``, one per loop
at the place the loop starts, each linked from the result's message (code scanning shows related
locations only through such links, §3.11.6), and ``codeFlows``, one per loop that reaches the
object through calls, each step a ``threadFlowLocation``.

https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from loopcheck import __version__
from loopcheck.engine.anchors import fingerprints
from loopcheck.engine.diagnostics import Diagnostic, Evidence, Location
from loopcheck.reporters.json import at, locator

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# The key of the content fingerprint in ``partialFingerprints`` (versioned, as §3.27.17 asks).
FINGERPRINT = "loopcheckAnchor/v1"


def _uri(path: str) -> str:
    """A relative URI reference to the file from the working directory (the repository root in
    CI), percent-encoded (RFC 3986): a name with ':' does not read as a scheme, '%', '#' or '?'
    stay part of the name, and bytes that are not UTF-8 are encoded as they are. A file outside
    the working directory gets an absolute ``file:`` URI."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return Path(absolute).as_uri()
    return quote(os.fsencode(Path(relative).as_posix()), safe="/")


def _rule(code: str) -> dict[str, Any]:
    from loopcheck.rules import all_rules
    from loopcheck.rules.docs import (
        render_rule,  # the rule classes: only SARIF output needs them
    )

    rule = all_rules()[code]
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": f"{rule.summary[0].upper()}{rule.summary[1:]}."},
        "fullDescription": {"text": rule.docs.what_it_does.replace("\n", " ")},
        "help": {"text": rule.docs.why_is_this_bad.replace("\n", " "), "markdown": render_rule(rule)},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["asyncio", "event-loop"], "fix": rule.fix_kind},
    }


def _region(start: dict[str, int], end: dict[str, int]) -> dict[str, Any]:
    """A region; in a notebook its lines are those of the cell that the region's property bag
    names (``"properties": {"cell": N}``, 1-based among all cells, as the text output's
    ``cell N``): SARIF has no notion of cells, and the file's own lines are its JSON's."""
    region: dict[str, Any] = {
        "startLine": start["row"],
        "startColumn": start["column"],
        "endLine": end["row"],
        "endColumn": end["column"],
    }
    if "cell" in start:
        region["properties"] = {"cell": start["cell"]}
    return region


def _artifact(path: str) -> dict[str, str]:
    return {"uri": _uri(path), "uriBaseId": "%SRCROOT%"}


def _physical(where: Location) -> dict[str, Any]:
    return {
        "artifactLocation": _artifact(where.path),
        "region": {"startLine": where.line, "startColumn": where.column},
    }


def _escaped(text: str) -> str:
    """Plain text as a message with embedded links needs it (§3.11.6): literal square brackets
    and backslashes escaped with a backslash."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _message(d: Diagnostic) -> str:
    """The finding's message and, when it has evidence, a link to each related location (the
    link target is the related location's id)."""
    if not d.evidence:
        return d.message
    links = "; ".join(f"[{_escaped(e.message)}]({number})" for number, e in enumerate(d.evidence, 1))
    return f"{_escaped(d.message)} ({links})"


def _related(number: int, evidence: Evidence) -> dict[str, Any]:
    """Where one loop that reaches the object starts; the message says which loop and how."""
    return {
        "id": number,
        "physicalLocation": _physical(evidence.location),
        "message": {"text": evidence.message},
    }


def _code_flow(evidence: Evidence) -> dict[str, Any]:
    """The calls by which one loop reaches the object, from its entry point."""
    steps = [
        {"location": {"physicalLocation": _physical(step), "message": {"text": step.message}}}
        for step in evidence.steps
    ]
    return {"message": {"text": evidence.message}, "threadFlows": [{"locations": steps}]}


def _fingerprints(diagnostics: list[Diagnostic], sources: dict[str, str]) -> dict[int, str]:
    """Each finding's content fingerprint (``engine.anchors``), by ``id``: results keep theirs
    when lines are added above them, so code scanning does not see them as new."""
    by_path: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_path.setdefault(d.path, []).append(d)
    found = {}
    for path, ds in by_path.items():
        found.update(zip(map(id, ds), fingerprints(ds, sources.get(path, ""))))
    return found


def _result(d: Diagnostic, source: str, index: int, fingerprint: str) -> dict[str, Any]:
    location = {"artifactLocation": _artifact(d.path)}
    result: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": index,
        "level": "error",
        "message": {"text": _message(d)},
        "partialFingerprints": {FINGERPRINT: fingerprint},
        "locations": [
            {
                "physicalLocation": {
                    **location,
                    "region": _region(at(d, d.line, d.column), at(d, d.end_line, d.end_column)),
                }
            }
        ],
    }
    if d.evidence:
        result["relatedLocations"] = [_related(number, e) for number, e in enumerate(d.evidence, 1)]
    flows = [_code_flow(e) for e in d.evidence if e.steps]
    if flows:
        result["codeFlows"] = flows
    if d.fix is not None:
        locate = locator(source, d.cell is not None)
        result["fixes"] = [
            {
                "description": {"text": f"{d.fix.description} ({d.fix.safety.value} fix)"},
                "artifactChanges": [
                    {
                        "artifactLocation": location["artifactLocation"],
                        "replacements": [
                            {
                                "deletedRegion": _region(locate(edit.start), locate(edit.end)),
                                "insertedContent": {"text": edit.content},
                            }
                            for edit in d.fix.edits or ()
                        ],
                    }
                ],
            }
        ]
    return result


def report_sarif(diagnostics: list[Diagnostic], sources: dict[str, str], stream: TextIO) -> None:
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    prints = _fingerprints(diagnostics, sources)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "loopcheck",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(code) for code in codes],
                    }
                },
                "originalUriBaseIds": {
                    "%SRCROOT%": {"uri": Path(os.getcwd()).as_uri().rstrip("/") + "/"}
                },
                "results": [
                    _result(d, sources.get(d.path, ""), index[d.code], prints[id(d)]) for d in diagnostics
                ],
            }
        ],
    }
    json.dump(log, stream, indent=2)
    stream.write("\n")
