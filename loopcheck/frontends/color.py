"""``--color auto|always|never``: whether the text output is coloured."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

CHOICES = ("auto", "always", "never")


def use_color(choice: str, stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """``always`` and ``never`` decide; ``auto`` colours a terminal only, unless the
    environment says otherwise, in the order the Python 3.13 interpreter reads it: a non-empty
    ``NO_COLOR`` turns colour off (https://no-color.org), a non-empty ``FORCE_COLOR`` forces it
    (https://force-color.org), ``TERM=dumb`` turns it off."""
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed stream, or one that is not a file
        return False
