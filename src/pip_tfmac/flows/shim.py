"""`pip-tfmac shim enable|disable|status`: pip-tfmac's plan for every pip start in one
environment (issue 16).

The hook is two entries in the target's site-packages and nothing else:

    pip_tfmac_shim.pth         one line (runners/shim_hook.PTH_LINE), read by site.py at every
                               start of that Python; imports the hook only in pip's CLI
    pip_tfmac_shim/__init__.py runners/shim_hook.py as it is, with the pip-tfmac command filled in
                               (its __pycache__ is written inside this folder, never next to it)

Why a .pth and not a patched `bin/pip` or pip's own files: both routes (the console scripts and
`python -m pip`, hence Jupyter's `%pip`) pass through site.py, and files outside pip's RECORD
survive `pip install -U pip` and `--force-reinstall pip`; a patched script or module would be
replaced by the next pip upgrade. Why a folder: a top-level module would make Python write
`site-packages/__pycache__/pip_tfmac_shim.*.pyc`, a trace next to other packages' files.

`disable` removes exactly those two entries, so the environment's files are byte-for-byte
what they were before `enable` (tests/integration/test_shim.py compares names and sha256).
`status` compares the files with what this pip-tfmac would write and starts the target's pip
once per route to see that the hook really runs there (a pip upgrade, a moved venv whose
scripts run another interpreter, a pip outside the supported range: all reported as stale).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from pip_tfmac.errors import EnvironmentError_
from pip_tfmac.runners import shim_env, shim_hook
from pip_tfmac.runners.interpreter import resolve_target_python

PTH_NAME = "pip_tfmac_shim.pth"
PACKAGE_NAME = "pip_tfmac_shim"
_COMMAND_LINE = re.compile(r"^TFMAC_COMMAND: list = \[\]  # shim: command$", re.M)


@dataclass(frozen=True)
class ShimStatus:
    """The hook in one environment. `state`: "on" (files current, pip hooked on every route
    checked), "off" (no trace), "stale" (a trace that does not work as enabled: see
    `problems`). `doctor` reports this value."""

    state: str
    python: str
    site_packages: str
    hooks: tuple[str, ...] = ()  # the routes that reach pip-tfmac: "bin/pip", "python -m pip"
    problems: tuple[str, ...] = ()
    pip_version: Optional[str] = None
    command: tuple[str, ...] = ()  # the pip-tfmac the hook runs when pip_tfmac is not importable
    files: tuple[str, ...] = ()
    changed: Optional[bool] = None  # enable/disable: did this call change a file
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "python": self.python,
            "site_packages": self.site_packages,
            "hooks": list(self.hooks),
            "problems": list(self.problems),
            "pip_version": self.pip_version,
            "command": list(self.command),
            "files": list(self.files),
            "changed": self.changed,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One line for doctor."""
        if self.state == "on":
            routes = ", ".join(self.hooks) or "bin/pip, python -m pip, %pip (files checked)"
            return "pip-tfmac shim on: installs through " + routes + " are planned by pip-tfmac"
        if self.state == "off":
            return "pip-tfmac shim off"
        return "pip-tfmac shim stale: " + "; ".join(self.problems)


def target_python(given: Optional[str], args: Sequence[str]) -> str:
    """The interpreter the shim acts on: `--python PATH` (a python or a venv folder), else
    $VIRTUAL_ENV, else ours, as an absolute path (it is shown and recorded)."""
    python = resolve_target_python(["--python", given] if given else list(args))
    return os.path.abspath(python)


def tfmac_command() -> list[str]:
    """How the hook starts this pip-tfmac when the target cannot import pip_tfmac: the console
    script next to our interpreter (what `pipx install pip-tfmac` makes), else `python -m`."""
    script = Path(sys.executable).with_name("pip-tfmac.exe" if os.name == "nt" else "pip-tfmac")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pip_tfmac"]


