"""``--show-settings``: the settings a run would check with, printed instead of checking (as
Ruff's option of the same name)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from loopcheck.engine.registry import RuleInfo, rule_index
from loopcheck.run.adoption import baseline_path
from loopcheck.settings.config import TARGET_VERSIONS, Settings, fix_target

TARGET_NAMES = {version: name for name, version in TARGET_VERSIONS.items()}


def _listed(values: Iterable[str]) -> str:
    values = list(values)
    return ", ".join(values) if values else "(none)"


def settings_lines(
    names: list[str], settings: Settings, enabled: list[RuleInfo], cache_dir: str | None
) -> list[str]:
    """``key: value`` lines: the configuration file used and what it resolves to, the rules
    enabled after select, extend-select, ignore and the tiers, and where the run keeps things."""
    start = Path(os.path.abspath(names[0] if names[0] != "-" else "."))
    target = fix_target(start, settings.target_version)
    on = {rule.code for rule in enabled}
    opt_in = [f"{code} ({'on' if code in on else 'off'})" for code, rule in rule_index().items() if rule.opt_in]
    return [
        f"Resolved settings for: {_listed(names)}",
        f"config file: {settings.source or '(none: the defaults)'}",
        f"root: {settings.root}",
        f"enabled rules: {_listed(rule.code for rule in enabled)}",
        f"opt-in rules: {_listed(opt_in)}",
        f"select: {_listed(settings.select) if settings.select is not None else '(default tier)'}",
        f"extend-select: {_listed(settings.extend_select)}",
        f"ignore: {_listed(settings.ignore)}",
        f"per-file-ignores: {_listed(f'{pattern} = {_listed(codes)}' for pattern, codes in settings.per_file_ignores)}",
        f"exclude: {_listed(settings.exclude)}",
        f"extend-exclude: {_listed(settings.extend_exclude)}",
        f"respect-gitignore: {'true' if settings.respect_gitignore else 'false'}",
        f"target-version: {TARGET_NAMES[target]} (for {start}: the nearest target-version, requires-python"
        " or python_requires, else the configured or the oldest one)",
        f"extra-clients: {_listed(settings.extra_clients)}",
        f"max-file-size: {settings.max_file_size or '(no limit)'}",
        f"baseline: {baseline_path(settings)}",
        f"cache dir: {cache_dir or '(none: --no-cache)'}",
    ]
