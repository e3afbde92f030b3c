"""The command-line tools (``tools/*.py`` and ``mmcascade train|test|zoo|analyze`` run these):
each module has a ``main(argv)``; :mod:`.common` holds what train and test share.

A tool that stops on an error the user can act on (a file that is missing or of the wrong kind, a
bad option or config value, a missing extra) ends with one line on stderr naming the file or the
option and the cause, and exit status 1, instead of a traceback; ``MMCASCADE_DEBUG=1`` shows the
traceback too. Other errors (bugs) keep their traceback.
"""

import os
import sys
import traceback
from types import TracebackType

USER_ERRORS = (OSError, ValueError, TypeError, KeyError, RuntimeError, ImportError)
"""What a tool's refusals raise (``CheckpointError`` and ``DatasetError`` are ``RuntimeError`` /
``ValueError``, ``MissingDeployPackageError`` an ``ImportError``...)."""


def report_error(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook`` of the tools: a user error as ``error: <message>`` on stderr (the
    traceback as well with ``MMCASCADE_DEBUG=1``), anything else as Python prints it."""
    if not issubclass(kind, USER_ERRORS) or os.environ.get("MMCASCADE_DEBUG"):
        traceback.print_exception(kind, exc, tb)
        return
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    print(f"error: {message}", file=sys.stderr)
    print("(MMCASCADE_DEBUG=1 shows where it came from)", file=sys.stderr)


sys.excepthook = report_error
