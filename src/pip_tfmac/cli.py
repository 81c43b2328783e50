"""Entry point: find the command, hand pip's commands to pip, dispatch our own.

Start-up time is a feature (`alias pip=pip-tfmac`): this module imports nothing heavy, and a
command that needs no rewrite is handed to pip by `exec` before anything else is loaded.
"""

from __future__ import annotations

import os
import sys
from pip_tfmac import __version__
from pip_tfmac.core.argv import split_command
from pip_tfmac.errors import ExitCode, TfmacError

TYPE_CHECKING = False  # `import typing` costs ~10 ms of start-up on every pass-through
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Optional

# Our own commands; every other command belongs to pip.
OWN_COMMANDS = {
    "plan": "pip_tfmac.commands.plan",
    "verify": "pip_tfmac.commands.verify",
    "doctor": "pip_tfmac.commands.doctor",
    "repair": "pip_tfmac.commands.doctor",
    "wheelhouse": "pip_tfmac.commands.wheelhouse",
    "check-pair": "pip_tfmac.commands.check_pair",
    "shim": "pip_tfmac.commands.shim",
    "lock": "pip_tfmac.commands.lock",
    "export": "pip_tfmac.commands.export",
}
# pip commands that pip-tfmac may rewrite; they fall back to pip when nothing needs rewriting.
REWRITTEN_COMMANDS = {
    "install": "pip_tfmac.commands.install",
    "download": "pip_tfmac.commands.download",
}

