"""The catalogues as data (``*.toml``: primitives, the loop API, clients, execution contexts, and
the holder shapes the pre-filter and the analysis share), the generated rule index
(``rules.json``) and their loader (``catalogue``)."""
