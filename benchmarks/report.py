"""Statistics over the samples and the Markdown/JSON report. Pure functions of the recorded run,
so that they can be tested on made-up samples and a saved JSON file can be rendered again."""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.measure import Sample

REFERENCE = "ruff"  # every ratio is to this benchmark's median wall time
PLUGIN_BASELINE, PLUGIN_RUN = "flake8-default", "flake8-default+loopcheck"
SCALING = ("loopcheck-1/8", "loopcheck-1/4", "loopcheck-1/2", "loopcheck-cold")
SCALING_LABELS = ("1/8", "1/4", "1/2", "all")
# One file on its own: (Ruff's row, loopcheck's row) per kind of file, and the server's re-check.
SINGLE_KINDS = ("plain", "candidate")
SERVER_RECHECKS = ("server-recheck", "server-recheck-grown", "server-recheck-grown-code")
SINGLE = (*(f"single-{tool}-{kind}" for kind in SINGLE_KINDS for tool in ("ruff", "loopcheck")), *SERVER_RECHECKS)


@dataclass
class Benchmark:
    """One measured command and its samples over the rounds."""

    key: str
    label: str  # what the table calls it
    command: str  # the command line, file lists abbreviated
    files: int  # files measured
    lines: int  # lines measured
    subset: str  # which files: "15 packages", "every 32nd file", ...
    # Set when the files are a sample standing for the whole corpus: wall and CPU time are
    # scaled per line to this many lines.
    extrapolate_to_lines: int | None = None
    samples: list[Sample] = field(default_factory=list)


@dataclass
class BenchmarkRun:
    """Everything one benchmark run recorded: its header facts and its benchmarks."""

    date: str
    quick: bool
    header: dict[str, Any]
    benchmarks: list[Benchmark]

    def get(self, key: str) -> Benchmark | None:
        return next((b for b in self.benchmarks if b.key == key), None)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> BenchmarkRun:
        data = json.loads(text)
        benchmarks = []
        for raw in data.pop("benchmarks"):
            samples = [Sample(**s) for s in raw.pop("samples")]
            benchmarks.append(Benchmark(**raw, samples=samples))
        return cls(**data, benchmarks=benchmarks)


@dataclass(frozen=True)
class Figures:
    """Medians over the samples, extrapolated to the whole corpus where the benchmark says so."""

    wall_s: float
    wall_min_s: float
    wall_max_s: float
    cpu_s: float
    lines_per_s: float  # of the files measured, by the median wall time
    peak_rss_mb: float  # as measured (never extrapolated)
    extrapolated: bool


def figures(benchmark: Benchmark) -> Figures | None:
    if not benchmark.samples:
        return None
    walls = [s.wall_s for s in benchmark.samples]
    scale = (benchmark.extrapolate_to_lines or benchmark.lines) / benchmark.lines
    median_wall = statistics.median(walls)
    return Figures(
        wall_s=median_wall * scale,
        wall_min_s=min(walls) * scale,
        wall_max_s=max(walls) * scale,
        cpu_s=statistics.median(s.cpu_s for s in benchmark.samples) * scale,
        lines_per_s=benchmark.lines / median_wall,
        peak_rss_mb=statistics.median(s.peak_rss_mb for s in benchmark.samples),
        extrapolated=benchmark.extrapolate_to_lines is not None,
    )


def ratio_to_reference(run: BenchmarkRun, benchmark: Benchmark, metric: str = "wall_s") -> float | None:
    """The benchmark's ``metric`` (a field of Figures: wall_s, cpu_s, peak_rss_mb) over the
    reference's."""
    mine, reference = figures(benchmark), _figures_of(run, REFERENCE)
    if not mine or not reference:
        return None
    return getattr(mine, metric) / getattr(reference, metric)


def overhead_percent(baseline: Figures, measured: Figures) -> tuple[float, float]:
    """How much ``measured`` adds to ``baseline``, in % of wall and of CPU time."""
    return (
        (measured.wall_s / baseline.wall_s - 1) * 100,
        (measured.cpu_s / baseline.cpu_s - 1) * 100,
    )


