"""The cost of the project model's module summaries on the pinned corpus, next to ``ast.parse``.

    python benchmarks/summaries.py [CORPUS_DIR]     # default: ~/.cache/loopcheck-corpus

Reads every .py file of the corpus's packages once, then, in this one process, times (in CPU
time, which other processes on the machine do not inflate) ``ast.parse`` alone and ``summarise``
(which parses too) over all of them, and reports the pickle size of the summaries. A file that
does not decode or parse is counted and skipped, as the model skips it; any other exception is a
crash and ends the run with its file named. Not part of the test suite.
"""

from __future__ import annotations

import ast
import os
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import python_files  # noqa: E402
from loopcheck.data.catalogue import Catalogue  # noqa: E402
from loopcheck.project.summary import summarise  # noqa: E402


def module_of(package_dir: Path, path: Path) -> tuple[str, bool]:
    """The dotted name a file of ``package_dir`` (a corpus package's root) is imported as."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else Path(os.environ.get("LOOPCHECK_CORPUS", Path.home() / ".cache/loopcheck-corpus"))
    source = corpus / "src"
    if not source.is_dir():
        print(f"summaries.py: no corpus at {source} (run ../shared/bench/corpus.sh)", file=sys.stderr)
        return 2
    texts: list[tuple[Path, str, str, bool]] = []
    undecodable = 0
    for package_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        for path in python_files([package_dir]):
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                undecodable += 1
                continue
            texts.append((path, text, *module_of(package_dir, path)))
    catalogue = Catalogue.load()

    parse_time = 0.0
    summary_time = 0.0
    unparsable = 0
    sizes: list[tuple[int, str]] = []
    for path, text, module, is_package in texts:
        started = time.process_time()
        try:
            ast.parse(text, filename=str(path))
        except (SyntaxError, ValueError):
            unparsable += 1
            continue
        parsed = time.process_time()
        try:
            summary = summarise(text, module, str(path), is_package, catalogue)
        except Exception:
            print(f"summaries.py: crashed on {path}", file=sys.stderr)
            raise
        summary_time += time.process_time() - parsed
        parse_time += parsed - started
        sizes.append((len(pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL)), str(path)))

    largest, largest_path = max(sizes)
    print(f"files: {len(texts) + undecodable} ({len(sizes)} summarised, {unparsable} not parsed, {undecodable} not UTF-8)")
    print(f"ast.parse alone: {parse_time:.2f} s")
    print(f"summarise (parse + walk + resolve): {summary_time:.2f} s ({summary_time / parse_time:.2f}x the parse)")
    print(f"pickle: mean {sum(s for s, _ in sizes) / len(sizes) / 1024:.1f} KiB, "
          f"largest {largest / 1024:.1f} KiB ({largest_path}), total {sum(s for s, _ in sizes) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
