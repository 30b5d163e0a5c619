"""The Celery worker pool a module's code configures, read from its ``ast`` (never run).

Celery takes the pool from the ``worker_pool`` setting: a configuration module's
``worker_pool = "threads"`` (loaded with ``app.config_from_object``), Django settings'
``CELERY_WORKER_POOL`` (with the usual ``namespace="CELERY"``), ``app.conf.worker_pool = ...``
or ``app.conf.update(worker_pool=...)``. Only statements that run at import are read (not those
in a function or class body), and only string constants: the last one in the module wins, as it
would at import. The worker's ``--pool`` option, which overrides them, is not in the code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

# Module-level names that configure the pool (a configuration module's, Django settings').
POOL_NAMES = frozenset({"worker_pool", "CELERY_WORKER_POOL"})
# The setting's name on an application's ``conf`` (``app.conf.worker_pool``, ``update(...)``).
POOL_SETTING = "worker_pool"
CONF = "conf"


def stated_pool(tree: ast.Module) -> str | None:
    """The pool the module's import-time code sets last, if it sets one to a string."""
    stated = None
    for statement in _import_time(tree.body):
        for pool in _pools_set(statement):
            stated = pool
    return stated


def _import_time(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """``statements`` and those nested in their blocks (if, try, with, loops), not in a function
    or class body."""
    for statement in statements:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for block in ("body", "orelse", "finalbody"):
            yield from _import_time(getattr(statement, block, []))
        for handler in getattr(statement, "handlers", []):
            yield from _import_time(handler.body)


def _pools_set(statement: ast.stmt) -> Iterator[str]:
    if isinstance(statement, (ast.Assign, ast.AnnAssign)) and _string(statement.value) is not None:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if any(_names_the_pool(target) for target in targets):
            yield _string(statement.value)  # type: ignore[misc]
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Attribute) and call.func.attr == "update" and _is_conf(call.func.value):
            for keyword in call.keywords:
                pool = _string(keyword.value)
                if keyword.arg == POOL_SETTING and pool is not None:
                    yield pool


def _names_the_pool(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return target.id in POOL_NAMES
    return isinstance(target, ast.Attribute) and target.attr == POOL_SETTING and _is_conf(target.value)


def _is_conf(node: ast.expr) -> bool:
    """``something.conf``: an application's configuration."""
    return isinstance(node, ast.Attribute) and node.attr == CONF


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
