"""What loopcheck reads and writes, through the real command line: line endings and `# noqa`,
diffs that patch tools accept, source encodings, the size limit's advice, SARIF locations, the
terminal excerpt and the flake8 plugin's configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_loopcheck

HANG_GUARD = 120  # seconds: a run that takes longer is a hang, not a slow run

# One finding silenced by `# noqa` (line 5), one not (line 9); both have a safe fix.
NOQA_SOURCE = (
    "import asyncio\n"
    "\n"
    "\n"
    "async def now():\n"
    "    return asyncio.get_event_loop().time()  # noqa\n"
    "\n"
    "\n"
    "async def later():\n"
    "    return asyncio.get_event_loop().time()\n"
)


def run(*args: object, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` in a process of its own (bytes out), with LCK401 (opt-in) selected: its
    safe fix is the one these tests write through every kind of input."""
    return run_loopcheck("--extend-select", "LCK401", *args, cwd=cwd, input=stdin)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    for stream in (result.stdout, result.stderr):
        assert b"Traceback" not in stream, stream.decode(errors="replace")


def with_endings(source: str, ending: str) -> str:
    if ending == "mixed":  # CR, CRLF and LF in turn
        lines = source.split("\n")
        ends = ["\r", "\r\n", "\n"]
        return "".join(line + ends[i % 3] for i, line in enumerate(lines[:-1])) + lines[-1]
    return source.replace("\n", ending)