# --- formatting ---------------------------------------------------------------------------------


def seconds(value: float) -> str:
    """Three significant digits or so: 0.412, 2.81, 21.4, 175."""
    for limit, decimals in ((1, 3), (10, 2), (100, 1)):
        if value < limit:
            return f"{value:.{decimals}f}"
    return f"{value:,.0f}"


def count(value: float) -> str:
    return f"{value:,.0f}"


def times(value: float) -> str:
    for limit, decimals in ((10, 2), (100, 1)):
        if value < limit:
            return f"{value:.{decimals}f}"
    return f"{value:,.0f}"


def signed_percent(value: float) -> str:
    return f"{value:+.0f}%"


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    align = ["---"] * right_from + ["---:"] * (len(header) - right_from)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(run: BenchmarkRun) -> str:
    out = [f"# loopcheck benchmark, {run.date}", ""]
    if run.quick:
        out += [
            "**Quick smoke run** (`--quick`): a small corpus and one round. It shows that the "
            "benchmark works, not how fast anything is.",
            "",
        ]
    out += _header_lines(run.header) + [""]
    out += _main_table(run) + [""]
    out += _notes(run) + [""]
    scaling = _scaling_table(run)
    if scaling:
        out += ["## How loopcheck grows with the corpus", ""] + scaling + [""]
    single = _single_table(run)
    if single:
        out += ["## One file on its own, and the language server", ""] + single + [""]
    targets = _targets(run)
    if targets:
        out += ["## Against the targets of issues 12, 18 and 20", ""] + targets + [""]
    return "\n".join(out)


def _header_lines(header: dict[str, Any]) -> list[str]:
    machine = header["machine"]
    ram = f", {machine['ram_gib']} GiB RAM" if machine.get("ram_gib") else ""
    load = f"load average {machine['load_average']:.2f} at the start"
    if header.get("load_average_end") is not None:
        load += f", {header['load_average_end']:.2f} at the end"
    corpus = header["corpus"]
    settings = header["settings"]
    busiest = max(machine["load_average"], header.get("load_average_end") or 0)
    busy = []
    if machine["cores"] and busiest > machine["cores"]:
        busy = [
            f"- **The machine was busy with other work** (load average up to {busiest:.1f} on "
            f"{machine['cores']} cores): wall times are inflated for every tool; the CPU times "
            "and the ratios within one run are the steadier figures.",
        ]
    return busy + [
        f"- Machine: {machine['cpu']}, {machine['cores']} cores{ram}; {machine['system']}; {load}.",
        f"- Python {header['python']}; " + "; ".join(header["versions"]) + ".",
        f"- Corpus: {corpus['description']}, {count(corpus['files'])} files, "
        f"{count(corpus['lines'])} lines ({corpus['path']}).",
        f"- {settings['rounds']} alternating round{'s' * (settings['rounds'] != 1)}, the order "
        "rotated each round; every figure is the median of all samples (within a round, a "
        f"short run is repeated until it has {settings['max_repeats']} samples or "
        f"{settings['repeat_budget_s']:g} s).",
        f"- loopcheck and flake8 run with `--jobs {settings['jobs']}`; loopcheck with `-q` (findings "
        "only), `--no-cache` for the cold and scaling runs, `--cache-dir` for the cache rows.",
    ]


