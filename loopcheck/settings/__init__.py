"""What the user decided: ``[tool.loopcheck]`` (``config``), ``--select``/``--ignore``
(``selection``) and ``# noqa`` comments (``suppression``)."""
