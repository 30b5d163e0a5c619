"""Third-party packages the fixtures import (the async clients and what runs them), installed once
per interpreter of the version matrix into a cached directory that the runtime harness puts on
PYTHONPATH. Each interpreter installs with its own pip, so compiled wheels match it.

The cache lives in ~/.cache/loopcheck-test-deps/<version>-<hash of the requirements>; a directory
is complete only once it holds `.complete`, so an interrupted install is redone."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

# Lower bounds only. What the fixtures use: clients, and Celery for its worker signals.
REQUIREMENTS = (
    "httpx>=0.23",
    "redis>=5.0",
    "aiohttp>=3.9",
    "celery>=5.3",
    "nest_asyncio>=1.5",
)
CACHE = Path(os.environ.get("LOOPCHECK_TEST_DEPS", Path.home() / ".cache" / "loopcheck-test-deps"))


def deps_dir(python: str, version: str, requirements: tuple[str, ...] = REQUIREMENTS) -> Path:
    """The directory holding ``requirements`` for ``python`` (installing them on first use)."""
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    target = CACHE / f"{version}-{key}"
    if (target / ".complete").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{version}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time per directory
        if (target / ".complete").exists():
            return target
        partial = CACHE / f"{version}-{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", str(partial), *requirements],
            check=True,
            timeout=900,
        )
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        (target / ".complete").touch()
    return target
