"""Hand a command to pip unchanged: same argv, same output, same exit code.

The command runs in the target interpreter's own pip when it has one, which is exactly what
`pip` means inside that environment; otherwise our pip is pointed at it with `--python`.
On POSIX we `exec`, so the exit code, signals and terminal are pip's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import IO, Any, Mapping, Optional, Sequence

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
    if os.name != "posix":
        return exec_pip(args)
    return run_to_completion(pip_argv(args))


# What the last interrupt-safe pip run left (None: none ran in this process). Read by the CLI
# when an interrupt lands after that run, so that its message says truthfully what changed.
LAST_RUN: list[str] = []


def run_to_completion(argv: Sequence[str], *, stdout_to_stderr: bool = False,
                      env: Optional[Mapping[str, str]] = None, output: Optional[IO[bytes]] = None) -> int:
    """Start pip (or the hooked pip) so that neither Ctrl-C nor SIGTERM can cut an install in half.

    The child starts with SIGINT and SIGTERM ignored (so a signal to the whole process group
    reaches it harmlessly), and ours only note the request: pip finishes, the environment is
    complete (as planned, or as before when pip itself failed), and we exit 130 (143 for
    SIGTERM) saying which. SIGKILL still stops both at once. `output`: a file that takes the
    child's stdout and stderr instead (the caller shows them or not).
    """
    import signal

    sys.stdout.flush()
    sys.stderr.flush()
    interrupted: list[int] = []

    def note(signum: int, _frame: object) -> None:
        if not interrupted:
            print("pip-tfmac: interrupted; letting pip finish so that nothing is left half-installed...",
                  file=sys.stderr, flush=True)
        interrupted.append(signum)

    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stdout: Any = output if output is not None else sys.stderr.fileno() if stdout_to_stderr else None
        proc = subprocess.Popen(list(argv), preexec_fn=child,  # noqa: PLW1509 (no threads here)
                                stdout=stdout, stderr=output, env=dict(env) if env is not None else None)
        code = proc.wait()
        LAST_RUN[:] = ["complete as planned" if code == 0 else "unchanged by the failed pip run"]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if interrupted:
        state = "complete" if code == 0 else "unchanged by the failed pip run"
        print(f"pip-tfmac: pip finished after the interrupt; the environment is {state}.",
              file=sys.stderr, flush=True)
        return 130 if interrupted[0] == signal.SIGINT else 143
    return code


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
