"""The candidate stage and the holder analysis read the shapes of a kept value (function caches,
container stores, class methods) from one place, data/holders.toml: for each shape listed there,
a file the analysis reports on is one the stage keeps, and the analysis names the same holder."""

from __future__ import annotations

import ast

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis, Held
from loopcheck.analysis.holders import classify
from loopcheck.data.catalogue import Catalogue, holder_shapes
from loopcheck.engine.engine import Linter
from loopcheck.prefilter import candidates
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



def kept_through(expression: str) -> str:
    return (
        "import asyncio\nimport contextlib\n_lock = None\n\n"
        f"async def lock(flag):\n    global _lock\n    _lock = {expression}\n    return _lock\n"
    )


PASSED_THROUGH = {
    "boolean-operation": "_lock or asyncio.Lock()",
    "conditional": "asyncio.Lock() if flag else None",
    "await": "await asyncio.Lock()",
}


@pytest.mark.parametrize("name", SHAPES.pass_through_expressions)
def test_each_pass_through_expression_hands_the_value_to_its_holder_in_both_stages(name):
    source = kept_through(PASSED_THROUGH[name])
    assert holder_of_the_lock(source).kind is Held.MODULE_GLOBAL
    assert codes_with_and_without_the_stage(source) == (["LCK104"], ["LCK104"])


def test_each_stage_knows_the_nodes_of_every_pass_through_expression():
    assert set(candidates.NODES_OF_PASS_THROUGH) == set(classify.NODES_OF_PASS_THROUGH) == set(
        SHAPES.pass_through_expressions
    ) == set(PASSED_THROUGH)


@pytest.mark.parametrize("call", sorted(SHAPES.pass_through_calls))
def test_each_pass_through_call_hands_its_argument_to_the_holder(call):
    module, _, name = call.rpartition(".")
    source = kept_through(f"{module}.{name}(asyncio.Lock())")
    assert holder_of_the_lock(source).kind is Held.MODULE_GLOBAL
    assert codes_with_and_without_the_stage(source) == (["LCK104"], ["LCK104"])


def found_lock(source: str) -> candidates.FoundCall:
    stage = candidates.Candidates(all_rules().values(), Catalogue.load())
    [call] = [c for c in stage.shape_of(ast.parse(source)).calls if c.name == "asyncio.Lock"]
    return call


@pytest.mark.parametrize("decorator", sorted(SHAPES.static_methods))
def test_the_first_parameter_of_a_static_method_is_no_instance_to_the_stage(decorator):
    method = "class Pool:\n    {}def make(self):\n        self._lock = asyncio.Lock()\n"
    plain = found_lock("import asyncio\n" + method.format(""))
    static = found_lock("import asyncio\nimport builtins\n" + method.format(f"@{decorator}\n    "))
    assert (plain.kept, plain.on_self) == (False, True)
    assert (static.kept, static.on_self) == (True, False)


@pytest.mark.parametrize("call", sorted(Catalogue.load().loop_api.threadsafe))
def test_each_threadsafe_call_hands_work_to_a_captured_loop_in_both_stages(call):
    module, _, name = call.rpartition(".")
    source = (
        f"import asyncio\nimport {module}\nmain_loop = asyncio.get_event_loop()\n\n"
        f"def on_message(m):\n    {module}.{name}(handle(m), main_loop)\n"
    )
    assert codes_with_and_without_the_stage(source) == (["LCK403"], ["LCK403"])


@pytest.mark.parametrize("decorator", sorted(SHAPES.static_methods))
def test_a_static_method_of_a_shared_instance_keeps_nothing_on_it_for_either_stage(decorator):
    source = (
        "import asyncio\nimport builtins\n\n\nclass Pool:\n"
        f"    @{decorator}\n    def make(self):\n        self._lock = asyncio.Lock()\n\n\n"
        "pool = Pool()\n"
    )
    assert codes_with_and_without_the_stage(source) == ([], [])
    plain = source.replace(f"    @{decorator}\n", "")
    assert codes_with_and_without_the_stage(plain) == (["LCK105"], ["LCK105"])
