"""Which Python a command acts on: `--python PATH`, else $VIRTUAL_ENV, else our own.

The same rule pip-tfmac documents for every command, so `pip-tfmac list` in an activated venv
lists that venv even when pip-tfmac itself lives elsewhere (pipx).
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Optional, Sequence

from pip_tfmac.core.argv import split_command
from pip_tfmac.errors import BadInputError, UnsupportedTargetError


def python_option(args: Sequence[str]) -> Optional[str]:
    """The value of pip's general `--python` option, if given (before the command word: pip
    reads it only there, and what a later `--python` means is up to the target's pip)."""
    index, _ = split_command(args)
    if index is not None:
        args = args[:index]
    for i, arg in enumerate(args):
        if arg == "--python" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--python="):
            return arg.split("=", 1)[1]
    return None


def venv_python(venv: str) -> Optional[str]:
    for rel in ("bin/python", "Scripts/python.exe"):
        path = os.path.join(venv, rel)
        if os.path.exists(path):
            return path
    return None


def resolve_target_python(args: Sequence[str]) -> str:
    given = python_option(args)
    if given:
        if os.path.isdir(given):
            found = venv_python(given)
            if found:
                return found
        elif os.path.isfile(given) and os.access(given, os.X_OK):
            # A relative path names a file here; run as given (no slash) it would be looked
            # up on $PATH instead and not be found.
            return given if os.sep in given else os.path.abspath(given)
        else:
            found_on_path = shutil.which(given)
            if found_on_path:
                return found_on_path
        raise BadInputError(
            f"--python {given!r}: no Python interpreter there.",
            "give the path of a python executable or of a virtual environment",
        )
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        found = venv_python(venv)
        if found:
            return found
    return sys.executable


def same_interpreter(a: str, b: str) -> bool:
    # A venv's python is a symlink to the base interpreter, so compare the env (prefix) it
    # belongs to, not the resolved binary.
    return os.path.abspath(os.path.dirname(a)) == os.path.abspath(os.path.dirname(b))


def target_pip_version(python: str) -> Optional[str]:
    """The version of the pip installed in `python`'s environment (read from its dist-info, no
    subprocess), or None when it has none."""
    import glob

    env = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    for pattern in ("lib/python*/site-packages/pip-*.dist-info", "Lib/site-packages/pip-*.dist-info",
                    "lib64/python*/site-packages/pip-*.dist-info"):
        for found in sorted(glob.glob(os.path.join(env, pattern))):
            return os.path.basename(found)[len("pip-"):-len(".dist-info")]
    return None


# The oldest target Python the probes run in (importlib.metadata, `from __future__ import
# annotations`); the same floor as pip-tfmac's own requires-python.
MIN_TARGET = (3, 9)
_ASK_VERSION = "import sys; print('pip-tfmac-python %d.%d' % tuple(sys.version_info[:2]))"


def check_interpreter(python: str) -> None:
    """Say in one line why `python` cannot host the probes: it is no Python, or too old.

    Called only after a probe failed (no cost on the normal path). Why: the probe's own failure
    is a traceback from inside the target (an ImportError on 3.6, a JSONDecodeError for a script
    that prints text), which must never reach the user. Returns when nothing is wrong with the
    interpreter itself (the caller then reports the probe's failure).
    """
    import subprocess

    try:
        # No -I: Python 2 would reject it, and that is a Python too old, not a non-Python.
        proc = subprocess.run([python, "-E", "-s", "-c", _ASK_VERSION], capture_output=True,
                              text=True, errors="replace", timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInputError(f"cannot run the target interpreter {python}: {exc}",
                            "check --python / $VIRTUAL_ENV points at a working Python") from None
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 2 or words[0] != "pip-tfmac-python":
        said = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
        raise BadInputError(
            f"{python} is not a Python interpreter"
            + (f" (it answered {said[0][:80]!r})" if said else "") + ".",
            f"give --python the path of a Python {MIN_TARGET[0]}.{MIN_TARGET[1]} or later executable, "
            "or of a virtual environment",
        )
    major, minor = (int(p) for p in words[1].split("."))
    if (major, minor) < MIN_TARGET:
        raise UnsupportedTargetError(
            f"{python} is Python {major}.{minor}; pip-tfmac needs Python "
            f"{MIN_TARGET[0]}.{MIN_TARGET[1]} or later in the target.",
            "create the environment with a newer Python (python3.11 -m venv .venv) and point --python at it",
        )


def last_line(text: str) -> str:
    """The one line of a child's stderr worth showing: its last (the error), never a traceback."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"
