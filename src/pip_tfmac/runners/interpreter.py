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
from pip_tfmac.errors import BadInputError


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
            return given
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
