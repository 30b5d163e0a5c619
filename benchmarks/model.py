"""The project model's cost on the pinned corpus, side by side with Ruff in one run.

    python benchmarks/model.py [CORPUS]     # default: ~/.cache/loopcheck-corpus/src

On a scratch copy of the corpus, each in a process of its own: ``ruff check --isolated --select
ASYNC``; ``build_model`` over every file, then ``compute_reach`` over the model (the reach loads
the modules its calls resolve into), with no cache, with an empty cache directory (cold), again
with the same cache (warm), and after one module the walk loaded changed (warm, one file
changed). Prints wall times, the time the build and the reach took, the ratio to Ruff's wall
time, how many modules were listed, summarised up front (the entry modules) and loaded by the
walk, and how many loops and objects the reach saw. Reports only: nothing is asserted. Ruff is
found on PATH or beside this interpreter (``pip install ruff``).
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
    """The worker: build the model over every file of ``corpus`` and walk it (the reach loads the
    modules its calls resolve into), print what each took as JSON."""
    from loopcheck.data.catalogue import Catalogue
    from loopcheck.project.model import build_model
    from loopcheck.project.reach import compute_reach
    from loopcheck.run.sources import discover

    started = time.perf_counter()
    files = discover([corpus]).files
    catalogue = Catalogue.load()
    model = build_model(files, catalogue, Path(cache_dir) if cache_dir else None, walked=[corpus])
    built = time.perf_counter()
    entries = len(model.modules)
    reach = compute_reach(model, catalogue)
    walked = time.perf_counter()
    loaded = sorted(set(model.modules) - model.entry_modules())
    print(
        json.dumps(
            {
                "seconds": walked - started,
                "build": built - started,
                "reach": walked - built,
                "files": len(files),
                "listed": len(model.listed),
                "entries": entries,
                "loaded": len(loaded),
                "loops": len(reach.loops),
                "objects": len(reach.objects),
                "any_loaded": loaded[:1],
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
        changed = rows[-1][2]["any_loaded"]
        if changed:
            module = changed[0]
            target = next(copy.rglob(module.replace(".", "/") + ".py"), None) or next(
                copy.rglob(module.replace(".", "/") + "/__init__.py")
            )
            with open(target, "a", encoding="utf-8") as stream:
                stream.write("\n# changed\n")
            wall, out = timed([*worker, str(cache)])
            rows.append((f"model, warm, {module} changed", wall, json.loads(out), None))
    print(
        f"{'run':44} {'wall s':>7} {'build s':>8} {'reach s':>8} {'x ruff':>7}  listed entry loaded-by-walk loops objects"
    )
    for label, wall, data, _ in rows:
        if data is None:
            print(f"{label:44} {wall:7.2f} {'':>8} {'':>8} {1:7.2f}")
            continue
        counts = f"{data['listed']:6} {data['entries']:5} {data['loaded']:14} {data['loops']:5} {data['objects']:7}"
        print(f"{label:44} {wall:7.2f} {data['build']:8.2f} {data['reach']:8.2f} {wall / ruff_wall:7.2f}  {counts}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build_once(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        sys.exit(main(sys.argv[1:]))
