"""What the user decided: ``[tool.loopcheck]`` (``config``), ``--select``/``--ignore``
(``selection``) and ``# noqa`` comments (``suppression``).

Below the engine and the run: both read the settings, and the settings import neither (only
``loopcheck.files`` to read configuration files; the engine's types only for annotations)."""