# -- `# noqa` and line endings ------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r", "mixed"], ids=["LF", "CRLF", "CR", "mixed"])
def test_noqa_holds_for_every_line_ending_in_check_and_fix(tmp_path, ending):
    source = with_endings(NOQA_SOURCE, ending)
    target = tmp_path / "app.py"
    target.write_bytes(source.encode())
    checked = run("app.py", cwd=tmp_path)
    no_traceback(checked)
    reported = [line.split(b" ")[0] for line in checked.stdout.splitlines() if b"LCK" in line]
    assert reported == [b"app.py:9:12:"], checked.stdout.decode()
    assert checked.returncode == 1
    fixed = run("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    no_traceback(fixed)
    assert fixed.returncode == 0, fixed.stderr.decode()
    # Only the unsuppressed line is rewritten; every line ending stays as it was.
    lines = with_endings(NOQA_SOURCE, ending).split("get_event_loop")
    expected = "get_event_loop".join(lines[:2]) + "get_running_loop" + lines[2]
    assert target.read_bytes() == expected.encode()


# -- --diff and patch tools ---------------------------------------------------------------

DIFF_SOURCE = (
    "import asyncio\n"
    "\n"
    "\n"
    "async def now():  # before{X}after\n"
    "    return asyncio.get_event_loop().time()  # here{X}too\n"
)
# Characters str.splitlines() ends a line at, which are not line ends for Python, git or patch.
NOT_LINE_ENDS = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def git(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=HANG_GUARD)


@pytest.mark.parametrize(
    "source",
    [DIFF_SOURCE.replace("{X}", char) for char in NOT_LINE_ENDS]
    + [
        DIFF_SOURCE.replace("{X}", "").replace("\n", "\r\n"),  # CRLF
        DIFF_SOURCE.replace("{X}", "").replace("\n", "\r"),  # CR: one line for patch tools
        with_endings(DIFF_SOURCE.replace("{X}", ""), "mixed"),
        DIFF_SOURCE.replace("{X}", "").rstrip("\n"),  # no final newline
        DIFF_SOURCE.replace("{X}", "").replace("\n", "\r\n").rstrip("\r\n"),
        DIFF_SOURCE.replace("{X}", "").rstrip("\n") + "  # end\f",
    ],
    ids=[f"U+{ord(char):04X}" for char in NOT_LINE_ENDS]
    + ["CRLF", "CR", "mixed", "no-final-LF", "CRLF-no-final-CRLF", "ends-with-form-feed"],
)
def test_diff_is_a_patch_git_apply_and_patch_accept(tmp_path, source):
    assert_patch_applies(tmp_path, source.encode())


@pytest.mark.parametrize(
    "data",
    [
        ("# -*- coding: latin-1 -*-\n" + DIFF_SOURCE.replace("{X}", "é")).encode("latin-1"),
        ("# -*- coding: shift_jis -*-\n" + DIFF_SOURCE.replace("{X}", "日本")).encode("shift_jis"),
        # UTF-8 with a BOM, the first line in the hunk
        "\ufeffimport asyncio\nasync def now():  # é\n    return asyncio.get_event_loop()\n".encode(),
    ],
    ids=["latin-1", "shift_jis", "utf-8-bom"],
)
def test_diff_is_in_the_files_own_encoding(tmp_path, data):
    assert_patch_applies(tmp_path, data)


def assert_patch_applies(tmp_path: Path, data: bytes) -> None:
    """``--diff`` on a file of these bytes prints a patch that git apply and patch accept, and
    that does what ``--fix`` does."""
    target = tmp_path / "app.py"
    target.write_bytes(data)
    fixed_copy = tmp_path / "fixed" / "app.py"
    fixed_copy.parent.mkdir()
    fixed_copy.write_bytes(data)
    assert run("--fix", fixed_copy, cwd=tmp_path).returncode == 0
    expected = fixed_copy.read_bytes()
    assert expected != data

    diff = run("--diff", "app.py", cwd=tmp_path)
    no_traceback(diff)
    assert diff.returncode == 1, diff.stderr.decode()
    patch_text = diff.stdout
    assert patch_text.startswith(b"--- a/app.py\n+++ b/app.py\n")
    if not data.endswith(b"\n"):
        assert patch_text.endswith(b"\n\\ No newline at end of file\n")

    git("init", "-q", cwd=tmp_path)
    checked = git("apply", "--check", "-", cwd=tmp_path, stdin=patch_text)
    assert checked.returncode == 0, checked.stderr.decode()
    applied = git("apply", "-", cwd=tmp_path, stdin=patch_text)
    assert applied.returncode == 0, applied.stderr.decode()
    assert target.read_bytes() == expected  # the diff says what --fix does

    if shutil.which("patch"):
        target.write_bytes(data)
        dry = subprocess.run(
            ["patch", "-p1", "--dry-run"], cwd=tmp_path, input=patch_text, capture_output=True
        )
        assert dry.returncode == 0, dry.stdout.decode() + dry.stderr.decode()
        patched = subprocess.run(["patch", "-p1", "-s"], cwd=tmp_path, input=patch_text, capture_output=True)
        assert patched.returncode == 0 and target.read_bytes() == expected, patched.stdout.decode()


# -- the size limit's advice --------------------------------------------------------------


@pytest.mark.parametrize("from_stdin", [False, True], ids=["file", "stdin"])
def test_size_limit_message_names_only_real_options_and_keys(tmp_path, from_stdin):
    from loopcheck.frontends.cli import main
    from loopcheck.settings.config import _Reader

    (tmp_path / "pyproject.toml").write_text("[tool.loopcheck]\nmax-file-size = 100\n")
    source = NOQA_SOURCE.encode() * 2
    (tmp_path / "app.py").write_bytes(source)
    if from_stdin:
        result = run("-", "--stdin-filename", "app.py", cwd=tmp_path, stdin=source)
    else:
        result = run("app.py", cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 2
    [line] = [line for line in result.stderr.decode().splitlines() if "larger than" in line]
    assert f"app.py: {len(source)} bytes, larger than max-file-size (100 bytes)" in line
    options = {name for parameter in main.params for name in parameter.opts}
    named_options = re.findall(r"--[a-z][a-z0-9-]*", line)
    assert all(option in options for option in named_options), named_options
    keys = re.findall(r"([a-z][a-z0-9-]*) in \[tool\.loopcheck\]", line)
    assert keys and all(key in _Reader.KEYS for key in keys), line


# -- SARIF locations ----------------------------------------------------------------------

LOCK = "import asyncio\n\nlock = asyncio.Lock()\n\n\nasync def use():\n    async with lock:\n        pass\n"
AWKWARD_NAMES = ["a:b.py", "%41.py", "sp ace.py", "h#sh.py", "q?.py", "é.py", "中文.py", "d:ir/x:y.py"]


def sarif_uris(stdout: bytes) -> list[str]:
    """Every artifact location's uri of every result (the finding's and its fix's)."""
    import json

    log = json.loads(stdout)
    uris = []
    for result in log["runs"][0]["results"]:
        for location in result["locations"]:
            uris.append(location["physicalLocation"]["artifactLocation"]["uri"])
        for fix in result.get("fixes", []):
            uris.extend(change["artifactLocation"]["uri"] for change in fix["artifactChanges"])
    return uris


def test_sarif_uris_are_percent_encoded_relative_references(tmp_path):
    from urllib.parse import unquote, unquote_to_bytes, urljoin, urlparse

    names = list(AWKWARD_NAMES)
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(LOCK)
    raw_name = b"\xff-latin.py"  # a name that is not UTF-8
    if sys.platform != "darwin":  # macOS refuses such names
        (tmp_path / raw_name.decode(sys.getfilesystemencoding(), "surrogateescape")).write_text(LOCK)
    result = run("--output-format", "sarif", "--unsafe-fixes", ".", cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 1, result.stderr.decode()
    uris = sarif_uris(result.stdout)
    assert all(urlparse(uri).scheme == "" for uri in uris), uris
    # Resolved against %SRCROOT% (the working directory), each names its file.
    decoded = {unquote(uri, errors="strict") for uri in uris if not uri.startswith("%FF")}
    assert decoded == set(names)
    assert all(urljoin("file:///root/", uri).startswith("file:///root/") for uri in uris)
    if sys.platform != "darwin":
        assert {unquote_to_bytes(uri) for uri in uris if uri.startswith("%FF")} == {raw_name}
    assert all(uri.isascii() and " " not in uri for uri in uris)


def test_sarif_uri_outside_the_working_directory_is_an_absolute_file_uri(tmp_path):
    from urllib.parse import unquote, urlparse

    (tmp_path / "a:b c.py").write_text(LOCK)
    (tmp_path / "work").mkdir()
    result = run("--output-format", "sarif", "../a:b c.py", cwd=tmp_path / "work")
    uris = sarif_uris(result.stdout)
    assert uris and all(urlparse(uri).scheme == "file" for uri in uris)
    assert {unquote(urlparse(uri).path) for uri in uris} == {str((tmp_path / "a:b c.py").resolve())}


# -- the flake8 plugin and [tool.loopcheck] -----------------------------------------------

EXTRA_CLIENT_APP = (
    "import asyncio\n"
    "\n"
    "from mycompany.sdk import AsyncClient\n"
    "\n"
    "client = AsyncClient()\n"
    "lock = asyncio.Lock()\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    async with lock:\n"
    "        return await client.get('x')\n"
)


def cli_findings(path: Path, cwd: Path) -> set[tuple[int, int, str]]:
    import json

    result = run("--output-format", "json", path, cwd=cwd)
    assert result.returncode == 1, result.stderr.decode()
    return {
        (f["location"]["row"], f["location"]["column"], f"{f['code']} {f['message']}")
        for f in json.loads(result.stdout)
    }


def flake8_findings(path: Path, cwd: Path) -> set[tuple[int, int, str]]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "LCK", str(path)],
        cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    found = set()
    for line in result.stdout.splitlines():
        _, row, column, text = line.split(":", 3)  # the paths here hold no ':'
        found.add((int(row), int(column), text.strip()))
    return found


def test_flake8_plugin_reads_the_projects_extra_clients(tmp_path):
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[tool.loopcheck]\nextra-clients = ["mycompany.sdk.AsyncClient"]\n'
    )
    app = project / "pkg" / "app.py"
    app.write_text(EXTRA_CLIENT_APP)
    # From outside the project, from the project, and from the file's directory: the
    # configuration is found from the file, as the command line finds it.
    for cwd, path in [(tmp_path, "project/pkg/app.py"), (project, "pkg/app.py"), (app.parent, "app.py")]:
        expected = cli_findings(Path(path), cwd)
        assert {code.split()[0] for _, _, code in expected} == {"LCK101", "LCK301"}
        assert flake8_findings(Path(path), cwd) == expected


def test_flake8_plugin_with_a_broken_configuration_warns_and_checks_with_defaults(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.loopcheck]\nextra-clients = 3\n")
    (tmp_path / "app.py").write_text(EXTRA_CLIENT_APP)
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "LCK", "app.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=HANG_GUARD,
    )
    assert "Traceback" not in result.stderr
    assert "extra-clients: must be a list of strings; checked with the default settings" in result.stderr
    assert [line.split(": ")[1].split()[0] for line in result.stdout.splitlines()] == ["LCK101"]


