"""Jupyter notebooks: checked as their joined code cells, findings named by cell and line, fixes
written back into the cells with everything else in the file as it was."""

from __future__ import annotations

import json

import jsonschema
import pytest

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.files import SourceError
from loopcheck.notebooks import PLACEHOLDER, CellMap, Notebook, _placeholders
from loopcheck.reporters.text import source_excerpt
from loopcheck.run.sources import decode
from tests.helpers import invoke, write
from tests.test_output_formats import sarif_schema

OUTPUT = {"name": "stdout", "output_type": "stream", "text": ["r\u00e9sultat 1\n"]}


def code(source: list[str] | str, outputs: list | None = None, count: int | None = 1) -> dict:
    return {"cell_type": "code", "execution_count": count, "metadata": {}, "outputs": outputs or [], "source": source}


def notebook(*cells: dict, indent: int = 1) -> str:
    document = {
        "cells": list(cells),
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"


MARKDOWN = {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "Some text"]}
LOCKED = notebook(
    MARKDOWN,
    code(["import asyncio"]),
    code(["x = 1\n", "_lock = asyncio.Lock()"], outputs=[OUTPUT], count=7),
    code(["async def work():\n", "    async with _lock:\n", "        await asyncio.sleep(0)\n", "\n", "await work()"]),
)


