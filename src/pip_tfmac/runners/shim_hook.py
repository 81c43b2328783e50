"""The code that runs inside a hooked pip (issue 16): `pip-tfmac shim enable` copies this file,
as it is plus one filled-in line, into the target environment as `pip_tfmac_shim/__init__.py`.

Why a copy, not an import of pip_tfmac: pip-tfmac may live in another environment (pipx), and
may be uninstalled while the hook stays; the copy works with the target's standard library and
its own pip only, so the target's Python never depends on pip-tfmac being importable.

How pip is reached. Every way of starting pip's CLI ends in `pip._internal.cli.main.main` or
(newer pips, e.g. 26.3) `.cli`, looked up on that module after site.py has run: the `pip`/`pip3`
console scripts import it by name, `python -m pip` (and so Jupyter's `%pip`, which runs
`python -m pip` with the kernel's interpreter) imports it in `pip/__main__.py`. The one-line
`pip_tfmac_shim.pth` (see PTH_LINE) runs at every start of that Python, checks `sys.argv`
(a few string operations, no import) and imports this module only when the program looks like
pip. `boot()` then replaces those two functions on pip's module with a wrapper. Code that
imports pip as a library (`python -c`, IDEs, pip-tfmac's own pass-through) is left alone.

What the wrapper does: `install` and `download` go to pip-tfmac's CLI, everything else (and
everything when `PIP_TFMAC_SHIM=0`) is pip's own function, called with the same arguments, so
output and exit code are pip's. Before delegating, `_PIP_TFMAC_RUNNING=1` is set in os.environ
so that the pip that pip-tfmac runs (a child process, or pip in this process) is never hooked
again (see INNER_VAR for why that name). Any failure of the hook itself means plain pip: at worst one line on stderr.

Only the standard library and pip are imported here, and pip_tfmac only by name at run time
(`importlib`), because this file runs as a top-level module of another interpreter.
"""

from __future__ import annotations

import os
import sys

# Filled in by `pip-tfmac shim enable` (flows/shim.py): how to run the pip-tfmac that enabled
# the hook when pip_tfmac is not importable in the target environment.
TFMAC_COMMAND: list = []  # shim: command

ENV_VAR = "PIP_TFMAC_SHIM"  # the user's bypass: PIP_TFMAC_SHIM=0 pip install ...
# Set by pip-tfmac (cli.main) and by this hook before delegating: the pips started under it are
# plain pip. Not a PIP_* name: pip reads every PIP_* variable as an option, and `pip config
# list` would show it, so a child's output would differ from plain pip's.
INNER_VAR = "_PIP_TFMAC_RUNNING"
REPORT_VAR = "PIP_TFMAC_SHIM_REPORT"
# pip-tfmac's supported pip range (pyproject: pip>=24.0,<27; a unit test keeps them equal).
PIP_MIN = (24, 0)
PIP_BELOW = (27, 0)
HOOKED_COMMANDS = ("install", "download")
# The name of the attribute marking a wrapper, so that booting twice (a venv whose lib64 is a
# symlink to lib makes site.py read the .pth twice) wraps once.
MARK = "pip_tfmac_shim_original"

# The .pth line. site.py executes lines that start with "import"; this one costs a getattr and
# a few string operations at every start of the environment's Python and imports this module
# only when argv[0] is a script named pip* or the program was started with -m and mentions pip.
# exec() holds the try/except a .pth line cannot: a deleted module means plain Python, silently.
PTH_LINE = (
    "import os, sys; a = (getattr(sys, 'argv', None) or [''])[0]; "
    "(os.path.basename(a)[:3].lower() == 'pip' or (a == '-m' and 'pip' in "
    "' '.join(getattr(sys, 'orig_argv', ['pip'])))) and exec('try:\\n import pip_tfmac_shim\\n"
    "except Exception:\\n pass\\nelse:\\n pip_tfmac_shim.boot()')\n"
)


def bypassed() -> bool:
    return os.environ.get(ENV_VAR) == "0" or INNER_VAR in os.environ


def warn(message: str) -> None:
    sys.stderr.write(f"pip-tfmac shim: {message}\n")
    sys.stderr.flush()


