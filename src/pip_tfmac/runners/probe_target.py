"""Ask a real interpreter what it is: OS, architecture, Python, macOS, Rosetta, marker values,
the distributions it has and where it installs (one short subprocess, ~30-100 ms), once per run.

One probe serves every question a command asks of its target (what it is: `probe`; can it be
changed: runners/probe_writable.py), and its answer is kept between runs (runners/probe_cache.py)
while the interpreter, its pyvenv.cfg and the folders of its sys.path are unchanged. `start` runs
the probe in the background (a planned install starts it before pip's option parser is imported:
the two overlap on a second core); `facts` waits for it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from pip_tfmac.core.target import Target, target_from_facts
from pip_tfmac.errors import BadInputError
from pip_tfmac.runners import probe_cache
from pip_tfmac.runners.interpreter import check_interpreter, last_line

# Runs inside the target interpreter, stdlib only (the target may not have packaging). The
# folders of sys.path are stat-ed before the distributions are read: the cache keeps an answer
# only when they have not moved since.
_PROBE = r"""
import json, os, platform, site, sys, sysconfig, subprocess
def stat(p):
    try:
        s = os.stat(p)
    except OSError:
        return None
    return [s.st_mtime_ns, s.st_ctime_ns, s.st_size, s.st_ino]
folders = sorted({os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)})
stats = {p: stat(p) for p in folders}
from importlib import metadata
installed = {}
for dist in metadata.distributions():
    name = (dist.metadata["Name"] or "").lower().replace("_", "-").replace(".", "-")
    if name and name not in installed:
        installed[name] = dist.version
translated = False
if sys.platform == "darwin":
    try:
        out = subprocess.run(["sysctl", "-n", "sysctl.proc_translated"], capture_output=True, text=True, timeout=5)
        translated = out.stdout.strip() == "1"
    except Exception:
        pass
iver = sys.implementation.version
impl_version = "%d.%d.%d" % iver[:3]
if iver.releaselevel != "final":
    impl_version += iver.releaselevel[0] + str(iver.serial)
