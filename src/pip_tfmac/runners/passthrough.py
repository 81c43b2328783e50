"""Hand a command to pip unchanged: same argv, same output, same exit code.

The command runs in the target interpreter's own pip when it has one, which is exactly what
`pip` means inside that environment; otherwise our pip is pointed at it with `--python`.
On POSIX we `exec`, so the exit code, signals and terminal are pip's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Sequence

from pip_tfmac.runners.interpreter import python_option, resolve_target_python, same_interpreter

# Runs pip's console entry point with argv[0] = "pip", so usage and help text read as they
# do for the `pip` command (pip derives its program name from argv[0]).
# `python -c` puts the current directory first on sys.path, where the `pip` console script
# puts its own bin folder: drop it, or `pip list` would also list a *.dist-info in the cwd.
_BOOT = (
    "import sys\n"
    "if sys.path and sys.path[0] == '':\n"
    "    del sys.path[0]\n"
    "sys.argv[0] = 'pip'\n"
    "from pip._internal.cli.main import main\n"
    "sys.exit(main())\n"
)


def pip_argv(args: Sequence[str]) -> list[str]:
    if python_option(args):
        return [sys.executable, "-c", _BOOT, *args]
    target = resolve_target_python(args)
    if same_interpreter(target, sys.executable) or _has_pip(target):
        return [target, "-c", _BOOT, *args]
    return [sys.executable, "-c", _BOOT, "--python", target, *args]


def _has_pip(python: str) -> bool:
    env = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    for libdir in ("lib", "Lib", "lib64"):
        root = os.path.join(env, libdir)
        if not os.path.isdir(root):
            continue
        for entry in os.listdir(root):
            candidates = [os.path.join(root, entry, "site-packages", "pip"), os.path.join(root, "site-packages", "pip")]
            if any(os.path.isdir(c) for c in candidates):
                return True
    return False


def run_pip_uninterrupted(args: Sequence[str]) -> int:
    """Run pip for a command that writes the environment, so that Ctrl-C cannot cut it in half.

    pip does not roll back the packages an interrupted install already wrote. So pip starts
    with SIGINT ignored (Python then installs no KeyboardInterrupt handler in it), and our own
    SIGINT handler only notes the request: pip finishes, and we exit 130 with the environment
    complete. SIGTERM and SIGKILL still stop both at once.
    """
    import signal

    if os.name != "posix":
        return exec_pip(args)
    argv = pip_argv(args)
    sys.stdout.flush()
    sys.stderr.flush()
    interrupted: list[bool] = []

    def note(_signum: int, _frame: object) -> None:
        if not interrupted:
            print("pip-tfmac: interrupted; letting pip finish so that nothing is left half-installed...",
                  file=sys.stderr, flush=True)
        interrupted.append(True)

    previous = signal.signal(signal.SIGINT, note)
    try:
        proc = subprocess.Popen(argv, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # noqa: PLW1509 (no threads here)
        code = proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return 130 if interrupted else code


def exec_pip(args: Sequence[str]) -> int:
    if not python_option(args) and same_interpreter(resolve_target_python(args), sys.executable):
        return _pip_here(args)
    argv = pip_argv(args)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(argv[0], argv)
    return subprocess.call(argv)


def _pip_here(args: Sequence[str]) -> int:
    """The target is this interpreter: run pip in this process, as its console script does
    (saves a second interpreter start on every `alias pip=pip-tfmac` call)."""
    sys.argv = ["pip", *args]
    from pip._internal.cli.main import main

    return main(list(args))