def hook_source(command: Sequence[str]) -> str:
    """The text of pip_tfmac_shim/__init__.py: shim_hook.py with the command line filled in."""
    source = Path(shim_hook.__file__).read_text(encoding="utf-8")
    filled, count = _COMMAND_LINE.subn(f"TFMAC_COMMAND: list = {list(command)!r}", source)
    assert count == 1, "shim_hook.py lost its TFMAC_COMMAND line"
    return filled


def _paths(facts: shim_env.EnvFacts) -> tuple[Path, Path, Path]:
    site = Path(facts.site_packages)
    return site / PTH_NAME, site / PACKAGE_NAME, site / PACKAGE_NAME / "__init__.py"


def _check_changeable(facts: shim_env.EnvFacts, *, adding: bool = True) -> None:
    """Refuse, before writing anything, an environment the user must not or cannot change.
    Removing a hook is allowed wherever the folder is writable, PEP 668 or not."""
    if adding and facts.externally_managed and not facts.is_venv:
        raise EnvironmentError_(
            f"{facts.python} is an externally managed Python (PEP 668): its packages belong to "
            "the system's package manager, and a hook there would change every pip on it.",
            "create a virtual environment (python3 -m venv .venv) and enable the shim there: "
            "pip-tfmac shim enable --python .venv",
        )
    site = Path(facts.site_packages)
    if not site.is_dir() or not os.access(site, os.W_OK | os.X_OK):
        raise EnvironmentError_(
            f"{site} is not writable: the hook cannot be added to or removed from {facts.python}.",
            "use an environment you own (a venv), or run as the user who owns it",
        )


