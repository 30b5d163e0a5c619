"""``python -m loopcheck.dev``: see the package's docstring and CONTRIBUTING.md."""

from __future__ import annotations

import sys

import click

from loopcheck.dev.generate import COMMAND, GenerateError, generate, repository_root, stale_files
from loopcheck.dev.scaffold import PLACEHOLDER, NewRule, refusal, write_rule
from loopcheck.rules import FAMILIES


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
    root = repository_root()
    try:
        if check:
            differing, leftover = stale_files(root)
            for path in differing:
                click.echo(f"stale: {path.relative_to(root)}")
            for path in leftover:
                click.echo(f"no rule generates: {path.relative_to(root)}")
            if differing or leftover:
                click.echo(f"run `{COMMAND}`")
                sys.exit(1)
            return
        changed = generate(root)
    except GenerateError as error:
        fail(str(error))
    for path in changed:
        click.echo(f"wrote {path.relative_to(root)}" if path.exists() else f"removed {path.relative_to(root)}")


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
    root = repository_root()
    reason = refusal(rule, root)
    if reason:
        fail(reason)
    for path in write_rule(rule, root):
        click.echo(f"wrote {path.relative_to(root)}")
    try:
        changed = generate(root)
    except GenerateError as error:
        fail(str(error))
    for path in changed:
        click.echo(f"wrote {path.relative_to(root)}")
    click.echo(f"fill in the lines marked {PLACEHOLDER}; CONTRIBUTING.md lists the rest")


if __name__ == "__main__":
    main()
