"""The project model: what each module of the checked project says about event loops, and which
loops reach which loop-bound objects across modules.

A stage of its own, between the run and the rules' output: the runner builds the model over the
checked files (and the project modules they import), the reach step follows calls from every place
a loop starts running code to the objects it uses, and the findings of the per-file rules get
their evidence (the loops that reach their object, one call chain each) from it. The model reads
files with ``ast`` only: it never imports or runs the code it describes.

- ``records``: the per-module summary, small and picklable (cached by content).
- ``roots``: the directories an import starts from, and each file's module name.
- ``selection``: which modules are summarised: those on an import path from a loop to an object,
  found from the files' text without parsing.
- ``store``: the summaries cache, by content, with a stat index.
- ``summary``: one module's text to its summary.
- ``model``: the summaries of a project, names resolved across modules.
- ``reach``: from loop starts to objects, with the chain each step took.
- ``evidence``: the reach of the objects of one file, as lines under its findings.
"""
