"""The candidate stage and the holder analysis read the shapes of a kept value (function caches,
container stores, class methods) from one place, data/holders.toml: for each shape listed there,
a file the analysis reports on is one the stage keeps, and the analysis names the same holder."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis, Held
from loopcheck.data.catalogue import Catalogue, holder_shapes
from loopcheck.engine.engine import Linter
from loopcheck.rules import all_rules
from tests.helpers import check_text

SHAPES = holder_shapes()


def holder_of_the_lock(source: str):
    analysis = FileAnalysis(MetadataWrapper(cst.parse_module(source)), Catalogue.load())
    [(call, _)] = analysis.primitive_creations
    return analysis.holders.of(call)


def codes_with_and_without_the_stage(source: str) -> tuple[list[str], list[str]]:
    rules = list(all_rules().values())
    on = check_text(Linter(rules), source, "x.py")
    off = check_text(Linter(rules, candidate_stage=False), source, "x.py")
    return [d.code for d in on], [d.code for d in off]


def cached_method(decorator: str) -> str:
    module, _, name = decorator.rpartition(".")
    return (
        f"import asyncio\nfrom {module} import {name}\n\n"
        f"class Pool:\n    @{name}\n    def lock(self):\n        return asyncio.Lock()\n"
    )


def stored_in_registry(method: str, key: str = "key") -> str:
    return (
        f"import asyncio\n_locks = {{}}\n\n"
        f"def lock_for(key):\n    return _locks.{method}({key}, asyncio.Lock())\n"
    )


def set_on_cls(method: str) -> str:
    return f"import asyncio\nimport builtins\n\nclass Pool:\n    {method}:\n        cls._lock = asyncio.Lock()\n"


def listed_shapes():
    """For each entry of data/holders.toml, a file that keeps a lock that way."""
    for decorator in sorted(SHAPES.function_caches):
        yield pytest.param(cached_method(decorator), Held.FUNCTION_CACHE, id=decorator)
    for method in sorted(SHAPES.container_stores):
        yield pytest.param(stored_in_registry(method), Held.MODULE_CONTAINER, id=method)
    for decorator in sorted(SHAPES.class_methods):
        yield pytest.param(set_on_cls(f"@{decorator}\n    def make(cls)"), Held.CLASS_ATTRIBUTE, id=decorator)
    for method in sorted(SHAPES.class_taking_methods):
        yield pytest.param(set_on_cls(f"def {method}(cls, *args)"), Held.CLASS_ATTRIBUTE, id=method)


@pytest.mark.parametrize("source, kind", list(listed_shapes()))
def test_each_listed_shape_is_a_holder_to_both_stages(source, kind):
    assert holder_of_the_lock(source).kind is kind
    assert codes_with_and_without_the_stage(source) == (["LCK104"], ["LCK104"])


def test_the_keyed_store_keyed_by_the_running_loop_keeps_one_object_per_loop():
    source = stored_in_registry(SHAPES.keyed_store, key="asyncio.get_running_loop()")
    holder = holder_of_the_lock(source)
    assert holder.kind is Held.MODULE_CONTAINER and holder.per_loop
    assert codes_with_and_without_the_stage(source) == ([], [])


def test_an_unlisted_decorator_keeps_nothing_for_either_stage():
    source = cached_method("contextlib.contextmanager")
    assert holder_of_the_lock(source).kind is Held.ESCAPES
    assert codes_with_and_without_the_stage(source) == ([], [])

