"""The benchmark's own virtual environments, the tools' versions and the machine."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import BenchmarkError

HERE = Path(__file__).resolve().parent
PEERS_REQUIREMENTS = HERE / "requirements-peers.txt"
FLAKE8_REQUIREMENTS = HERE / "requirements-flake8.txt"

# Variables that would change what the tools do or how fast they start (a PYTHONPATH, byte code
# not written, a tool's own configuration or cache location): none reaches a measured run.
_SCRUBBED_PREFIXES = ("PYTHON", "RUFF_", "FLAKE8", "FIXIT", "LOOPCHECK_", "VIRTUAL_ENV")


@dataclass(frozen=True)
class Venv:
    path: Path

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    @property
    def python(self) -> Path:
        return self.bin("python")


def tool_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}


def _run(argv: list[str | Path], what: str, cwd: Path | None = None) -> str:
    completed = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, env=tool_environment()
    )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).rstrip().splitlines()
        raise BenchmarkError(f"{what} failed (exit status {completed.returncode}):\n" + "\n".join(
            "  | " + line for line in output[-20:]
        ))
    return completed.stdout


def _stamp(python: str, requirement_files: list[Path]) -> str:
    # The interpreter by what it is (its version and real executable), not by the path it was
    # named by: a venv's python, a shim and the real binary are the same interpreter.
    identity = _run([python, "-c", "import os, sys; print(sys.version, os.path.realpath(sys._base_executable))"],
                    f"starting {python}")
    digest = hashlib.sha256(identity.encode())
    for path in requirement_files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv(path: Path, python: str, requirements: list[str], requirement_files: list[Path]) -> Venv:
    """Creates the venv with ``pip install <requirements>``, or keeps it when it was made by
    the same interpreter from the same requirement files (a stamp file records both)."""
    venv = Venv(path)
    stamp_file = path / "benchmark-stamp"
    stamp = _stamp(python, requirement_files)
    if venv.python.exists() and stamp_file.is_file() and stamp_file.read_text() == stamp:
        return venv
    print(f"creating {path} ...", file=sys.stderr, flush=True)
    shutil.rmtree(path, ignore_errors=True)
    _run([python, "-m", "venv", path], f"creating the virtual environment {path}")
    _run([venv.python, "-m", "pip", "install", "-q", *requirements], f"installing into {path}")
    stamp_file.write_text(stamp)
    return venv


def install_loopcheck(venv: Venv, repo_root: Path) -> None:
    """Installs the working tree's loopcheck as a wheel (not editable): the installed copy is
    what users get, and it stays fixed for the whole run even if the tree is edited meanwhile.
    Rebuilt on every benchmark run, so it always measures the current tree."""
    with tempfile.TemporaryDirectory(prefix="loopcheck-wheel-") as wheel_dir:
        _run(
            [venv.python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheel_dir, repo_root],
            "building the loopcheck wheel",
        )
        wheels = list(Path(wheel_dir).glob("loopcheck-*.whl"))
        if len(wheels) != 1:
            raise BenchmarkError(f"building loopcheck gave {len(wheels)} wheels, expected one")
        pip = [venv.python, "-m", "pip", "install", "-q", "-c", FLAKE8_REQUIREMENTS]
        # The same version number is already installed from the previous run: force the
        # package itself, then let pip add any dependency the tree now declares.
        _run([*pip, "--force-reinstall", "--no-deps", wheels[0]], "installing loopcheck")
        # With the lsp extra: the server's re-check is measured too.
        _run([*pip, f"{wheels[0]}[lsp]"], "installing loopcheck's dependencies")


def package_versions(venv: Venv, names: list[str]) -> dict[str, str]:
    """Installed distribution versions in ``venv`` (``missing`` where not installed)."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return 'missing'\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    return json.loads(_run([venv.python, "-c", script, *names], f"reading versions in {venv.path}"))


def python_version(venv: Venv) -> str:
    return _run([venv.python, "-c", "import platform; print(platform.python_version())"],
                "reading the Python version").strip()


def flake8_plugins(venv: Venv) -> list[str]:
    """The plugin names ``flake8 --version`` lists, e.g. ['mccabe', 'pycodestyle', 'pyflakes']."""
    text = " ".join(_run([venv.bin("flake8"), "--version"], "flake8 --version").split())
    listed = re.search(r"\((.*?)\)", text)
    return sorted(item.split(":")[0].strip() for item in listed.group(1).split(",")) if listed else []


def require_flake8_plugins(venv: Venv, expected: set[str], unwanted: set[str]) -> None:
    """flake8 runs every installed plugin whatever --select says, so each side of a comparison
    needs a venv with exactly the plugins it is about."""
    plugins = set(flake8_plugins(venv))
    if not expected <= plugins or plugins & unwanted:
        raise BenchmarkError(
            f"flake8 in {venv.path} has the plugins {sorted(plugins)}; expected {sorted(expected)} "
            f"and none of {sorted(unwanted)}. Delete {venv.path} to have it rebuilt."
        )


def git_revision(repo_root: Path) -> str:
    """The commit measured, marked when loopcheck's code differs from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo_root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(repo_root), "status", "--porcelain", "--", "loopcheck", "pyproject.toml"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} + uncommitted changes" if changes else commit


def machine() -> dict[str, object]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "system": platform.platform(),
        "load_average": os.getloadavg()[0],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None

