"""The engine: one file's text → parse once (``engine``, guarded by ``guard`` and ``limits``,
form feeds handled by ``formfeed``) → the enabled rules (``rule``, ``registry``) over one shared
analysis (``context``) → findings and fixes (``diagnostics``, ``edits``).

The settings sit below the engine: it reads them (``# noqa``, the oldest target version) and
they import nothing of it. The rules and the fixes sit above it (they import the engine's rule,
context and diagnostics; the engine finds the rules through the registry when a file needs
them), and so do the run and the reporters. See tests/test_layout.py for the whole order."""