def is_pip_script(argv0: str) -> bool:
    """`pip`, `pip3`, `pip3.12` (also `pip.exe`, `pip-script.py` on Windows); not pip-tfmac,
    pipx, pip-compile, which share the prefix the .pth line checks."""
    name = os.path.basename(argv0).lower()
    for suffix in (".exe", "-script.pyw", "-script.py"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if not name.startswith("pip"):
        return False
    parts = name[3:].split(".") if name[3:] else []
    return len(parts) <= 2 and all(p.isdigit() for p in parts)


def module_run(orig_argv: list[str]) -> str | None:
    """The module named by `-m` in the interpreter's own argv (`-m pip`, `-mpip`, `-Im pip`)."""
    flags_with_value = ("W", "X", "c", "m")
    i = 1
    while i < len(orig_argv):
        arg = orig_argv[i]
        if not arg.startswith("-") or arg == "-" or arg.startswith("--"):
            return None
        for j, flag in enumerate(arg[1:], start=1):
            if flag not in flags_with_value:
                continue
            value = arg[j + 1 :]
            if not value:
                i += 1
                value = orig_argv[i] if i < len(orig_argv) else ""
            if flag == "m":
                return value
            if flag == "c":
                return None
            break
        i += 1
    return None


def started_as_pip() -> str | None:
    """How this process runs pip's CLI: "script" (bin/pip*), "-m" (python -m pip), "-m?"
    (Python 3.9: -m of a module not known yet), or None (not pip)."""
    argv = getattr(sys, "argv", None) or [""]
    if argv[0] == "-m":
        orig = getattr(sys, "orig_argv", None)
        if orig is None:
            return "-m?"
        return "-m" if module_run(list(orig)) in ("pip", "pip.__main__") else None
    return "script" if is_pip_script(argv[0]) else None


def pip_version() -> tuple[int, ...]:
    import pip

    parts = []
    for piece in str(getattr(pip, "__version__", "0")).split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts)


def unsupported_pip() -> str | None:
    """Why this pip cannot be handed to pip-tfmac, or None."""
    try:
        version = pip_version()
    except Exception as exc:  # pip itself broken: pip will say so
        return f"cannot read pip's version ({type(exc).__name__})"
    if PIP_MIN <= version < PIP_BELOW:
        return None
    shown = ".".join(map(str, version))
    low, high = ".".join(map(str, PIP_MIN)), ".".join(map(str, PIP_BELOW))
    return (
        f"pip {shown} is outside the range pip-tfmac supports (>={low},<{high}); "
        "this is plain pip, without pip-tfmac's plan"
    )


def general_value_options() -> tuple[set[str], set[str]]:
    """(options that take a value, all options) of pip's general group, read from the pip that
    runs, so that `pip --log F install x` finds `install` with any pip version."""
    takes, every = set(), set()
    try:
        from pip._internal.cli import cmdoptions

        for make in cmdoptions.general_group["options"]:
            option = make()
            names = list(option._short_opts) + list(option._long_opts)
            every.update(names)
            if option.takes_value():
                takes.update(names)
    except Exception:  # pip moved its options: the common ones still work
        takes = {
            "--log",
            "--python",
            "--proxy",
            "--retries",
            "--timeout",
            "--cert",
            "--client-cert",
            "--cache-dir",
            "--exists-action",
            "--trusted-host",
            "--keyring-provider",
            "--use-feature",
            "--use-deprecated",
            "--resume-retries",
        }
        every = set(takes)
    return takes, every


def command_word(argv: list[str]) -> str | None:
    """pip's command in argv: the first word that is neither a general option nor its value
    (optparse rules: `--opt=value`, unique abbreviations of long options)."""
    if argv and not argv[0].startswith("-"):
        return argv[0]  # no general option before the command: nothing to look up
    takes, every = general_value_options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            return arg
        if arg == "--":
            return argv[i + 1] if i + 1 < len(argv) else None
        if arg.startswith("--") and "=" not in arg:
            exact = arg in every
            matches = [o for o in every if o.startswith(arg)] if not exact else [arg]
            if len(matches) == 1 and matches[0] in takes:
                i += 1
        elif not arg.startswith("--") and arg[:2] in takes and len(arg) == 2:
            i += 1
        i += 1
    return None


