"""The project model's cost on the pinned corpus, side by side with Ruff in one run.

    python benchmarks/model.py [CORPUS]     # default: ~/.cache/loopcheck-corpus/src

On a scratch copy of the corpus, each in a process of its own: ``ruff check --isolated --select
ASYNC``; ``build_model`` over every file with an empty cache directory (cold), again with the same
cache (warm), and after one summarised file changed (warm, one file changed). Prints wall times,
the time ``build_model`` itself took, the ratio to Ruff's wall time, and how many modules were
listed and summarised. Reports only: nothing is asserted. Ruff is found on PATH or beside this
interpreter (``pip install ruff``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path.home() / ".cache" / "loopcheck-corpus" / "src"


def build_once(corpus: str, cache_dir: str | None) -> None:
    """The worker: build the model over every file of ``corpus``, print what it took as JSON."""
    from loopcheck.data.catalogue import Catalogue
    from loopcheck.project.model import build_model
    from loopcheck.run.sources import discover

    try:
        import loopcheck.project.summary  # noqa: F401

        summariser = "loopcheck.project.summary"
    except ImportError:  # before the summariser exists: parse only, the bulk of its cost
        import ast
        import types

        from loopcheck.project.records import ModuleSummary

        def parse_only(text, module, path, is_package, catalogue):  # type: ignore[no-untyped-def]
            ast.parse(text)
            return ModuleSummary(module, path, is_package, (), (), (), (), (), ())

        sys.modules["loopcheck.project.summary"] = types.SimpleNamespace(summarise=parse_only)  # type: ignore[assignment]
        summariser = "a stand-in (ast.parse only)"
    started = time.perf_counter()
    files = discover([corpus]).files
    model = build_model(files, Catalogue.load(), Path(cache_dir) if cache_dir else None, walked=[corpus])
    seconds = time.perf_counter() - started
    selection = model.selection
    print(
        json.dumps(
            {
                "seconds": seconds,
                "files": len(files),
                "listed": len(model.listed),
                "summarised": len(model.modules),
                "on_path": len(selection.on_path) if selection else None,
                "helpers": len(selection.helpers) if selection else None,
                "checked_seeds": len(selection.checked) if selection else None,
                "any_summarised": sorted(model.modules)[:1],
                "summariser": summariser,
            }
        )
    )


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return wall, done.stdout


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else CORPUS
    if not corpus.is_dir():
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not os.path.exists(ruff):
        print("ruff not found (pip install ruff)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="loopcheck-model-") as scratch:
        copy = Path(scratch, "src")
        shutil.copytree(corpus, copy)
        cache = Path(scratch, "cache")
        worker = [sys.executable, __file__, "--build", str(copy)]
        rows = []
        ruff_wall, _ = timed([ruff, "check", "--isolated", "--no-cache", "--select", "ASYNC", str(copy)])
        rows.append(("ruff --select ASYNC", ruff_wall, None, None))
        for label, extra in (
            ("model, no cache", []),
            ("model, cold cache", [str(cache)]),
            ("model, warm", [str(cache)]),
        ):
            wall, out = timed([*worker, *extra])
            rows.append((label, wall, json.loads(out), None))
        changed = rows[-1][2]["any_summarised"]
        if changed:
            module = changed[0]
            target = next(copy.rglob(module.replace(".", "/") + ".py"), None) or next(
                copy.rglob(module.replace(".", "/") + "/__init__.py")
            )
            with open(target, "a", encoding="utf-8") as stream:
                stream.write("\n# changed\n")
            wall, out = timed([*worker, str(cache)])
            rows.append((f"model, warm, {module} changed", wall, json.loads(out), None))
    print(f"summaries made by {rows[1][2]['summariser']}")
    print(
        f"{'run':40} {'wall s':>7} {'build s':>8} {'x ruff':>7}  listed summarised (on path + helpers + checked seeds)"
    )
    for label, wall, data, _ in rows:
        if data is None:
            print(f"{label:40} {wall:7.2f} {'':>8} {1:7.2f}")
            continue
        counts = f"{data['listed']:6} {data['summarised']:10} ({data['on_path']} + {data['helpers']} + {data['checked_seeds']})"
        print(f"{label:40} {wall:7.2f} {data['seconds']:8.2f} {wall / ruff_wall:7.2f}  {counts}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build_once(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        sys.exit(main(sys.argv[1:]))
