"""One run over files: finding and reading them (``sources``, ``files``; ``ignores``: what
.gitignore files leave out), the results cache (``cache``), checking or fixing each in one or
several processes (``runner``) and writing fixed files back (``writing``). Per file: read →
pre-filter (``loopcheck.prefilter``) → engine."""
