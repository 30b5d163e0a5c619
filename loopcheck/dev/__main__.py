"""``python -m loopcheck.dev``: see the package's docstring and CONTRIBUTING.md."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loopcheck.dev.findings import SHOWN_DIFF_LINES, CompareError, compare, default_corpus, input_names
from loopcheck.dev.generate import COMMAND, GenerateError, generate, repository_root, stale_files
from loopcheck.dev.scaffold import PLACEHOLDER, NewRule, refusal, write_rule
from loopcheck.rules import FILE_FAMILIES as FAMILIES


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """Work on loopcheck itself."""


@main.command("generate")
@click.option("--check", is_flag=True, help="Write nothing; list the stale files and exit 1 if there are any.")
def generate_command(check: bool) -> None:
    """Write the rule pages, data/rules.json and README.md's rule table from the rule classes."""
    try:
        root = repository_root()
        if check:
            sys.exit(1 if list_stale_files(root) else 0)
        changed = generate(root)
    except GenerateError as error:
        fail(str(error))
    for path in changed:
        click.echo(f"wrote {path.relative_to(root)}" if path.exists() else f"removed {path.relative_to(root)}")


def list_stale_files(root: Path) -> bool:
    """Prints the stale generated files, and the command that rewrites them; whether there are any."""
    differing, leftover = stale_files(root)
    for path in differing:
        click.echo(f"stale: {path.relative_to(root)}")
    for path in leftover:
        click.echo(f"no rule generates: {path.relative_to(root)}")
    if differing or leftover:
        click.echo(f"run `{COMMAND}`")
    return bool(differing or leftover)


@main.command("new-rule")
@click.argument("code")
@click.argument("name")
@click.option("--family", required=True, help=f"The rule's package: {', '.join(FAMILIES)}.")
def new_rule_command(code: str, name: str, family: str) -> None:
    """Write rule CODE (LCKNNN) called NAME (words-with-dashes): its module in
    loopcheck/rules/FAMILY/ and its fixture in tests/fixtures/, then regenerate."""
    if family not in FAMILIES:
        fail(f"unknown family {family!r}: one of {', '.join(FAMILIES)}")
    rule = NewRule(code, name, family)
    try:
        root = repository_root()
        reason = refusal(rule, root)
        if reason:
            fail(reason)
        stale_files(root)  # a README.md the table cannot be written into fails here, before any write
        written = write_rule(rule, root)
        written += generate(root)
    except GenerateError as error:
        fail(str(error))
    for path in written:
        click.echo(f"wrote {path.relative_to(root)}")
    click.echo(f"fill in the lines marked {PLACEHOLDER}; CONTRIBUTING.md lists the rest")


@main.command("compare-findings")
@click.option("--base", default="HEAD", show_default=True, help="The revision to compare with.")
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="The corpus's src directory (default: $LOOPCHECK_CORPUS/src, ~/.cache/loopcheck-corpus/src).")
@click.option("--no-corpus", is_flag=True, help="Only the fixtures, programs and examples.")
@click.option("--only", multiple=True, type=click.Choice(input_names()), help="Only these inputs (repeatable).")
def compare_findings_command(base: str, corpus: Path | None, no_corpus: bool, only: tuple[str, ...]) -> None:
    """Check that findings and fixes are what the BASE revision's code gives, on the same inputs
    (the base's fixtures, programs and examples, and the pinned corpus); exit 1 on any difference."""
    if no_corpus or (only and "corpus" not in only):
        corpus = None
    else:
        corpus = corpus or default_corpus()
        if not corpus.is_dir():
            fail(f"no corpus at {corpus}: fetch it (benchmarks/README.md), name it with --corpus, or pass --no-corpus")
    differing = 0
    try:
        for name, difference in compare(repository_root(), base, corpus, only):
            click.echo(f"{name}: {'identical' if difference is None else 'DIFFERENT'}")
            if difference is not None:
                differing += 1
                shown = difference.diff[:SHOWN_DIFF_LINES]
                click.echo("\n".join(shown))
                if len(difference.diff) > len(shown):
                    click.echo(f"... {len(difference.diff) - len(shown)} more lines")
    except (CompareError, GenerateError) as error:
        fail(str(error))
    click.echo(f"{differing} of the outputs differ from {base}'s" if differing else f"identical to {base}")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
