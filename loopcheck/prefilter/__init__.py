"""The pre-filter: which rules can report anything in a file, decided from its text and its
``ast`` before any LibCST work (``candidates``), from what each rule declares its findings start
from (``starts``: ``Start``, the catalogue groups and ``Where``, checked when a rule is declared)."""