# -- source encodings ---------------------------------------------------------------------

ENCODED = (
    "# coding: {}\n"
    "import asyncio\n"
    "\n"
    "\n"
    "async def now():\n"
    "    return asyncio.get_event_loop().time()\n"
)
# Codecs Python may accept in a declaration but in which a fix cannot be written as written: not
# text encodings, or ones that rewrite ASCII text (escapes, punycode, shifts, two bytes a char).
UNFAITHFUL = ["idna", "punycode", "unicode_escape", "raw_unicode_escape", "utf_7", "rot13", "base64", "utf-16"]


def unfaithful_file(encoding: str) -> bytes:
    return ENCODED.format(encoding).encode("ascii")


@pytest.mark.parametrize("encoding", UNFAITHFUL)
def test_unfaithful_source_encodings_are_refused_in_one_line(tmp_path, encoding):
    data = unfaithful_file(encoding)
    target = tmp_path / "app.py"
    target.write_bytes(data)
    for args in [(), ("--fix",), ("--fix", "--unsafe-fixes"), ("--diff",)]:
        result = run(*args, "app.py", cwd=tmp_path)
        no_traceback(result)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert b"LCK" not in result.stdout and b"All checks passed" not in result.stdout
        [line] = [line for line in result.stderr.decode().splitlines() if "app.py" in line]
        assert line.startswith(f"loopcheck: app.py: unsupported source encoding '{encoding}'"), line
        assert target.read_bytes() == data
    piped = run("--fix", "-", "--stdin-filename", "app.py", cwd=tmp_path, stdin=data)
    no_traceback(piped)
    assert piped.returncode == 2 and piped.stdout == data  # the buffer back as it was
    assert f"unsupported source encoding '{encoding}'" in piped.stderr.decode()


