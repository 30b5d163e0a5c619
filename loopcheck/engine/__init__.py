"""The engine: one file's text → parse once (``engine``, guarded by ``guard`` and ``limits``,
form feeds handled by ``formfeed``) → the enabled rules (``rule``, ``registry``) over one shared
analysis (``context``) → findings and fixes (``diagnostics``, ``edits``)."""
