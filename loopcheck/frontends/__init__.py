"""The ways in: the ``loopcheck`` command (``entry`` → ``cli``; its progress line: ``progress``)
and the flake8 plugin. Each one reads its settings, hands files to ``loopcheck.run`` and its
findings to ``loopcheck.reporters``."""
