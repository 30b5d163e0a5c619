"""The catalogues as data (``*.toml``: primitives, loop API, clients, execution contexts), the
generated rule index (``rules.json``) and their loader (``catalogue``)."""
