"""The project roots: each layout a Python import starts from, one temporary project each."""

from __future__ import annotations

import pytest

from loopcheck.project.roots import find_roots, module_name
from tests.helpers import write


def test_a_file_in_regular_packages_is_named_from_the_top_package(tmp_path):
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "services" / "__init__.py", "")
    module = write(tmp_path / "app" / "services" / "redis.py", "")
    assert module_name(module) == ("app.services.redis", False)
    assert module_name(tmp_path / "app" / "services" / "__init__.py") == ("app.services", True)
    assert tmp_path in find_roots([str(module)]).roots


def test_a_lone_script_is_the_module_of_its_stem_with_its_directory_a_root(tmp_path):
    script = write(tmp_path / "tools" / "worker.py", "")
    assert module_name(script) == ("worker", False)
    found = find_roots([str(script)])
    assert found.roots == {tmp_path / "tools"} and found.beside == {tmp_path / "tools"}


def test_files_that_are_not_python_modules_have_no_name(tmp_path):
    assert module_name(write(tmp_path / "stubs.pyi", "")) is None
    assert module_name(write(tmp_path / "notes.txt", "")) is None


def test_a_src_layout_is_a_root_and_its_folders_are_namespace_packages(tmp_path):
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path / "src" / "pkg" / "__init__.py", "")
    module = write(tmp_path / "src" / "pkg" / "a.py", "")
    portion = write(tmp_path / "src" / "ns" / "plugin" / "__init__.py", "")
    assert module_name(module) == ("pkg.a", False)
    assert module_name(portion) == ("ns.plugin", True)
    assert module_name(tmp_path / "src" / "ns" / "plugin" / "hooks.py") == ("ns.plugin.hooks", False)
    assert tmp_path / "src" in find_roots([str(module)]).roots


@pytest.mark.parametrize(
    ("configuration", "file", "expected"),
    [
        ('[tool.setuptools]\npackage-dir = {"" = "lib"}\n', "lib/ns/mod.py", "ns.mod"),
        ('[tool.setuptools.packages.find]\nwhere = ["sources"]\n', "sources/ns/mod.py", "ns.mod"),
        ('[tool.poetry]\npackages = [{include = "ns/mod.py", from = "code"}]\n', "code/ns/mod.py", "ns.mod"),
        ('[tool.hatch.build.targets.wheel]\npackages = ["pkgs/ns"]\n', "pkgs/ns/mod.py", "ns.mod"),
    ],
    ids=["setuptools-package-dir", "setuptools-find-where", "poetry-from", "hatch-packages"],
)
def test_a_root_the_pyproject_declares(tmp_path, configuration, file, expected):
    write(tmp_path / "pyproject.toml", configuration)
    module = write(tmp_path / file, "")
    assert module_name(module) == (expected, False)
    # Without the declaration the folder is a plain folder of scripts.
    (tmp_path / "pyproject.toml").unlink()
    assert module_name(module) == ("mod", False)


def test_a_package_directory_of_another_name(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.setuptools]\npackage-dir = {"fastclient" = "impl/client_src"}\n')
    write(tmp_path / "impl" / "client_src" / "__init__.py", "")
    write(tmp_path / "impl" / "client_src" / "pool" / "__init__.py", "")
    module = write(tmp_path / "impl" / "client_src" / "pool" / "conn.py", "")
    assert module_name(module) == ("fastclient.pool.conn", False)
    assert module_name(tmp_path / "impl" / "client_src" / "__init__.py") == ("fastclient", True)


def test_setup_cfg_package_dir(tmp_path):
    write(tmp_path / "setup.cfg", "[metadata]\nname = x\n\n[options]\npackage_dir =\n    =lib\n")
    module = write(tmp_path / "lib" / "ns" / "mod.py", "")
    assert module_name(module) == ("ns.mod", False)


