"""The fixes of a public module global (a name without a leading underscore, or one ``__all__``
lists), which other modules may import. The file alone cannot tell whether one does, so the fix
is withheld (the finding says why) for the project model to offer (see ``Withheld``):

- where no module of the project imports the name, the fix a private one gets (unless
  ``__all__`` lists it: the module's declared interface may be imported from anywhere);
- where one does, the per-loop accessor with a proxy that keeps the name importable: the
  importers' ``from m import lock`` and ``m.client.get(...)`` stay as they are, and every use
  goes through the proxy to the running loop's own object. The proxy is not the object
  (``isinstance(lock, asyncio.Lock)`` becomes false), so that fix is unsafe;
- where a module importing the name uses it outside coroutines (the proxy finds no running
  loop there), or a module importing the name's module could not be read, no fix
  (``Proven.declined``, from ``loopcheck.project.uses``).

A module outside the checked projects cannot be seen: the titles say what the proof covers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import libcst as cst

from loopcheck.engine.diagnostics import Edit, FixProposal, NoFix, Safety, Withheld
from loopcheck.fixes.templates import per_loop_proxy


class AccessorFix(NamedTuple):
    """A per-loop accessor fix, with the accessor's name, and its build, which puts the
    statements it is given after the accessor (a proxy's)."""

    proposal: FixProposal
    accessor: str
    build: Callable[[Sequence[cst.BaseStatement]], tuple[Edit, ...]]


def unimported_title(title: str, name: str) -> str:
    return f"{title} (no module of the project imports `{name}`)"


def proxy_title(title: str, name: str, what: str, followed_by: str = "") -> str:
    """``followed_by``: the module-level code, made with the name at import, that the proxy
    lets follow the running loop's object."""
    kept = f" as a proxy to it, which `{followed_by}` follows" if followed_by else " importable as a proxy to it"
    return (
        f"{title}, and keep `{name}`{kept} (modules importing it are left "
        f"as they are; `isinstance({name}, {what})` becomes false)"
    )


def public_fixes(
    public: NoFix,
    name: str,
    alone: FixProposal | NoFix | None,
    proxied: Callable[[], FixProposal | None] = lambda: None,
    exported: bool = False,
) -> Withheld[FixProposal] | NoFix | None:
    """For the public global ``name``: the fix ``alone`` (the one a private name gets), offered
    where the project model shows no module imports ``name``, and ``proxied()``'s, that keeps it
    importable, where one does; ``public`` (why the file alone cannot fix it) without the model,
    and wherever ``alone`` is no fix. A name ``__all__`` lists (``exported``) is the module's
    interface, for importers the model cannot see too (``import *`` anywhere, a dynamic import):
    it is kept importable wherever it is fixed."""
    if not isinstance(alone, FixProposal):
        return public
    proxy = proxied()
    if exported:
        return public if proxy is None else Withheld((name,), public.reason, proxy, proxy)
    offered = FixProposal(alone.safety, unimported_title(alone.title, name), alone.build, alone.names)
    return Withheld((name,), public.reason, offered, proxy)


def proxy_fix(
    accessor: AccessorFix, name: str, what: str, proxy: str, specials: tuple[str, ...], followed_by: str = ""
) -> FixProposal:
    """The per-loop ``accessor`` fix, with the class ``proxy``, whose instance ``name`` stands
    for the running loop's ``what`` and defines its type's special methods ``specials``."""
    made = accessor.proposal
    return FixProposal(
        Safety.UNSAFE,
        proxy_title(made.title, name, what, followed_by),
        lambda: accessor.build(per_loop_proxy(proxy, accessor.accessor, name, what, specials)),
        made.names,
    )