HELP = f"""\
pip-tfmac {__version__}: pip, plus TensorFlow that works on Apple Silicon.

Usage:
  pip-tfmac <pip command> [options]      every pip command, unchanged (list, freeze, ...)
  pip-tfmac install [options] REQS        pip install; rewrites the TensorFlow family for
                                          macOS arm64 and pairs tensorflow-metal
  pip-tfmac download [options] REQS       pip download; the same rewrite, builds a wheelhouse
  pip-tfmac plan [install options] REQS   print the plan (--json for scripts), install nothing
  pip-tfmac verify [--python PATH] [--json] [--require-gpu] [--timeout S]
                                          check that TensorFlow imports and uses the GPU
  pip-tfmac doctor [--python PATH] [--json] [--fix [--dry-run]]
                                          diagnose an environment and say the fix
                                          (`repair` = doctor --fix)
  pip-tfmac wheelhouse dir|list|info|verify|remove|purge|publish URL
                                          the wheels pip-tfmac built or fetched
  pip-tfmac lock -o FILE [--target-env PLATFORM@PYTHON ...] REQS
                                          a PEP 751 pylock.toml for one or more targets
  pip-tfmac install -r pylock.toml        check a lock against the target, then install it
  pip-tfmac export --uv [--target-env macos-arm64@X.Y ...] REQS
                                          the [tool.uv] settings for a GPU-paired uv lock
  pip-tfmac check-pair tensorflow==X tensorflow-metal==Y [--json]
                                          link-check a TF/metal pair from its wheels
  pip-tfmac shim enable|disable|status [--python PATH] [--json]
                                          route bin/pip, python -m pip and %pip of one
                                          environment through pip-tfmac (PIP_TFMAC_SHIM=0:
                                          plain pip for one command)

Options added to install/download/plan:
  --platform macos-arm64                  plan for Apple Silicon from any OS (with
                                          --python-version X.Y; --macos-version N, default 14)
  --explain                               print the plan before installing
  --strict                                make every correction an error
  --no-metal                              never add tensorflow-metal
  --allow-unverified-metal                accept a TF/metal pair nobody has tested
  --json                                  (plan, verify, doctor) one JSON object on stdout
  --no-verify / --require-gpu             skip the GPU check / fail when there is no GPU
  --offline                               install only from the wheelhouse, no network
  --tfmac-cache-dir DIR / --no-tfmac-cache
                                          wheelhouse location (PIP_TFMAC_CACHE_DIR) / use a
                                          temporary one

Run `pip-tfmac help` for pip's own help. Exit codes are listed in the README.
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Every pip that pip-tfmac starts is plain pip, also in an environment with the shim on
    # (runners/shim_hook.py, INNER_VAR): the shim hands pip's install to us, never back.
    os.environ["_PIP_TFMAC_RUNNING"] = "1"
    index, command = split_command(args)
    try:
        if command is None:
            general = args
            if any(a in ("--version", "-V") for a in general):
                here = os.path.dirname(os.path.abspath(__file__))
                py = "%d.%d" % sys.version_info[:2]
                print(f"pip-tfmac {__version__} from {here} (python {py})")
                return 0
            if not general or any(a in ("--help", "-h") for a in general):
                sys.stdout.write(HELP)
                return 0
            return _pass_through(args)
        module = OWN_COMMANDS.get(command)
        if command == "cache" and index is not None and args[index + 1 : index + 2] == ["verify"]:
            # pip's `cache` has no `verify`: `pip-tfmac cache verify` means our wheelhouse.
            module = OWN_COMMANDS["wheelhouse"]
        if module is None:
            module = REWRITTEN_COMMANDS.get(command)
        if module is None:
            return _pass_through(args)
        _terminate_like_interrupt()
        _sweep_leftovers()
        if command == "install" and index is not None:  # overlaps the imports (runners/early.py)
            from pip_tfmac.runners.early import start_for_install

            start_for_install(args, index)
        run = _load(module)
        code = run(args, index)
        _ignore_late_signals()
        return code
    except TfmacError as exc:
        if "--json" in args:
            import json

            try:
                print(json.dumps({"version": 1, "error": exc.to_json()}, indent=2))
            except BrokenPipeError:
                _closed_pipe()
        print(exc.render(), file=sys.stderr)
        return int(exc.exit_code)
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            return _internal(exc, args)
        # A full disk is the machine's state, not a bug (75): say where, and what to free.
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"pip-tfmac: error: no space left on the device{where}; nothing was installed.\n"
              "  hint: free some space, or point TMPDIR / --tfmac-cache-dir at a disk with room",
              file=sys.stderr)
        return int(ExitCode.CACHE)
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, _Terminated)
        word = "terminated" if terminated else "interrupted"
        code = 143 if terminated else int(ExitCode.INTERRUPTED)
        runner = sys.modules.get("pip_tfmac.runners.passthrough")
        last = getattr(runner, "LAST_RUN", None)
        if last:  # the install had run to its end before the signal: say what it left
            print(f"pip-tfmac: {word} after pip finished; the environment is {last[0]}.", file=sys.stderr)
        elif command == "install":
            print(f"pip-tfmac: {word} before any install started; the environment was not changed.",
                  file=sys.stderr)
        else:
            print(f"pip-tfmac: {word}; nothing further was changed.", file=sys.stderr)
        return code
    except Exception as exc:  # a bug: one clear line, the traceback only on request
        return _internal(exc, args)


_NO_SPACE = (28, 122 if sys.platform.startswith("linux") else 69)  # ENOSPC, EDQUOT


def _internal(exc: BaseException, args: list[str]) -> int:
    if os.environ.get("PIP_TFMAC_TRACEBACK") or "--verbose" in args:
        raise exc
    print(
        f"pip-tfmac: internal error: {type(exc).__name__}: {exc}\n"
        "  hint: this is a bug in pip-tfmac; rerun with PIP_TFMAC_TRACEBACK=1 and report the output",
        file=sys.stderr,
    )
    return int(ExitCode.INTERNAL)


def _closed_pipe() -> int:
    """The reader of our output went away (`pip-tfmac plan ... | head -1`): end quietly, as a
    Unix tool killed by SIGPIPE would (exit 141), with nothing on stderr. stdout is pointed at
    /dev/null so that the interpreter's final flush cannot raise the same error again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return int(ExitCode.CLOSED_PIPE)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where SIGINT would raise KeyboardInterrupt: the same clean stop (temp
    folders removed by their `finally`, one truthful message), exit 143 instead of 130."""


def _terminate_like_interrupt() -> None:
    import signal

    def handler(_signum: int, _frame: object) -> None:
        raise _Terminated()

    signal.signal(signal.SIGTERM, handler)


def _ignore_late_signals() -> None:
    """The command's work is done and rendered: a signal now has nothing left to stop, and
    dying of it during the interpreter's exit would hide the truthful exit code and message."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _sweep_leftovers() -> None:
    """Remove what killed runs of pip-tfmac left in the temp dir (runners/tempdirs.py)."""
    from pip_tfmac.runners.tempdirs import sweep_stale

    sweep_stale()


def _load(module: str) -> Callable[[list[str], Optional[int]], int]:
    import importlib

    return importlib.import_module(module).run  # type: ignore[no-any-return]


def _pass_through(args: list[str]) -> int:
    from pip_tfmac.runners.passthrough import exec_pip

    return exec_pip(args)


if __name__ == "__main__":
    raise SystemExit(main())
