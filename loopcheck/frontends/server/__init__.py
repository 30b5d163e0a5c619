"""``loopcheck server``: the language server, over standard input and output.

It needs the ``lsp`` extra (pygls and lsprotocol); without it the command says so in one line
and exits 2. The modules: ``folders`` (what the server knows of each workspace folder: its
settings, linters and project model; checking and fixing a document's text), ``positions``
(loopcheck's lines and columns as the client counts them), ``diagnostics`` (findings as LSP
diagnostics), ``noqa`` (the ``# noqa`` edit and the code under the cursor), ``actions`` (code
actions and their lazy edits) and ``server`` (the protocol: documents, debouncing, publishing).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_ERROR = 2


# What clients may pass: stdio is the only transport, and the one LSP clients name so.
ACCEPTED = ("--stdio",)
HELP = ("-h", "--help")
USAGE = """\
Usage: loopcheck server [--stdio]

  Serve loopcheck's findings, quick fixes and rule documentation to an editor, as a language
  server over standard input and output (needs the lsp extra: pip install 'loopcheck[lsp]').
"""


def main(arguments: Sequence[str]) -> None:
    """Serve one client over stdio until it says ``exit``."""
    if any(argument in HELP for argument in arguments):
        sys.stdout.write(USAGE)
        sys.exit(0)
    unexpected = [argument for argument in arguments if argument not in ACCEPTED]
    if unexpected:
        sys.stderr.write(f"loopcheck server: unexpected argument {unexpected[0]!r} (only --stdio)\n")
        sys.exit(EXIT_ERROR)
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        sys.stderr.write("loopcheck server: needs the lsp extra (pip install 'loopcheck[lsp]')\n")
        sys.exit(EXIT_ERROR)
    from loopcheck.frontends.server.server import build_server

    build_server().start_io()