def _main_table(run: BenchmarkRun) -> list[str]:
    rows = []
    for benchmark in run.benchmarks:
        if benchmark.key in SCALING[:-1] or benchmark.key in SINGLE:
            continue  # shown in the scaling and single-file tables
        f = figures(benchmark)
        mark = " †" if benchmark.extrapolate_to_lines else ""
        if f is None:
            rows.append([benchmark.label, "not run"] + ["–"] * 9)
            continue
        ratios = [ratio_to_reference(run, benchmark, metric) for metric in ("wall_s", "cpu_s", "peak_rss_mb")]
        rows.append([
            benchmark.label,
            count(benchmark.files) + mark,
            count(benchmark.lines) + mark,
            seconds(f.wall_s),
            f"{seconds(f.wall_min_s)}–{seconds(f.wall_max_s)}",
            seconds(f.cpu_s),
            count(f.lines_per_s),
            f"{f.peak_rss_mb:.0f}",
            *("–" if ratio is None else times(ratio) for ratio in ratios),
        ])
    return _table(
        ["Run", "Files", "Lines", "Wall s", "Wall range", "CPU s", "Lines/s", "Peak MB", "× Ruff wall",
         "× Ruff CPU", "× Ruff MB"],
        rows,
    )


def _notes(run: BenchmarkRun) -> list[str]:
    notes = []
    sampled = [b for b in run.benchmarks if b.extrapolate_to_lines and b.samples]
    if sampled:
        b = sampled[0]
        notes.append(
            f"† Measured on {b.subset} of the sorted corpus ({count(b.files)} files, "
            f"{count(b.lines)} lines) and extrapolated per line to the whole corpus: wall, range "
            f"and CPU seconds × {b.extrapolate_to_lines / b.lines:.1f}. Lines/s and peak memory are "
            "as measured on the sample."
        )
    plugin = run.get(PLUGIN_RUN)
    before, after = _figures_of(run, PLUGIN_BASELINE), _figures_of(run, PLUGIN_RUN)
    if plugin and before and after:
        wall, cpu = overhead_percent(before, after)
        notes.append(
            f"The loopcheck flake8 plugin adds **{signed_percent(wall)} wall time "
            f"({signed_percent(cpu)} CPU time)** to flake8's default checks, on the same "
            f"{count(plugin.files)} files ({plugin.subset}). flake8 runs every installed plugin "
            "whatever `--select` says, so the two sides run in separate venvs (flake8 alone; "
            "flake8 with loopcheck), and the flake8-async row includes flake8's default checks."
        )
    notes.append(
        "Wall and CPU seconds are the tool's whole process, start-up included; CPU is user + "
        "system time of the tool and of the worker processes it waited for. Peak MB is the "
        "largest resident set of any single process of the tool (`ru_maxrss` from `wait4`): "
        "for tools with worker processes (loopcheck and flake8 with `--jobs`, Fixit) it is the "
        "biggest process, not the sum."
    )
    return [line for note in notes for line in (note, "")][:-1]


def _scaling_table(run: BenchmarkRun) -> list[str]:
    steps = [(label, run.get(key)) for label, key in zip(SCALING_LABELS, SCALING)]
    measured = [(label, b, figures(b)) for label, b in steps if b is not None and figures(b)]
    if len(measured) < 2:
        return []
    rows = []
    previous: tuple[Benchmark, Figures] | None = None
    for label, benchmark, f in measured:
        growth = "–"
        if previous is not None:
            added_lines = benchmark.lines - previous[0].lines
            growth = f"{(f.peak_rss_mb - previous[1].peak_rss_mb) / added_lines * 100_000:+.1f}"
        rows.append([
            label,
            count(benchmark.files),
            count(benchmark.lines),
            seconds(f.wall_s),
            seconds(f.cpu_s),
            count(f.lines_per_s),
            f"{f.peak_rss_mb:.0f}",
            growth,
        ])
        previous = (benchmark, f)
    subset = measured[0][1].subset
    return [
        f"loopcheck cold on nested samples of the sorted corpus (1/8 is {subset}; 1/4 and 1/2 "
        "every 4th and 2nd file; \"all\" is the cold run above). The last column is the peak "
        "memory each step adds per 100 k lines it adds.",
        "",
    ] + _table(
        ["Part", "Files", "Lines", "Wall s", "CPU s", "Lines/s", "Peak MB", "MB per 100 k more lines"],
        rows,
    )


