"""What `pip-tfmac shim` needs to know about a target interpreter, asked of that interpreter.

Two process starts live here (runners/ is the only place a process starts): a probe of the
target's paths (where site.py reads .pth files, whether it is a venv, PEP 668's marker, pip's
version), and a real start of the target's pip (`python -m pip --version`, `bin/pip --version`)
that asks the installed hook what it did, so that `shim status` reports what pip really does
rather than what the files suggest.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from pip_tfmac.errors import EnvironmentError_
from pip_tfmac.runners.shim_hook import ENV_VAR, INNER_VAR, REPORT_VAR

# Runs in the target with -I (no PYTHON* variables, no user site): the .pth files of its own
# site-packages still run, and the hook's gate rejects `-c`, so this start is never hooked.
_PROBE = r"""
import json, os, sys, sysconfig
paths = sysconfig.get_paths()
stdlib = paths.get("stdlib", "")
pip_version = None
try:
    from importlib.metadata import version
    pip_version = version("pip")
except Exception:
    pass
print(json.dumps({
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "purelib": paths["purelib"],
    "scripts": paths["scripts"],
    "stdlib": stdlib,
    "externally_managed": bool(stdlib)
        and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED")),
    "pip_version": pip_version,
    "python_version": "%d.%d.%d" % sys.version_info[:3],
    "has_orig_argv": hasattr(sys, "orig_argv"),
}))
"""


@dataclass(frozen=True)
class EnvFacts:
    """The target environment, as its own interpreter sees it."""

    python: str
    prefix: str
    base_prefix: str
    site_packages: str  # purelib: where site.py reads the hook's .pth
    scripts: str
    externally_managed: bool  # PEP 668 marker in the stdlib folder
    pip_version: Optional[str]
    python_version: str
    has_orig_argv: bool  # Python >= 3.10

    @property
    def is_venv(self) -> bool:
        return os.path.realpath(self.prefix) != os.path.realpath(self.base_prefix)


@dataclass(frozen=True)
class HookReport:
    """What one real start of pip said about the hook (None fields: it said nothing)."""

    argv: tuple[str, ...]
    returncode: int
    route: Optional[str]
    wrapped: tuple[str, ...]
    problem: Optional[str]

    @property
    def hooked(self) -> bool:
        return self.returncode == 0 and bool(self.wrapped)

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "returncode": self.returncode,
            "route": self.route,
            "wrapped": list(self.wrapped),
            "problem": self.problem,
        }


def _clean_env() -> dict[str, str]:
    """Our environment without the bypass (pip-tfmac marks its children as its own)."""
    env = dict(os.environ)
    env.pop(ENV_VAR, None)
    env.pop(INNER_VAR, None)
    env.pop(REPORT_VAR, None)
    return env


def probe(python: str, timeout: float = 60) -> EnvFacts:
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        data = None
    if not isinstance(data, dict):
        raise EnvironmentError_(
            f"cannot ask {python} where its site-packages are.",
            "check that the interpreter starts: run it with -c pass",
        )
    return EnvFacts(
        python=python,
        prefix=data["prefix"],
        base_prefix=data["base_prefix"],
        site_packages=data["purelib"],
        scripts=data["scripts"],
        externally_managed=bool(data["externally_managed"]),
        pip_version=data.get("pip_version"),
        python_version=data["python_version"],
        has_orig_argv=bool(data["has_orig_argv"]),
    )


def ask_hook(argv: Sequence[str], timeout: float = 60) -> HookReport:
    """Start pip (`argv` is e.g. [python, -m, pip, --version]) and read the hook's report."""
    fd, path = tempfile.mkstemp(prefix="pip-tfmac-shim-", suffix=".json")
    os.close(fd)
    try:
        env = _clean_env()
        env[REPORT_VAR] = path
        try:
            proc = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
            )
            code = proc.returncode
        except (OSError, subprocess.TimeoutExpired):
            code = -1
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            data = json.loads(text) if text.strip() else {}
        except (OSError, ValueError):
            data = {}
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return HookReport(
        tuple(argv), code, data.get("route"), tuple(data.get("wrapped") or ()), data.get("problem")
    )


def compile_hook(python: str, source: str, timeout: float = 60) -> bool:
    """Write the hook's bytecode with the target interpreter itself (its own magic number), as
    pip does for what it installs. Without it a machine with PYTHONDONTWRITEBYTECODE (or a
    read-only env) compiles the hook at every pip start: ~8 ms, measured, against ~0.3 ms."""
    code = "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)"
    try:
        proc = subprocess.run([python, "-I", "-c", code, source], capture_output=True,
                              timeout=timeout, env=_clean_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def script_interpreter(path: str) -> Optional[str]:
    """The interpreter a console script's shebang names (POSIX scripts; None if unreadable)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").strip().split()
    if not words:
        return None
    if os.path.basename(words[0]) == "sh" and len(words) == 1:
        return None  # pip's long-path `#!/bin/sh` + exec trampoline: not read here
    return words[0]
