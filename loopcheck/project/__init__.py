"""The project model: what each module of the checked project says about event loops, and which
loops reach which loop-bound objects across modules.

A stage of its own, between the run and the rules' output: the runner builds the model over the
checked files (and the modules of their projects, each summarised when first used), the reach
step follows calls from every place a loop starts running code to the objects it uses, and the
findings of the per-file rules get their evidence (the loops that reach their object, one call
chain each) from it. The model reads
files with ``ast`` only: it never imports or runs the code it describes.

- ``records``: the per-module summary, small, cached by content.
- ``roots``: the directories an import starts from, and each file's module name.
- ``selection``: each file's import lines and seed flags, from its text without parsing: the
  modules a loop may start in are summarised when the model is built, the others on first use.
- ``store``: the summaries cache, by content, with a stat index.
- ``summary``: one module's text to its summary.
- ``model``: the summaries of a project, names resolved across modules.
- ``reach``: from loop starts to objects, with the chain each step took.
- ``uses``: where a module global a per-loop fix would replace is used outside coroutines, and
  the importers the model could not read.
- ``evidence``: the reach of the objects of one file, as lines under its findings.
"""
