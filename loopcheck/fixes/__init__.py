"""Fix machinery: the builder that turns node changes into text edits (built only on demand),
statement edits, import placement, code templates, and the rewrites the rules share."""