def test_a_file_whose_bytes_do_not_round_trip_is_refused_and_left_alone(tmp_path):
    # In cp932, 0x87 0x90 reads as U+2252, which cp932 writes as 0x81 0xE0.
    data = ENCODED.format("cp932").encode("ascii") + b"# \x87\x90\n"
    target = tmp_path / "app.py"
    target.write_bytes(data)
    result = run("--fix", "app.py", cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 2
    assert "app.py: unsupported source encoding 'cp932' for this file" in result.stderr.decode()
    assert target.read_bytes() == data


@pytest.mark.parametrize("encoding, comment", [("latin-1", "café"), ("shift_jis", "日本"), ("utf-8", "é")])
def test_faithful_source_encodings_are_fixed_in_place(tmp_path, encoding, comment):
    source = ENCODED.format(encoding) + f"# {comment}\n"
    target = tmp_path / "app.py"
    target.write_bytes(source.encode(encoding))
    result = run("--fix", "app.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert target.read_bytes() == source.replace("get_event_loop", "get_running_loop").encode(encoding)


# -- the terminal excerpt -----------------------------------------------------------------

EXCERPT_SOURCE = (
    "import asyncio\n"
    "# a line separator \u2028 and a form feed \f in a comment end no line\n"
    "\n"
    "async def now():\n"
    '\tlabel = "中文字"; return asyncio.get_event_loop().time()\n'
)


def terminal_output(*args: object, cwd: Path) -> str:
    """What ``loopcheck ARGS`` prints on a terminal (stdout a pseudo-terminal)."""
    import os

    leader, follower = os.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "loopcheck", "--no-cache", "--extend-select", "LCK401", "--color", "never", *map(str, args)],
            cwd=cwd, stdout=follower, stderr=subprocess.PIPE, timeout=HANG_GUARD,
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all is read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert process.returncode == 1, process.stderr.decode()
    return seen.decode().replace("\r\n", "\n")


def columns(text: str) -> int:
    """Terminal columns of ``text`` (no tabs): wide and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("ending", ["\n", "\r"], ids=["LF", "CR"])
@pytest.mark.parametrize(
    "source",
    [EXCERPT_SOURCE, EXCERPT_SOURCE.replace("\u2028", "").replace("\f", "")],
    ids=["separators", "tab-and-wide"],
)
def test_terminal_excerpt_carets_sit_under_the_span(tmp_path, source, ending):
    (tmp_path / "app.py").write_bytes(source.replace("\n", ending).encode())
    output = terminal_output("app.py", cwd=tmp_path)
    lines = output.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("app.py:5:")]
    # The reported line itself (not the comment line, which str.splitlines would split).
    excerpt, carets = lines[at + 2], lines[at + 3]
    assert excerpt.startswith("5 | ") and "get_event_loop" in excerpt, output
    shown = excerpt[len("5 | "):]
    assert "\t" not in shown and shown.startswith(" " * 8 + "label")  # a tab to column 8
    marks = carets[len("  | "):]
    assert marks.strip(" ") == "^" * len("asyncio.get_event_loop()")
    assert len(marks) - len(marks.lstrip(" ")) == columns(shown[: shown.index("asyncio")])


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r", "mixed"], ids=["LF", "CRLF", "CR", "mixed"])
def test_json_fix_edits_are_placed_on_the_lines_findings_are_numbered_by(tmp_path, ending):
    import json

    source = with_endings(NOQA_SOURCE.replace("  # noqa", ""), ending)
    target = tmp_path / "app.py"
    target.write_bytes(source.encode())
    result = run("--output-format", "json", "app.py", cwd=tmp_path)
    findings = json.loads(result.stdout)
    assert [f["location"]["row"] for f in findings] == [5, 9]
    assert [[e["location"]["row"] for e in f["fix"]["edits"]] for f in findings] == [[5], [9]]
    # Lines as Python ends them: after LF, CRLF or a lone CR.
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", source)]

    def offset(where: dict[str, int]) -> int:
        return starts[where["row"] - 1] + where["column"] - 1

    edits = sorted(
        (offset(e["location"]), offset(e["end_location"]), e["content"])
        for f in findings
        for e in f["fix"]["edits"]
    )
    for start, end, _ in edits:
        assert source[start:end].count("get_event_loop") == 1
    fixed = source
    for start, end, content in reversed(edits):
        fixed = fixed[:start] + content + fixed[end:]
    assert run("--fix", "app.py", cwd=tmp_path).returncode == 0
    assert fixed.encode() == target.read_bytes()
