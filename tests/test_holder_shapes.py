"""The candidate stage and the holder analysis read the shapes of a kept value (function caches,
container stores) from one place, data/holders.toml: for each shape listed there, a file the
analysis reports on is one the stage keeps, and the analysis names the same holder."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis, Held
from loopcheck.data.catalogue import Catalogue, holder_shapes
from loopcheck.engine.engine import Linter
from loopcheck.rules import all_rules

SHAPES = holder_shapes()


def holder_of_the_lock(source: str):
    analysis = FileAnalysis(MetadataWrapper(cst.parse_module(source)), Catalogue.load())
    [(call, _)] = analysis.primitive_creations
    return analysis.holders.of(call)


def codes_with_and_without_the_stage(source: str) -> tuple[list[str], list[str]]:
    rules = list(all_rules().values())
    on = Linter(rules).lint_source(source, "x.py")
    off = Linter(rules, candidate_stage=False).lint_source(source, "x.py")
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


@pytest.mark.parametrize("decorator", sorted(SHAPES.function_caches))
def test_each_function_cache_is_a_holder_to_both_stages(decorator):
    source = cached_method(decorator)
    assert holder_of_the_lock(source).kind is Held.FUNCTION_CACHE
    assert codes_with_and_without_the_stage(source) == (["LCK104"], ["LCK104"])


@pytest.mark.parametrize("method", sorted(SHAPES.container_stores))
def test_each_container_store_is_a_holder_to_both_stages(method):
    source = stored_in_registry(method)
    assert holder_of_the_lock(source).kind is Held.MODULE_CONTAINER
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


@pytest.mark.parametrize("decorator", sorted(SHAPES.class_methods))
def test_each_class_method_decorator_makes_cls_the_class_for_both_stages(decorator):
    source = (
        "import asyncio\nimport builtins\n\n"
        f"class Pool:\n    @{decorator}\n    def make(cls):\n        cls._lock = asyncio.Lock()\n"
    )
    assert holder_of_the_lock(source).kind is Held.CLASS_ATTRIBUTE
    assert codes_with_and_without_the_stage(source) == (["LCK104"], ["LCK104"])


@pytest.mark.parametrize("method", sorted(SHAPES.class_taking_methods))
def test_each_method_that_takes_the_class_is_class_code_for_both_stages(method):
    source = (
        "import asyncio\n\n"
        f"class Pool:\n    def {method}(cls, *args):\n        cls._lock = asyncio.Lock()\n"
    )
    assert holder_of_the_lock(source).kind is Held.CLASS_ATTRIBUTE
    assert codes_with_and_without_the_stage(source) == (["LCK104"], ["LCK104"])
