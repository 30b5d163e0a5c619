"""Project rules (``scope = "project"``): findings only the project model can make, because the
loop and the object it binds are in different modules. Each rule reads the model's summaries and
the loop reach once per run (``check_project``), not one file's tree; its examples are small
projects (module path -> source), run through the model by tests/test_project_rules.py.

``base`` holds the base class, the example form and what the rules share (naming loops, the
evidence of a chain); ``checking`` is the one call the run
makes. The codes are in the families of the objects they are about (LCK1xx for a Task kept in a
global, LCK2xx for loops, LCK3xx for clients and other objects kept per process, LCK4xx for loop
helpers).
"""

from loopcheck.rules.project.checking import check_project

__all__ = ["check_project"]
