"""The parse stage: the file as the interpreter reads it. A file Python would not compile is a
syntax error here, whatever LibCST would make of it (where a rule analyses the file: one that
holds nothing any rule looks at is parsed, not compiled); the ``ast`` tree it gives is what the
candidate stage scans and the limits measure."""

from __future__ import annotations

import ast
import sys
import warnings
from collections.abc import Callable

from loopcheck.engine.limits import TooComplex, interpreter_recursion_limit
from loopcheck.files import SourceError
from loopcheck.notebooks import is_notebook

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _syntax_error(
    message: str,
    line: int,
    column: int,
    target_version: tuple[int, int] | None = None,
    project_python: tuple[int, int] | None = None,
) -> SourceError:
    """The error, with the grammar it was read in: a file written for a newer Python than the
    one running loopcheck (or than ``target-version``) says so, and, where its project requires
    a newer Python than the one running loopcheck (``project_python``), what checks it."""
    if target_version is None:
        grammar = f"Python {PYTHON}, which runs loopcheck"
        if project_python is not None and project_python > sys.version_info[:2]:
            newer = f"{project_python[0]}.{project_python[1]}"
            grammar += f"; its project requires Python {newer} or later: run loopcheck on Python {newer} to check it"
    else:
        grammar = f"Python {target_version[0]}.{target_version[1]}, the target-version"
    return SourceError(f"syntax error at {line}:{column}: {message} (read as {grammar})")


def check_syntax(
    source: str,
    path: str,
    target_version: tuple[int, int] | None = None,
    *,
    compile_if: Callable[[ast.Module], bool] | None = None,
    project_python: tuple[int, int] | None = None,
) -> ast.Module:
    """Reject exactly what the running interpreter would not compile, and return the file as the
    ``ast`` module parses it (for the candidate stage and the limits). ``compile_if``: whether a
    parsed tree is compiled too (None: always); the pipeline compiles only the files a rule will
    analyse, as it parses only those its text test keeps (compiling is a third of the parse
    stage's time, and most files the text test keeps hold nothing a rule looks at).
    ``project_python``: the oldest Python the file's project allows, named in a syntax error
    when it is newer than the running one.

    ``compile()``, not only the parser: the symbol table and the code generator reject more (a
    duplicate argument name, ``nonlocal`` at module level, ``return`` outside a function). It
    runs with the recursion head-room of ``python file.py``: on 3.10 and 3.11 the compiler's
    depth limit follows the recursion limit, which the analysis thread raises. With
    ``target_version``, ``ast.parse(feature_version=...)`` also rejects newer grammar.

    The tree is parsed once and compiled from the tree (the parser's work is not done twice);
    where the tree is too deep to hand back to the compiler, the source is compiled instead.
    A notebook's cells may ``await`` at the top level, as IPython runs them.
    """
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if is_notebook(path) else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences and the like
        try:
            tree = ast.parse(source, filename=path, feature_version=target_version)
        except SyntaxError as error:
            raise _syntax_error(error.msg, error.lineno or 1, error.offset or 1, target_version, project_python) from None
        except (RecursionError, MemoryError):
            tree = None  # the compiler below says whether Python itself accepts it
        except ValueError as error:
            raise SourceError(f"cannot be compiled: {error}") from None
        if tree is not None and compile_if is not None and not compile_if(tree):
            return tree
        try:
            with interpreter_recursion_limit():
                try:
                    compile(source if tree is None else tree, path, "exec", flags, dont_inherit=True)
                except RecursionError:
                    if tree is None:
                        raise
                    compile(source, path, "exec", flags, dont_inherit=True)
        except SyntaxError as error:
            raise _syntax_error(error.msg, error.lineno or 1, error.offset or 1, None, project_python) from None
        except (RecursionError, MemoryError) as error:
            raise SourceError(
                f"cannot be compiled: too deeply nested for Python {PYTHON} "
                f"({type(error).__name__} in the compiler)"
            ) from None
        except ValueError as error:
            raise SourceError(f"cannot be compiled: {error}") from None
    if tree is None:
        raise TooComplex("too deeply nested to analyse")
    return tree
