"""`install -r pylock.toml`: a PEP 751 lock installed as pip installs it, after checking that it
fits the target (an environment for it, a file for every package, on a Mac its TensorFlow and
tensorflow-metal pair: core/lockfit.py). A lock that does not fit stops here (exit 67, the
`pip-tfmac lock` command that writes one that does); a malformed lock is exit 65.

pip selects from a lock for the machine it runs on, so for a cross target (--platform,
--python-version) the lock is checked and what it installs there is listed, nothing more.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from pip_tfmac.core.lockfit import lock_problems, marker_env
from pip_tfmac.core.pylock import LockView, read_lock
from pip_tfmac.core.target import Target
from pip_tfmac.errors import BadInputError
from pip_tfmac.flows.resolution import raise_problems
from pip_tfmac.flows.target import determine_target
from pip_tfmac.knowledge import load
from pip_tfmac.runners.pipargs import InstallArgs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by tox on 3.9/3.10
    import tomli as tomllib

_PYLOCK = re.compile(r"^pylock\.([^.]+\.)?toml$")
_REQ = ("-r", "--requirement", "--requirements")


def is_pylock(path: str) -> bool:
    """pylock.toml or pylock.NAME.toml (PEP 751's file names), with pip's `[extras]` suffix."""
    return bool(_PYLOCK.match(os.path.basename(path.split("[", 1)[0])))


def pylock_files(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the -r values that are locks, the tokens without them)."""
    locks: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, eq, value = token.partition("=")
        if token in _REQ and i + 1 < len(tokens) and is_pylock(tokens[i + 1]):
            locks.append(tokens[i + 1])
            i += 2
            continue
        if name in _REQ[1:] and eq and is_pylock(value):
            locks.append(value)
        elif token.startswith("-r") and len(token) > 2 and is_pylock(token[2:]):
            locks.append(token[2:])
        else:
            rest.append(token)
        i += 1
    return locks, rest


def read_lock_file(path: str) -> LockView:
    lock_path = path.split("[", 1)[0]
    try:
        with open(lock_path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise BadInputError(f"cannot read the lock {lock_path}: {exc.strerror or exc}.",
                            "check the path (pip-tfmac lock -o FILE writes one)") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{lock_path} is not a valid pylock.toml: not TOML ({exc}).",
                            "write it again with `pip-tfmac lock -o FILE`") from None
    return read_lock(data, lock_path)


@dataclass(frozen=True)
class CheckedLock:
    target: Target
    python: str
    selected: dict[str, str]  # name -> version the target gets from the lock(s)


def check_locks(paths: Sequence[str], args: InstallArgs) -> CheckedLock:
    """Read every lock and check it against the target; raises before anything changes."""
    knowledge = load()
    views = [(p.split("[", 1)[0], read_lock_file(p)) for p in paths]
    target, python = determine_target(args, knowledge)
    selected: dict[str, str] = {}
    for lock_path, view in views:
        raise_problems(lock_problems(view, target, knowledge, lock_path))
        selected.update(view.select(marker_env(target)))
    return CheckedLock(target, python, selected)
