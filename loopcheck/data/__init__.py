"""The catalogues as data (``*.toml``: primitives, the loop API, clients, execution contexts, and
the holder shapes the pre-filter and the analysis share), the generated rule index
(``rules.json``) and their loader (``catalogue``)."""

import os

DIRECTORY = os.path.dirname(os.path.abspath(__file__))


def data_text(name: str) -> str:
    """The text of the data file ``name``, read from this package's directory (as the results
    cache fingerprints it), without importlib.resources, whose import (tempfile, zipfile...) every
    run would pay."""
    with open(os.path.join(DIRECTORY, name), encoding="utf-8") as file:
        return file.read()