def _single_table(run: BenchmarkRun) -> list[str]:
    """Ruff and loopcheck on one file each (the ratio is to Ruff on the same file), and the
    server's re-check."""
    rows = []
    for key in SINGLE:
        benchmark, f = run.get(key), _figures_of(run, key)
        if benchmark is None or f is None:
            continue
        ruff = _figures_of(run, key.replace("-loopcheck-", "-ruff-")) if "-loopcheck-" in key else None
        rows.append([
            benchmark.label,
            count(benchmark.lines),
            _ms(f.wall_s),
            f"{_ms(f.wall_min_s)}–{_ms(f.wall_max_s)}",
            _ms(f.cpu_s),
            f"{f.peak_rss_mb:.0f}",
            times(f.wall_s / ruff.wall_s) if ruff else "–",
        ])
    if not rows:
        return []
    return [
        "Each tool on one file, with no cache, as pre-commit runs it on a changed file: Ruff "
        "(`ruff check --isolated --no-cache --select ASYNC,RUF006 FILE`) and loopcheck (`loopcheck "
        "-q --no-cache FILE`, its default `--jobs`), in the same rounds. The file with no "
        "candidate construct is the first of the sorted corpus with at least 100 lines and none of "
        "the words of loop, primitive or client constructs (`async`, `await`, `loop`, `Lock`, "
        "`Client`, ...); the candidate is the first with at least 100 lines and `asyncio.` that "
        "loopcheck reports on when checking it alone with every rule (`--select LCK`: the corpus, "
        "libraries, has no finding of the default rules), and its row runs every rule. The server's row times, in-process, the "
        "check `loopcheck server` runs after an edit (`benchmarks/server_recheck.py`: the folder "
        "opened, the model built, then a comment line appended and the document checked, 10 "
        "times a round; the debounce pause and the JSON-RPC exchange not included) on the file "
        "with coroutines and `asyncio.` whose length is nearest 2,000 lines, and on the candidate "
        "followed by copies of itself up to 2,000 lines (the corpus's files of about 2,000 lines "
        "have no construct of any rule: their check ends at the candidate stage). An edit of comments "
        "and blank lines keeps the last findings, moved, without a check; the last row appends a "
        "statement at each edit instead, which is checked in full.",
        "",
    ] + _table(["Run", "Lines", "Wall ms", "Wall range ms", "CPU ms", "Peak MB", "× Ruff wall"], rows)


def _ms(value: float) -> str:
    return f"{value * 1000:,.0f}" if value >= 0.01 else f"{value * 1000:.1f}"


