"""Ask a real interpreter what it is: OS, architecture, Python, macOS, Rosetta, marker values and
the TensorFlow-family distributions it already has (one short subprocess, ~30 ms).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Sequence

from pip_tfmac.core.target import Target, target_from_facts
from pip_tfmac.errors import BadInputError
from pip_tfmac.runners.interpreter import check_interpreter, last_line

# Runs inside the target interpreter, stdlib only (the target may not have packaging).
_PROBE = r"""
import json, os, platform, sys, subprocess
from importlib import metadata
names = set(json.loads(sys.argv[1]))
installed = {}
for dist in metadata.distributions():
    name = (dist.metadata["Name"] or "").lower().replace("_", "-").replace(".", "-")
    if name in names:
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
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
}))
"""


def probe(python: str, family: Sequence[str] = ()) -> Target:
    """Ask the target interpreter what it is (~30 ms)."""
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _PROBE, json.dumps(sorted(family))],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInputError(
            f"cannot run the target interpreter {python}: {exc}",
            "check --python / $VIRTUAL_ENV points at a working Python",
        ) from None
    try:
        facts = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        facts = None
    if not isinstance(facts, dict):
        check_interpreter(python)  # no Python, or too old: one line that says so
        raise BadInputError(
            f"the target interpreter {python} failed to start: {last_line(proc.stderr)}",
            "check --python / $VIRTUAL_ENV points at a working Python 3.9 or later",
        )
    facts.update(injected_facts())
    return target_from_facts(facts, python)


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


