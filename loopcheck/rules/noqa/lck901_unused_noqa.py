"""LCK901: a loopcheck code in a ``# noqa`` comment that silences nothing, or names no rule."""

from __future__ import annotations

from typing import ClassVar

from loopcheck.engine.rule import Rule, RuleDocs


class UnusedNoqa(Rule):
    code = "LCK901"
    name = "unused-noqa"
    summary = "a loopcheck code in a `# noqa` comment silences no finding on its line, or names no rule"
    fix_kind = "safe"
    instead = "remove the codes that silence nothing"
    scope = "noqa"
    tier = "tooling"
    runtime_failure = False
    docs: ClassVar[RuleDocs] = RuleDocs(
        tier_reason=(
            "A stale or unknown `# noqa` code is a comment that silences nothing; the program behaves the "
            "same with or without it."
        ),
        what_it_does=(
            "Reports each loopcheck code (`LCK...`) listed in a `# noqa: ...` comment that\n"
            "silences nothing: no rule has the code (`# noqa: LCK999`, a typo that silences\n"
            "nothing while looking as if it did), or the rule checked the file and found nothing\n"
            "of that code on the line (the finding was fixed, or the code moved). Other tools'\n"
            "codes (`E501`, `F401`) and bare `# noqa` are left alone, and so are codes of rules\n"
            "the run did not check the file for (not selected, or project rules, whose findings\n"
            "come from other modules)."
        ),
        why_is_this_bad=(
            "A stale `# noqa` hides the next real finding on its line, and an unknown code\n"
            "suggests a suppression that does not exist. Both pile up once a codebase adopts\n"
            "loopcheck with `--add-noqa` and then fixes its findings."
        ),
        example=(
            "import asyncio\n\n\n"
            "async def main():\n"
            "    lock = asyncio.Lock()  # noqa: LCK101\n"
            "    ready = asyncio.Event()  # noqa: LCK999\n"
        ),
        use_instead=(
            "Remove the codes that silence nothing:\n\n"
            "```python\n"
            "import asyncio\n\n\n"
            "async def main():\n"
            "    lock = asyncio.Lock()\n"
            "    ready = asyncio.Event()\n"
            "```\n\n"
            "Off by default; turn it on in CI with `--extend-select LCK901`. A line can keep a\n"
            "code on purpose with `# noqa: LCK101, LCK901`."
        ),
        fix_safety=(
            "Safe: the fix removes the code from the comment, or the whole `# noqa: CODE`\n"
            "directive when it was the only code (another comment before it stays). A comment\n"
            "with text after its codes (`# noqa: LCK101 (why)`) gets no fix: without its codes it\n"
            "would be a bare `# noqa`, which silences everything."
        ),
        affected_versions="All: it is about comments, not about asyncio.",
    )

    def check(self) -> None:  # judged from the comments by the engine, never over a tree
        raise NotImplementedError
