"""Rules about the ``# noqa`` comments themselves (``scope = "noqa"``, LCK9xx): judged from each
file's comments and the findings of the other rules before suppression, in the per-file stage
(``Linter.noqa_results``). Off by default (``opt_in``)."""