def tfmac_argv(argv: list[str]) -> list[str]:
    """pip-tfmac's argv for this pip's argv: aimed at this interpreter, which is what the
    hooked pip would change. `--python` is added only where pip-tfmac would otherwise pick
    another environment (an active $VIRTUAL_ENV that is not this one): pip then re-runs
    itself in the target, one interpreter start more, so the common case avoids it."""
    if any(a == "--python" or a.startswith("--python=") for a in argv):
        return list(argv)  # the user's own target, as pip would honor it
    active = os.environ.get("VIRTUAL_ENV")
    if active and os.path.abspath(active) != os.path.abspath(sys.prefix):
        return ["--python", sys.executable, *argv]
    return list(argv)


def delegate(argv: list[str]) -> int | None:
    """Run pip-tfmac for this command; None: it cannot run here, use plain pip."""
    os.environ[INNER_VAR] = "1"  # the pip that pip-tfmac runs is plain pip
    try:
        import importlib

        cli = importlib.import_module("pip_tfmac.cli")
    except Exception:
        cli = None
    if cli is not None:
        return int(cli.main(tfmac_argv(argv)))
    command = list(TFMAC_COMMAND)
    if not command or not os.path.exists(command[0]):
        where = os.path.dirname(os.path.abspath(__file__))
        warn(
            f"pip-tfmac is not installed any more ({command[0] if command else 'no command'}"
            f" is missing); this is plain pip. Remove the hook: pip-tfmac shim disable, or "
            f"delete {where} and {where}.pth"
        )
        return None
    import subprocess

    argv = list(argv)
    if not any(a == "--python" or a.startswith("--python=") for a in argv):
        argv = ["--python", sys.executable, *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    return subprocess.call([*command, *argv])


def wrap(original):  # type: ignore[no-untyped-def]
    """pip's `main`/`cli`, with install and download handed to pip-tfmac."""

    def hooked(args=None):  # type: ignore[no-untyped-def]
        if bypassed():
            return original(args)
        argv = list(sys.argv[1:] if args is None else args)
        if not any(a in HOOKED_COMMANDS for a in argv):
            return original(args)  # the common case, decided without reading pip's options
        try:
            command = command_word(argv)
            if command not in HOOKED_COMMANDS:
                return original(args)
            problem = unsupported_pip()
            if problem:
                warn(problem)
                return original(args)
        except Exception:
            return original(args)
        code = delegate(argv)
        return original(args) if code is None else code

    setattr(hooked, MARK, original)
    hooked.__doc__ = getattr(original, "__doc__", None)
    hooked.__name__ = getattr(original, "__name__", "main")
    return hooked


def install_wrappers() -> None:
    import pip._internal.cli.main as pip_main

    for name in ("main", "cli"):
        function = getattr(pip_main, name, None)
        if function is not None and not hasattr(function, MARK):
            setattr(pip_main, name, wrap(function))


class _WhenPipMainLoads:
    """Python 3.9 has no sys.orig_argv: at -m, wait for runpy to look up `pip.__main__`."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name == "pip.__main__":
            sys.meta_path.remove(cls)  # type: ignore[arg-type]
            try:
                install_wrappers()
            except Exception:
                pass
        return None


def boot() -> None:
    """Called by the .pth line in a process that looks like pip. Never raises."""
    try:
        if bypassed():
            return
        route = started_as_pip()
        if route is None:
            return
        if route == "-m?":
            sys.meta_path.insert(0, _WhenPipMainLoads)  # type: ignore[arg-type]
            return
        install_wrappers()
        if os.environ.get(REPORT_VAR):
            report(route)
    except Exception:
        if os.environ.get("PIP_TFMAC_SHIM_DEBUG"):
            raise


def report(route: str) -> None:
    """`shim status` asks a real pip start what the hook did (PIP_TFMAC_SHIM_REPORT=FILE):
    the route, the functions wrapped, pip's version and any reason the hook stays inactive."""
    import json

    import pip._internal.cli.main as pip_main

    wrapped = [n for n in ("main", "cli") if hasattr(getattr(pip_main, n, None), MARK)]
    data = {
        "route": route,
        "wrapped": wrapped,
        "pip": getattr(sys.modules.get("pip"), "__version__", None),
        "problem": unsupported_pip(),
        "executable": sys.executable,
        "hook": __file__,
    }
    with open(os.environ[REPORT_VAR], "w", encoding="utf-8") as handle:
        json.dump(data, handle)
