"""`--backend uv`: refresh uv's cache of the index pages a request needs while pip-tfmac starts.

Why: a warm `uv pip install` is mostly waiting on the index (uv revalidates the page of every
project of the set, ~0.4 s for TensorFlow's 40) plus linking files; pip-tfmac must first import
pip's option parser (~0.2 s CPU: it is a drop-in for pip's options and configuration), probe the
target and plan, then resolve with `uv pip compile` and install. Started before all that, one
`uv pip compile` of the request as typed runs on the other core while pip-tfmac starts; the
plan's own compile then reads uv's cache (`--offline`, pages seconds old) and the install too
(runners/uv.py). When the prefetch failed, or the plan needs pages it did not read, the plan's
compile asks the index as before: the prefetch only ever saves time.

It runs only when its request is certainly the one the plan resolves against: the default index
(no pip configuration file, no PIP_* variable that sets an index or the network, no index option
in the command), a local target (`--python` or $VIRTUAL_ENV; no cross-target option), and a
command line of plain requirement specifiers and output flags (no requirement file, URL or path:
those are read by pip's parser first). Anything else: no prefetch, nothing changes.
"""

from __future__ import annotations

import atexit
import os
import re
import subprocess
import sys
from typing import Optional, Sequence

# Flags that change neither which index is asked nor what is resolved.
_HARMLESS = {"-q", "-qq", "-qqq", "--quiet", "-v", "-vv", "--verbose", "-U", "--upgrade", "--no-input",
             "--disable-pip-version-check", "--no-color", "--no-warn-script-location", "--no-compile",
             "--compile", "--force-reinstall"}
# PIP_* variables that change neither the index nor the network.
_HARMLESS_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_INPUT", "PIP_QUIET", "PIP_NO_COLOR", "PIP_PROGRESS_BAR",
                 "PIP_ROOT_USER_ACTION", "PIP_NO_WARN_SCRIPT_LOCATION", "PIP_REQUIRE_VIRTUALENV", "PIP_VERBOSE"}
_SPEC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]*\])?((~=|==|!=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+)?"
                   r"(,(~=|==|!=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+)*$")

_running: dict[str, "subprocess.Popen[bytes]"] = {}


def pip_config_files(prefix: str = sys.prefix) -> list[str]:
    """Where pip reads configuration files (its site, user and global locations)."""
    home = os.path.expanduser("~")
    xdg_config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    xdg_dirs = (os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
    out = [os.path.join(d, "pip", "pip.conf") for d in xdg_dirs if d]
    out += ["/etc/pip.conf", os.path.join(home, ".pip", "pip.conf"), os.path.join(xdg_config, "pip", "pip.conf"),
            os.path.join(home, "Library", "Application Support", "pip", "pip.conf"),
            os.path.join(prefix, "pip.conf")]
    if os.name == "nt":  # pragma: no cover - not a platform this path runs on
        out += [os.path.join(os.environ.get("APPDATA", ""), "pip", "pip.ini"),
                os.path.join(prefix, "pip.ini")]
    return out


def default_index_only(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> bool:
    """True when pip would use its default index and network settings: no configuration file
    (or PIP_CONFIG_FILE=os.devnull, which makes pip skip them all) and no PIP_* setting."""
    for key, value in environ.items():
        if key.startswith("PIP_") and not key.startswith("PIP_TFMAC_") and key not in _HARMLESS_ENV:
            if not (key == "PIP_CONFIG_FILE" and value == os.devnull):
                return False
    if environ.get("PIP_CONFIG_FILE") == os.devnull:
        return True
    return not any(os.path.isfile(path) for path in pip_config_files())


def request_specs(general: Sequence[str], rest: Sequence[str]) -> Optional[list[str]]:
    """The requirement specifiers of a command line that is nothing but those, harmless flags
    and `--python PATH`; None for anything else."""
    i = 0
    while i < len(general):
        token = general[i]
        if token == "--python" and i + 1 < len(general):
            i += 2
        elif token.startswith("--python=") or token in _HARMLESS:
            i += 1
        else:
            return None
    specs = []
    for token in rest:
        if token in _HARMLESS:
            continue
        if not _SPEC.match(token):
            return None
        specs.append(token)
    return specs or None


def start(uv: str, python: str, specs: Sequence[str]) -> None:
    """`uv pip compile` of `specs` for `python`, in the background (output discarded)."""
    if python in _running:
        return
    try:
        proc = subprocess.Popen([uv, "pip", "compile", "--quiet", "--python", python, "-o", os.devnull, "-"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return
    try:
        assert proc.stdin is not None
        proc.stdin.write(("\n".join(specs) + "\n").encode())
        proc.stdin.close()
    except OSError:
        pass
    if not _running:
        atexit.register(stop)
    _running[python] = proc


def warmed(python: str) -> bool:
    """True when a prefetch for `python` ran and succeeded (waits for it to end)."""
    proc = _running.get(python)
    if proc is None:
        return False
    try:
        return proc.wait(timeout=120) == 0
    except subprocess.TimeoutExpired:
        proc.kill()
        return False


def stop() -> None:
    """End a prefetch nobody waited for (the command ended before its resolve)."""
    for proc in _running.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _running.clear()


def start_early(general: Sequence[str], rest: Sequence[str], *, backend: str, offline: bool, cross: bool) -> None:
    """The prefetch of the module doc, when every condition there holds; else nothing."""
    if backend != "uv" or offline or cross:
        return
    specs = request_specs(general, rest)
    if specs is None or not default_index_only():
        return
    from pip_tfmac.errors import TfmacError
    from pip_tfmac.runners.interpreter import resolve_target_python
    from pip_tfmac.runners.uv_find import candidates, find

    try:
        python, uv = resolve_target_python(general), find(candidates())
    except TfmacError:
        return  # the command says what is wrong, in its own words, later
    start(uv, python, specs)
