"""Tools for working on loopcheck itself, run as ``python -m loopcheck.dev``:

- ``generate`` writes every file generated from the rule classes (``generate --check`` lists the
  stale ones);
- ``compare-findings`` checks that findings and fixes are what a base revision gives;
- ``new-rule`` writes a new rule's module and fixture from ``templates/``, then regenerates.

See CONTRIBUTING.md."""