def _targets(run: BenchmarkRun) -> list[str]:
    """Each target of issues 12 and 18 with what this run measured ('–' where it cannot be
    measured)."""
    rows: list[list[str]] = []
    issue = "12"

    def target(text: str, value: Any, shown: Callable[[Any], str], met: Callable[[Any], bool]) -> None:
        if value is None:
            rows.append([issue, text, "–", "–"])
        else:
            rows.append([issue, text, shown(value), "✅ pass" if met(value) else "❌ fail"])

    def ratio(key: str) -> tuple[float, float] | None:
        benchmark = run.get(key)
        wall, cpu = (ratio_to_reference(run, benchmark, metric) if benchmark else None
                     for metric in ("wall_s", "cpu_s"))
        return (wall, cpu) if wall is not None and cpu is not None else None

    def as_times(value: tuple[float, float]) -> str:
        return f"{times(value[0])}× (CPU {times(value[1])}×)"

    # Judged on wall time, as the issue states them; CPU time, the steadier figure on a busy
    # machine, is shown next to it.
    target("cold run ≤ 5× Ruff's wall time", ratio("loopcheck-cold"), as_times, lambda r: r[0] <= 5)
    target("warm run ≤ Ruff's wall time", ratio("loopcheck-warm"), as_times, lambda r: r[0] <= 1)
    for key, name in (("flake8-async", "flake8-async"), ("fixit", "Fixit")):
        target(f"≥ 100× {name}'s lines per second (wall)", _per_line_speedup(run, key), as_times,
               lambda speedup: speedup[0] >= 100)
    before, after = _figures_of(run, PLUGIN_BASELINE), _figures_of(run, PLUGIN_RUN)
    target("flake8 plugin adds ≤ 10% (wall)", overhead_percent(before, after) if before and after else None,
           lambda percent: f"{signed_percent(percent[0])} (CPU {signed_percent(percent[1])})",
           lambda percent: percent[0] <= 10)
    cold = _figures_of(run, "loopcheck-cold")
    target("peak memory < 300 MB (whole corpus)", cold.peak_rss_mb if cold else None,
           lambda mb: f"{mb:.0f} MB", lambda mb: mb < 300)
    growth = _marginal_memory(run)
    if growth is not None:
        first, last = growth
        target("memory grows sublinearly (each added line costs less)", last,
               lambda _: f"{first:+.1f} → {last:+.1f} MB per 100 k lines (1/8→1/4, 1/2→all)",
               lambda _: last < first)
    # With the project model: what a run costs in each of the ways it is run.
    issue = "18"
    target("cold run ≤ 10× Ruff's wall time", ratio("loopcheck-cold"), as_times, lambda r: r[0] <= 10)
    target("warm run, nothing changed, ≤ Ruff's wall time", ratio("loopcheck-warm"), as_times, lambda r: r[0] <= 1)
    target("warm run, one file changed, ≤ 1.5× Ruff's wall time", ratio("loopcheck-one"), as_times,
           lambda r: r[0] <= 1.5)
    target("peak memory < 300 MB (whole corpus)", cold.peak_rss_mb if cold else None,
           lambda mb: f"{mb:.0f} MB", lambda mb: mb < 300)
    # One file, as pre-commit and editors run it: median wall times.
    issue = "20"
    for key, text, limit in (
        ("single-loopcheck-plain", "one file with no candidate construct < 150 ms (no cache)", 0.150),
        ("single-loopcheck-candidate", "one file with a candidate < 350 ms (no cache)", 0.350),
        ("server-recheck", "language server re-checks a 2,000-line file < 100 ms after an edit", 0.100),
        ("server-recheck-grown", "the same, a 2,000-line file with findings (the candidate grown)", 0.100),
        ("server-recheck-grown-code", "the same, each edit a statement added (checked in full)", 0.100),
    ):
        f = _figures_of(run, key)
        target(text, f, lambda f: f"{_ms(f.wall_s)} ms (CPU {_ms(f.cpu_s)} ms)",
               lambda f, limit=limit: f.wall_s < limit)
    return _table(["Issue", "Target", "Measured", "Result"], rows, right_from=4)


def _figures_of(run: BenchmarkRun, key: str) -> Figures | None:
    benchmark = run.get(key)
    return figures(benchmark) if benchmark else None


def _per_line_speedup(run: BenchmarkRun, peer_key: str) -> tuple[float, float] | None:
    """How many times the peer's wall and CPU seconds per line loopcheck's cold run's are."""
    mine, peer = _figures_of(run, "loopcheck-cold"), _figures_of(run, peer_key)
    if not mine or not peer:
        return None
    # Both are whole-corpus figures (the peer's extrapolated per line), so the ratio of the
    # times is the ratio of the lines per second.
    return peer.wall_s / mine.wall_s, peer.cpu_s / mine.cpu_s


def _marginal_memory(run: BenchmarkRun) -> tuple[float, float] | None:
    """MB per 100 k added lines over the first (1/8→1/4) and the last (1/2→all) doubling."""
    steps = [run.get(key) for key in SCALING]
    peaks = [_figures_of(run, key) for key in SCALING]
    if any(b is None for b in steps) or any(f is None for f in peaks):
        return None
    lines = [b.lines for b in steps]  # type: ignore[union-attr]
    mb = [f.peak_rss_mb for f in peaks]  # type: ignore[union-attr]
    return (
        (mb[1] - mb[0]) / (lines[1] - lines[0]) * 100_000,
        (mb[3] - mb[2]) / (lines[3] - lines[2]) * 100_000,
    )