@pytest.mark.parametrize(
    "broken", ["[tool.setuptools\n", "x = \n", b"\xff\xfe[tool]\n"], ids=["toml", "value", "bytes"]
)
def test_a_broken_pyproject_declares_nothing_and_raises_nothing(tmp_path, broken):
    write(tmp_path / "pyproject.toml", broken)
    write(tmp_path / "pkg" / "__init__.py", "")
    module = write(tmp_path / "pkg" / "a.py", "")
    assert module_name(module) == ("pkg.a", False)
    assert find_roots([str(module)]).declared == set()


def test_a_folder_is_a_namespace_package_when_a_project_module_imports_it_by_name(tmp_path):
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    module = write(tmp_path / "jobs" / "nightly.py", "")
    found = find_roots([str(module)])
    assert found.module_name(module) == ("nightly", False)  # a folder of scripts
    found.use_imports({"jobs"})
    assert found.module_name(module) == ("jobs.nightly", False)
    # Never above the project's own directory.
    assert tmp_path in found.listed
    found.use_imports({"jobs", tmp_path.name})
    assert found.module_name(module) == ("jobs.nightly", False)


def test_the_project_directory_is_listed_and_without_one_the_top_package(tmp_path):
    write(tmp_path / "proj" / "pyproject.toml", "")
    inside = write(tmp_path / "proj" / "app" / "sub" / "__init__.py", "")
    write(tmp_path / "proj" / "app" / "__init__.py", "")
    assert find_roots([str(inside)]).listed == {tmp_path / "proj"}
    write(tmp_path / "loose" / "lib" / "__init__.py", "")
    module = write(tmp_path / "loose" / "lib" / "m.py", "")
    assert find_roots([str(module)]).listed == {tmp_path / "loose" / "lib"}


def test_a_folder_without_init_inside_a_package_is_a_namespace_package_of_it(tmp_path):
    # Shaped like an application with no project file: ``application/agents/tools`` has no
    # ``__init__.py`` and ``application.agents.tools.mcp_tool`` is imported by name.
    write(tmp_path / "application" / "__init__.py", "")
    write(tmp_path / "application" / "agents" / "__init__.py", "")
    tool = write(tmp_path / "application" / "agents" / "tools" / "mcp_tool.py", "")
    worker = write(tmp_path / "application" / "worker.py", "")
    found = find_roots([str(tool), str(worker)])
    assert found.project_of_file(tool) == found.project_of_file(worker) == tmp_path / "application"
    assert found.module_name(tool) == ("mcp_tool", False)  # nothing imports it yet
    found.use_imports({"application.agents.tools.mcp_tool"})
    assert found.module_name(tool) == ("application.agents.tools.mcp_tool", False)
    # Two folders deep, each imported by its dotted name.
    deep = write(tmp_path / "application" / "prompts" / "fragments" / "answer.py", "")
    found = find_roots([str(deep)])
    assert found.project_of_file(deep) == tmp_path / "application"
    found.use_imports({"application.prompts.fragments.answer"})
    assert found.module_name(deep) == ("application.prompts.fragments.answer", False)


def test_a_module_never_takes_the_name_of_a_library_it_imports(tmp_path):
    # Shaped like a project with a pyproject.toml: ``frigate/ptz`` has no ``__init__.py`` and
    # ``ptz/onvif.py`` imports the library ``onvif``.
    write(tmp_path / "pyproject.toml", "[tool.ruff]\n")
    write(tmp_path / "frigate" / "__init__.py", "")
    module = write(tmp_path / "frigate" / "ptz" / "onvif.py", "from onvif import ONVIFCamera\n")
    found = find_roots([str(module)])
    found.use_imports({"onvif"})
    assert found.module_name(module) == ("onvif", False)  # as the folder of scripts it could be
    assert found.module_name(module, {"onvif"}) == ("frigate.ptz.onvif", False)
    found.use_imports({"onvif", "frigate.ptz.autotrack"})
    assert found.module_name(module) == ("frigate.ptz.onvif", False)
