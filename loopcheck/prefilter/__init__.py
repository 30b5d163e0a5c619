"""The pre-filter: which rules can report anything in a file, decided from its text and its
``ast`` before any LibCST work (``candidates``)."""