def test_a_module_level_lock_is_reported_by_cell_and_line(tmp_path):
    write(tmp_path / "n.ipynb", LOCKED)
    result = invoke("n.ipynb", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith("n.ipynb:cell 3:2:9: LCK101 asyncio.Lock created at module level")  # an unsafe fix: no [*]


def test_json_output_puts_the_cell_in_each_location(tmp_path):
    write(tmp_path / "n.ipynb", LOCKED)
    result = invoke("--output-format", "json", "--unsafe-fixes", "n.ipynb", cwd=tmp_path)
    (finding,) = json.loads(result.output)
    assert finding["location"] == {"cell": 3, "row": 2, "column": 9}
    assert finding["end_location"] == {"cell": 3, "row": 2, "column": 23}
    edits = finding["fix"]["edits"]
    assert {edit["location"].get("cell") for edit in edits} <= {3, 4}
    assert all("cell" in edit["location"] and "cell" in edit["end_location"] for edit in edits)


def test_a_directory_walk_finds_notebooks(tmp_path):
    write(tmp_path / "nb" / "n.ipynb", LOCKED)
    result = invoke(".", cwd=tmp_path)
    assert "n.ipynb:cell 3:2:9: LCK101" in result.output


def test_fix_writes_valid_json_with_outputs_and_layout_untouched(tmp_path):
    target = write(tmp_path / "n.ipynb", LOCKED)
    result = invoke("--fix", "--unsafe-fixes", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    with open(target, encoding="utf-8") as handle:
        fixed = json.load(handle)
    before = json.loads(LOCKED)
    for old, new in zip(before["cells"], fixed["cells"], strict=True):
        assert {k: v for k, v in old.items() if k != "source"} == {k: v for k, v in new.items() if k != "source"}
    text = target.read_text(encoding="utf-8")
    # Outputs byte for byte (the non-ASCII text unescaped, as Jupyter writes it), one space of
    # indentation, the trailing newline.
    start = LOCKED.index('"execution_count": 7')
    outputs = LOCKED[start : LOCKED.index('"source"', start)]
    assert "r\u00e9sultat" in outputs and outputs in text
    assert text.endswith("}\n") and text.startswith('{\n "cells": [\n  {\n')
    assert fixed["cells"][2]["source"][0] == "x = 1\n"
    assert "_get_lock" in "".join(fixed["cells"][3]["source"])
    assert not "".join(fixed["cells"][2]["source"]).endswith("\n")  # as it was read
    assert invoke("n.ipynb", cwd=tmp_path).exit_code == 0


def test_an_import_a_fix_adds_goes_into_the_first_code_cell(tmp_path):
    target = write(
        tmp_path / "n.ipynb",
        notebook(
            MARKDOWN,
            code("%load_ext autoreload\nfrom asyncio import Lock, sleep"),
            code("_lock = Lock()"),
            code("async def work():\n    async with _lock:\n        await sleep(0)\nawait work()"),
            indent=2,
        ),
    )
    result = invoke("--fix", "--unsafe-fixes", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    cells = json.loads(target.read_text(encoding="utf-8"))["cells"]
    assert cells[1]["source"] == "%load_ext autoreload\nimport asyncio\nfrom asyncio import Lock, sleep"
    assert "import" not in cells[2]["source"]
    assert target.read_text(encoding="utf-8").startswith('{\n  "cells"')  # its own indentation


def test_diff_shows_the_notebook_change_and_writes_nothing(tmp_path):
    target = write(tmp_path / "n.ipynb", LOCKED)
    result = invoke("--diff", "--unsafe-fixes", "n.ipynb", cwd=tmp_path)
    assert '+    "    async with _get_lock():\\n",' in result.output
    assert target.read_text(encoding="utf-8") == LOCKED


MAGICS = notebook(
    code(["%matplotlib inline\n", "import asyncio\n", "!pip install x\n", "files = !ls\n", "asyncio.Lock?\n", "??asyncio\n", "_lock = asyncio.Lock()"]),
    code(["%%bash\n", "echo $x = asyncio.Lock()"]),
    code(
        [
            "async def work():\n",
            '    """% of work\n',
            '    !important"""\n',
            "    total = (1\n",
            "             % 2)\n",
            "    %time x = 1\n",
            "    async with _lock:\n",
            "        await asyncio.sleep(total)\n",
            "await work()",
        ]
    ),
)


def test_magics_keep_every_position(tmp_path):
    write(tmp_path / "n.ipynb", MAGICS)
    result = invoke("--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    (finding,) = json.loads(result.output)
    assert finding["location"] == {"cell": 1, "row": 7, "column": 9}


def test_magics_are_placeholders_only_where_a_logical_line_starts():
    parsed = Notebook(MAGICS.encode())
    first, third = parsed.cells
    assert sorted(first.magic) == [0, 2, 3, 4, 5]
    assert sorted(third.magic) == [5]  # not the docstring's lines, not the modulo operator
    assert third.source[5] == f"    {PLACEHOLDER}\n"
    assert [cell.number for cell in parsed.cells] == [1, 3]  # the %%bash cell is left out


def test_magics_are_given_back_by_a_fix(tmp_path):
    target = write(tmp_path / "n.ipynb", MAGICS)
    assert invoke("--fix", "--unsafe-fixes", "n.ipynb", cwd=tmp_path).exit_code == 0
    cells = json.loads(target.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"])
    assert first.startswith("%matplotlib inline\nimport asyncio\n!pip install x\nfiles = !ls\nasyncio.Lock?\n??asyncio\n")
    assert cells[1] == json.loads(MAGICS)["cells"][1]
    assert "    %time x = 1\n" in cells[2]["source"]


def test_top_level_await_is_valid_only_in_notebooks(tmp_path):
    text = "import asyncio\nawait asyncio.sleep(0)\n_lock = asyncio.Lock()\n"
    write(tmp_path / "n.ipynb", notebook(code(text)))
    write(tmp_path / "s.py", text)
    result = invoke("n.ipynb", cwd=tmp_path)
    assert result.exit_code == 1 and "n.ipynb:cell 1:3:9: LCK101" in result.output
    result = invoke("s.py", cwd=tmp_path)
    assert result.exit_code == 2 and "'await' outside function" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"cells": [', "n.ipynb: not a valid notebook: bad JSON at 1:12"),
        ('{"worksheets": [], "nbformat": 3, "metadata": {}}', "n.ipynb: unsupported notebook format 3"),
        ('{"cells": {}, "nbformat": 4}', "n.ipynb: not a valid notebook: no list of cells"),
        ('{"cells": [{"cell_type": "code", "source": 3}], "nbformat": 4}', "cell 1's source is not text"),
        ("[]", "n.ipynb: not a valid notebook: not a JSON object"),
    ],
)
def test_an_invalid_notebook_is_one_error_line(tmp_path, content, message):
    write(tmp_path / "n.ipynb", content)
    result = invoke("n.ipynb", cwd=tmp_path)
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("loopcheck:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert "Traceback" not in result.output


def test_a_layout_json_cannot_reproduce_is_never_rewritten(tmp_path):
    # Keys on one line with others indented: no writer json knows. The finding stays reported.
    text = LOCKED.replace('"nbformat": 4,\n "nbformat_minor": 5', '"nbformat": 4, "nbformat_minor": 5')
    target = write(tmp_path / "n.ipynb", text)
    result = invoke("--fix", "--unsafe-fixes", "n.ipynb", cwd=tmp_path)
    assert "JSON layout cannot be reproduced exactly" in result.output
    assert target.read_text(encoding="utf-8") == text


def test_a_fix_that_loses_a_cell_boundary_is_refused():
    parsed = Notebook(LOCKED.encode())
    with pytest.raises(SourceError, match="across notebook cells"):
        parsed.render(parsed.text.replace("# loopcheck-cell: 3\n", ""))


def test_add_noqa_and_the_baseline_work_on_cells(tmp_path):
    target = write(tmp_path / "n.ipynb", LOCKED)
    assert invoke("--write-baseline", "n.ipynb", cwd=tmp_path).exit_code == 0
    assert invoke("n.ipynb", cwd=tmp_path).exit_code == 0
    (tmp_path / ".loopcheck-baseline.json").unlink()
    assert invoke("--add-noqa", "n.ipynb", cwd=tmp_path).exit_code == 0
    cells = json.loads(target.read_text(encoding="utf-8"))["cells"]
    assert cells[2]["source"] == ["x = 1\n", "_lock = asyncio.Lock()  # noqa: LCK101"]
    assert cells[2]["outputs"] == [OUTPUT]


def test_cell_map_positions():
    cells = CellMap("# loopcheck-cell: 2\na\nb\n# loopcheck-cell: 5\nc\n")
    assert [cells.position(n) for n in range(1, 6)] == [None, (2, 1), (2, 2), None, (5, 1)]
    assert cells.position(4, edge=True) == (2, 3)
    assert cells.joined_line(5, 1) == 5


def test_max_file_size_bounds_the_code_cells_not_the_outputs(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.loopcheck]\nmax-file-size = 2000\n")
    picture = {"data": {"image/png": "A" * 20_000}, "metadata": {}, "output_type": "display_data"}
    write(tmp_path / "small.ipynb", notebook(code("import asyncio\n_lock = asyncio.Lock()", outputs=[picture])))
    write(tmp_path / "large.ipynb", notebook(code("import asyncio\n_lock = asyncio.Lock()\n" + "x = 1\n" * 400)))
    write(tmp_path / "huge.ipynb", notebook(code("import asyncio", outputs=[{**picture, "data": {"image/png": "A" * 70_000}}])))
    result = invoke("small.ipynb", "large.ipynb", "huge.ipynb", cwd=tmp_path)
    assert "small.ipynb:cell 1:2:9: LCK101" in result.output
    assert "large.ipynb: code cells of 2,4" in result.output and "more than max-file-size (2,000 bytes)" in result.output
    assert "huge.ipynb: notebook of 70,4" in result.output and "larger than 32 times max-file-size" in result.output


def test_a_cached_result_keeps_its_cell(tmp_path):
    write(tmp_path / "n.ipynb", LOCKED)
    first = invoke("--cache-dir", "cache", "n.ipynb", cwd=tmp_path)
    second = invoke("--cache-dir", "cache", "n.ipynb", cwd=tmp_path)
    assert "n.ipynb:cell 3:2:9: LCK101" in first.output
    assert second.output == first.output


def test_a_notebook_of_another_language_has_no_code_checked(tmp_path):
    document = json.loads(LOCKED)
    document["metadata"]["language_info"] = {"name": "R"}
    write(tmp_path / "n.ipynb", json.dumps(document))
    assert invoke("n.ipynb", cwd=tmp_path).output.startswith("All checks passed.")


def test_ascii_escapes_and_four_spaces_are_kept_by_a_fix(tmp_path):
    text = json.dumps(json.loads(LOCKED), indent=4) + "\n"
    assert "\\u00e9" in text
    target = write(tmp_path / "n.ipynb", text)
    assert invoke("--fix", "--unsafe-fixes", "n.ipynb", cwd=tmp_path).exit_code == 0
    fixed = target.read_text(encoding="utf-8")
    assert fixed != text and fixed == json.dumps(json.loads(fixed), indent=4) + "\n"


def test_findings_are_listed_in_cell_order(tmp_path):
    write(
        tmp_path / "n.ipynb",
        notebook(
            code("import asyncio\n\n\n\n_first = asyncio.Lock()"),
            code("_second = asyncio.Event()"),
            code("async def work():\n    async with _first:\n        await _second.wait()"),
        ),
    )
    lines = [line for line in invoke("n.ipynb", cwd=tmp_path).output.splitlines() if "LCK" in line]
    assert [line.split(": LCK")[0] for line in lines] == ["n.ipynb:cell 1:5:10", "n.ipynb:cell 2:1:11"]
    found = json.loads(invoke("--output-format", "json", "n.ipynb", cwd=tmp_path).output)
    assert [(d["location"]["cell"], d["location"]["row"]) for d in found] == [(1, 5), (2, 1)]


def test_sarif_github_and_show_fixes_name_the_cell(tmp_path):
    write(tmp_path / "n.ipynb", LOCKED)
    sarif = json.loads(invoke("--output-format", "sarif", "--unsafe-fixes", "n.ipynb", cwd=tmp_path).output)
    (result,) = sarif["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 9, "endLine": 2, "endColumn": 23, "properties": {"cell": 3}}
    jsonschema.Draft4Validator(sarif_schema()).validate(sarif)
    replacements = result["fixes"][0]["artifactChanges"][0]["replacements"]
    assert all(r["deletedRegion"]["properties"]["cell"] in (3, 4) for r in replacements)
    github = invoke("--output-format", "github", "n.ipynb", cwd=tmp_path).output
    assert "file=n.ipynb,line=2,col=9,endLine=2,endColumn=23::cell 3:2:9: LCK101 " in github
    shown = invoke("--show-fixes", "n.ipynb", cwd=tmp_path).output
    assert "  n.ipynb:cell 3:2:9: LCK101 [-] " in shown  # an unsafe fix


def test_the_source_excerpt_shows_the_cell_line():
    finding = Diagnostic("n.ipynb", 2, 9, 2, 23, "LCK101", "message", cell=3)
    text = decode("n.ipynb", LOCKED.encode()).text
    assert source_excerpt(finding, text) == "  |\n2 | _lock = asyncio.Lock()\n  |         ^^^^^^^^^^^^^^\n\n"


def test_standard_input_named_as_a_notebook_is_read_as_one(tmp_path):
    result = invoke("--fix", "--unsafe-fixes", "--stdin-filename", "n.ipynb", "-", cwd=tmp_path, stdin=LOCKED)
    fixed = json.loads(result.stdout)
    assert "_get_lock" in "".join(fixed["cells"][3]["source"])
    assert fixed["cells"][2]["outputs"] == [OUTPUT]


def test_cells_a_fix_does_not_change_keep_their_source_as_split():
    # One list item holding two lines: json would split it differently if it were rewritten.
    text = notebook(code(["import asyncio\nx = 1\n", "y = 2"]), code(["_lock = asyncio.Lock()"]))
    parsed = Notebook(text.encode())
    fixed = json.loads(parsed.render(parsed.text.replace("_lock = asyncio.Lock()", "_lock = None")))
    assert fixed["cells"][0]["source"] == ["import asyncio\nx = 1\n", "y = 2"]
    assert fixed["cells"][1]["source"] == ["_lock = None"]


def test_only_whole_marker_lines_split_the_cells():
    parsed = Notebook(notebook(code("import asyncio"), code("x = 1")).encode())
    changed = parsed.text.replace("x = 1", "x = 1  # loopcheck-cell: 9")
    cells = json.loads(parsed.render(changed))["cells"]
    assert cells[1]["source"] == "x = 1  # loopcheck-cell: 9"


def test_jupyter_checkpoints_are_not_walked(tmp_path):
    write(tmp_path / "n.ipynb", LOCKED)
    write(tmp_path / ".ipynb_checkpoints" / "n-checkpoint.ipynb", LOCKED)
    found = [line for line in invoke(".", cwd=tmp_path).output.splitlines() if "LCK101" in line]
    assert [line.split(":")[0] for line in found] == ["n.ipynb"]


@pytest.mark.parametrize(
    ("source", "chosen"),
    [
        ("x = 1 + \\\n%y\n%cd \\\n  dir\nx\n", [2, 3]),  # a backslash continues Python and magics alike
        ("\n\n# c\n%a\nx = [\n%b]\n", [3]),
        ('"""\n% not a magic\n!nor this\n"""\n%but this\n', [4]),
    ],
)
def test_what_counts_as_ipython_syntax(source, chosen):
    assert sorted(_placeholders(source.splitlines(keepends=True))) == chosen


def test_a_line_a_message_names_is_named_in_its_cell(tmp_path):
    write(
        tmp_path / "n.ipynb",
        notebook(
            code("import asyncio\n\n_loop = asyncio.new_event_loop()"),
            code("def job():\n    return _loop.run_until_complete(asyncio.sleep(0))"),
        ),
    )
    result = invoke("n.ipynb", cwd=tmp_path)
    assert "n.ipynb:cell 1:3:9: LCK202 " in result.output
    assert "reused by run_until_complete() (line 2 of cell 2)" in result.output