print(json.dumps({
    "system": platform.system(),
    "machine": platform.machine(),
    "python_full": platform.python_version(),
    "mac_ver": platform.mac_ver()[0],
    "translated": translated,
    "executable": sys.executable,
    "installed": installed,
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": impl_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "scheme": {
        "prefix": sys.prefix,
        "in_venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
        "stdlib": sysconfig.get_path("stdlib"),
        "purelib": sysconfig.get_path("purelib"),
        "platlib": sysconfig.get_path("platlib"),
        "user_site": site.getusersitepackages(),
    },
    "folders": stats,
}))
"""
_VERSION = "2"  # bump when _PROBE's answer changes
_KIND = "interpreter"


@dataclass
class _Pending:
    proc: "Optional[subprocess.Popen[str]]"
    before: dict[str, Any]
    folder: Optional[str]
    error: Optional[BaseException] = None


_answers: dict[str, dict[str, Any]] = {}
_pending: dict[str, _Pending] = {}
_cache = {"folder": None, "set": False}


def use_cache(cache_dir: Optional[str] = None, no_cache: bool = False) -> None:
    """Where answers are kept between runs (the command's --tfmac-cache-dir/--no-tfmac-cache)."""
    _cache["folder"] = probe_cache.cache_folder(cache_dir, no_cache)
    _cache["set"] = True


def cache_folder() -> Optional[str]:
    """The folder answers are kept in for this run (None: --no-tfmac-cache)."""
    return _folder()


def _folder() -> Optional[str]:
    if not _cache["set"]:
        use_cache()
    return _cache["folder"]


def _key(python: str) -> str:
    return os.path.abspath(python)


def start(python: str) -> None:
    """Begin probing `python` in the background (nothing when its answer is known or cached)."""
    key = _key(python)
    if key in _answers or key in _pending:
        return
    folder = _folder()
    cached = probe_cache.load(folder, _KIND, key, _VERSION)
    if cached is not None:
        _answers[key] = cached
        return
    before = probe_cache.stamp(probe_cache.interpreter_paths(python))
    try:
        proc = subprocess.Popen([python, "-I", "-c", _PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, errors="replace")
    except OSError as exc:
        _pending[key] = _Pending(None, before, folder, exc)
        return
    _pending[key] = _Pending(proc, before, folder)


def facts(python: str) -> dict[str, Any]:
    """The probe's answer for `python` (started now if `start` was not called); raises
    BadInputError, in one line, when the interpreter cannot answer."""
    key = _key(python)
    if key in _answers:
        return _answers[key]
    start(python)
    if key in _answers:
        return _answers[key]
    pending = _pending.pop(key)
    if pending.proc is None:
        raise BadInputError(f"cannot run the target interpreter {python}: {pending.error}",
                            "check --python / $VIRTUAL_ENV points at a working Python") from None
    try:
        stdout, stderr = pending.proc.communicate(timeout=60)
    except subprocess.TimeoutExpired as exc:
        pending.proc.kill()
        pending.proc.communicate()
        raise BadInputError(f"cannot run the target interpreter {python}: {exc}",
                            "check --python / $VIRTUAL_ENV points at a working Python") from None
    try:
        data = json.loads(stdout) if pending.proc.returncode == 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        check_interpreter(python)  # no Python, or too old: one line that says so
        raise BadInputError(
            f"the target interpreter {python} failed to start: {last_line(stderr)}",
            "check --python / $VIRTUAL_ENV points at a working Python 3.9 or later",
        )
    folders = data.get("folders") if isinstance(data.get("folders"), dict) else {}
    before = {"paths": {**pending.before["paths"], **folders}, "host": pending.before["host"]}
    probe_cache.save(pending.folder, _KIND, key, _VERSION,
                     [*probe_cache.interpreter_paths(python), *folders], data, before)
    _answers[key] = data
    return data


def start_early(general: Sequence[str], rest: Sequence[str], *, cross: bool = False,
                cache_dir: Optional[str] = None, no_cache: bool = False) -> None:
    """Start the probe of the command's target interpreter (`--python` among pip's general
    options, else $VIRTUAL_ENV, else ours) before pip's option parser is imported, so that the
    two overlap. Nothing for a cross target (no interpreter is asked) or a target that is not
    there (the command says so later, in its own words)."""
    if cross or any(t.split("=", 1)[0] in ("--platform", "--python-version") for t in rest):
        return
    from pip_tfmac.runners.interpreter import resolve_target_python

    use_cache(cache_dir, no_cache)
    try:
        start(resolve_target_python(general))
    except BadInputError:
        pass


def forget(python: Optional[str] = None) -> None:
    """Drop what this process knows of `python` (all: None), e.g. after it was changed."""
    if python is None:
        _answers.clear()
    else:
        _answers.pop(_key(python), None)


def probe(python: str, family: Sequence[str] = ()) -> Target:
    """What the target interpreter is; `family`: the distributions whose installed versions the
    plan needs (Target.installed)."""
    data = dict(facts(python))
    names = set(family)
    installed = data.get("installed") if isinstance(data.get("installed"), dict) else {}
    data["installed"] = {n: v for n, v in installed.items() if n in names}
    data.update(injected_facts())
    return target_from_facts(data, python)


def scheme(python: str) -> dict[str, Any]:
    """Where the target installs (prefix, in_venv, stdlib, purelib, platlib, user_site)."""
    found = facts(python).get("scheme")
    if not isinstance(found, dict):
        raise BadInputError(f"the target interpreter {python} did not say where it installs.",
                            "check --python / $VIRTUAL_ENV points at a working Python 3.9 or later")
    return found


# _probe.py's fact names -> the names target_from_facts reads.
_INJECTABLE = {"sys_platform": "system", "machine": "machine", "rosetta": "translated",
               "macos_version": "mac_ver"}


def injected_facts() -> dict[str, Any]:
    """The documented test seam of _probe.py, honoured here too: $PIP_TFMAC_PROBE_FACTS names a
    JSON object whose machine facts replace the measured ones (no Mac exists where tests run)."""
    path = os.environ.get("PIP_TFMAC_PROBE_FACTS")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise BadInputError(f"PIP_TFMAC_PROBE_FACTS={path!r} cannot be read: {exc}",
                            "point it at a JSON object of machine facts, or unset it") from None
    return {_INJECTABLE[k]: v for k, v in data.items() if k in _INJECTABLE}