def _write_atomic(dest: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: a Python starting meanwhile
    sees the old file or the new one, never half a line."""
    fd, tmp = tempfile.mkstemp(prefix=".pip-tfmac-shim-", suffix=".tmp", dir=str(dest.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # like any file pip writes, not mkstemp's 0600
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def enable(python: str) -> ShimStatus:
    """Install (or refresh) the hook; idempotent: the same pip-tfmac enabling twice changes
    nothing the second time. The module is written before the .pth, so no start of Python
    ever sees a .pth whose module is missing."""
    facts = shim_env.probe(python)
    _check_changeable(facts)
    pth, package, module = _paths(facts)
    command = tfmac_command()
    wanted = {module: hook_source(command), pth: shim_hook.PTH_LINE}
    changed = False
    try:
        if package.exists() and not package.is_dir():
            package.unlink()
        package.mkdir(exist_ok=True)
        for path in (module, pth):  # order matters: module first
            if _read(path) != wanted[path]:
                _write_atomic(path, wanted[path])
                changed = True
        cache = package / "__pycache__"
        if changed and cache.is_dir():
            shutil.rmtree(cache)
        if not cache.is_dir() or not any(cache.iterdir()):
            shim_env.compile_hook(facts.python, str(module))  # speed only: may fail
    except OSError as exc:
        raise EnvironmentError_(
            f"cannot write the hook into {facts.site_packages}: {exc}",
            "check the permissions of that folder",
        ) from exc
    after = status(python, facts=facts)
    notes = list(after.notes)
    if not facts.is_venv:
        notes.append(
            f"{facts.prefix} is not a virtual environment: every pip of that Python is hooked now"
        )
    return dataclasses.replace(after, changed=changed, notes=tuple(notes))


def disable(python: str) -> ShimStatus:
    """Remove every trace: the .pth first (pip stops being hooked at once), then the folder
    with its bytecode. Nothing else was ever written."""
    facts = shim_env.probe(python)
    pth, package, _module = _paths(facts)
    if not pth.exists() and not pth.is_symlink() and not package.exists():
        return ShimStatus(
            "off", python, facts.site_packages, pip_version=facts.pip_version, changed=False
        )
    _check_changeable(facts, adding=False)
    try:
        if pth.exists() or pth.is_symlink():
            pth.unlink()
        if package.is_dir() and not package.is_symlink():
            shutil.rmtree(package)
        elif package.exists() or package.is_symlink():
            package.unlink()
    except OSError as exc:
        raise EnvironmentError_(
            f"cannot remove the hook from {facts.site_packages}: {exc}",
            "check the permissions of that folder",
        ) from exc
    return ShimStatus(
        "off", python, facts.site_packages, pip_version=facts.pip_version, changed=True
    )


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _recorded_command(text: str) -> tuple[str, ...]:
    match = re.search(r"^TFMAC_COMMAND: list = (\[.*\])$", text, re.M)
    if not match:
        return ()
    import ast

    try:
        value = ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError):
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def pip_scripts(facts: shim_env.EnvFacts) -> list[Path]:
    folder = Path(facts.scripts)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if shim_hook.is_pip_script(p.name) and p.is_file())


def status(
    python: str, *, facts: Optional[shim_env.EnvFacts] = None, live: bool = True
) -> ShimStatus:
    """What the hook in that environment does now. `live=False` reads the files only (no pip
    start: for callers that must stay fast)."""
    facts = facts or shim_env.probe(python)
    pth, package, module = _paths(facts)
    pth_text, module_text = _read(pth), _read(module)
    files = tuple(str(p) for p in (pth, package) if p.exists())
    if pth_text is None and module_text is None and not package.exists():
        return ShimStatus("off", python, facts.site_packages, pip_version=facts.pip_version)
    problems: list[str] = []
    command = _recorded_command(module_text or "")
    if pth_text is None:
        problems.append(f"{pth} is missing: pip is not hooked (re-run pip-tfmac shim enable)")
    elif pth_text != shim_hook.PTH_LINE:
        problems.append(
            f"{pth} is not the line this pip-tfmac writes (re-run pip-tfmac shim enable)"
        )
    if module_text is None:
        problems.append(f"{module} is missing: pip is not hooked (re-run pip-tfmac shim enable)")
    elif module_text != hook_source(command or tfmac_command()):
        problems.append(
            f"{module} was written by another pip-tfmac version (re-run pip-tfmac shim enable)"
        )
    if command and not os.path.exists(command[0]):
        problems.append(f"the recorded pip-tfmac {command[0]} does not exist any more")
    hooks: list[str] = []
    if live and pth_text is not None and module_text is not None:
        hooks, live_problems = _live_routes(facts)
        problems += live_problems
    state = "stale" if problems else "on"
    return ShimStatus(
        state,
        python,
        facts.site_packages,
        tuple(hooks),
        tuple(problems),
        facts.pip_version,
        command,
        files,
    )


def _live_routes(facts: shim_env.EnvFacts) -> tuple[list[str], list[str]]:
    """Start the target's pip by each route and ask the hook whether it ran there."""
    hooks: list[str] = []
    problems: list[str] = []
    if facts.pip_version is None:
        return hooks, [f"no pip in {facts.prefix}: nothing to hook until pip is installed"]
    report = shim_env.ask_hook([facts.python, "-m", "pip", "--version"])
    if report.problem:
        problems.append(report.problem)
    if report.hooked:
        hooks.append("python -m pip")
        if facts.has_orig_argv:
            hooks.append("%pip (Jupyter, through python -m pip)")
    elif not facts.has_orig_argv:
        hooks.append("python -m pip (Python 3.9: checked when pip's __main__ loads)")
    else:
        problems.append(f"`{facts.python} -m pip` does not reach the hook")
    env_dir = os.path.realpath(os.path.dirname(facts.python))
    scripts = pip_scripts(facts)
    for script in scripts:
        shebang = shim_env.script_interpreter(str(script))
        rel = f"{Path(facts.scripts).name}/{script.name}"
        if shebang is not None and os.path.realpath(os.path.dirname(shebang)) != env_dir:
            problems.append(f"{rel} runs {shebang}, not this environment's Python: not hooked")
            continue
        hooks.append(rel)
    if scripts:
        first = shim_env.ask_hook([str(scripts[0]), "--version"])
        if not first.hooked:
            problems.append(f"{scripts[0]} does not reach the hook")
    return hooks, problems


def shim_status(python: str, *, live: bool = True) -> ShimStatus:
    """For `doctor` (wired by the lead): the same value as `pip-tfmac shim status`. `live`
    starts the environment's pip by each route (~0.2 s each); False reads the files only."""
    return status(python, live=live)
