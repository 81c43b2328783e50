"""`pip-tfmac install -r pylock.toml`: check the lock against the target, then pip installs it.

Exit codes: pip's own for the install; 65 a malformed or unreadable lock; 67 a lock that does
not fit the target (no environment for it, a package without a file, on a Mac a missing or
broken tensorflow-metal pair), with the `pip-tfmac lock` command that writes one that fits.
"""

from __future__ import annotations

import os

from pip_tfmac.commands.render_verify import render as render_verify
from pip_tfmac.errors import BadInputError
from pip_tfmac.flows.lockinstall import check_locks, pylock_files
from pip_tfmac.flows.verify import verify
from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.runners.passthrough import run_to_completion
from pip_tfmac.runners.pip import PYLOCK_MIN_PIP, base_argv, reads_pylock
from pip_tfmac.runners.pipargs import parse_install, split_own

TF_NAMES = ("tensorflow", "tensorflow-macos")


def run_lock_install(args: list[str], index: int, locks: list[str]) -> int:
    _own, rest, _shorthand = split_own(list(args[index + 1 :]))
    _locks, without = pylock_files(list(args[index + 1 :]))
    parsed = parse_install([*args[:index], args[index], *without], index, "install")
    checked = check_locks(locks, parsed)
    if checked.target.cross:
        print(f"{', '.join(locks)} fits {checked.target.describe}; installing it there gives:")
        for name, version in sorted(checked.selected.items()):
            print(f"  {name}=={version}")
        print("(pip selects from a lock for the machine it runs on: run this install on that machine)")
        return 0
    # pip-tfmac's own pip (26.x, which reads PEP 751 locks), aimed at the target with --python:
    # the target's own pip may predate pylock support (CPython 3.11's ensurepip has pip 23).
    argv = base_argv(checked.python, tuple(args[:index])) + [args[index], *rest]
    ok, version = reads_pylock()
    if not ok:
        raise BadInputError(f"the lock fits {checked.target.describe}, but pip {version} (the pip pip-tfmac runs) "
                            f"cannot read pylock.toml files; nothing was installed.",
                            f"upgrade pip in pip-tfmac's environment to {PYLOCK_MIN_PIP} or later (Python 3.10+), "
                            "or install the lock with `uv pip install -r pylock.toml`")
    code = run_to_completion(argv) if os.name == "posix" else pip_runner.run(argv, capture=False).returncode
    has_tf = any(n in checked.selected for n in TF_NAMES)
    if code != 0 or not has_tf or parsed.dry_run or parsed.own.no_verify or parsed.target_dir:
        return code
    report = verify(checked.python, require_gpu=parsed.own.require_gpu, timeout=parsed.own.verify_timeout)
    print(render_verify(report))
    return int(report.exit_code)
