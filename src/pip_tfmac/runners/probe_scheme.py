"""Ask a target interpreter for its install scheme and installed distributions (fast path).

A seam for the one interpreter probe of runners/ (issue 11): this script and
`probe_target` moved here from wheelhouse/fastinstall.py unchanged, so that merging them into
runners/probe.py later touches runners/ only; the fast path sees the TargetEnv value alone.
"""

from __future__ import annotations

import json
import os
import subprocess

from packaging.utils import canonicalize_name

from pip_tfmac.core.install_scheme import TargetEnv
from pip_tfmac.errors import EnvironmentError_

PROBE_SCRIPT = r"""
import json, sys, sysconfig
try:
    from importlib.metadata import distributions
    names = sorted({(d.metadata["Name"] or "") for d in distributions()})
except Exception:
    names = []
paths = sysconfig.get_paths()
print(json.dumps({
    "executable": sys.executable,
    "version": "%d.%d" % sys.version_info[:2],
    "paths": paths,
    "prefix": sys.prefix,
    "cache_tag": sys.implementation.cache_tag or "",
    "installed": names,
}))
"""


def probe_target(python: str) -> TargetEnv:
    """Ask the target interpreter (once) for its install paths and installed distributions."""
    try:
        proc = subprocess.run(
            [python, "-I", "-c", PROBE_SCRIPT],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentError_(
            f"cannot run the target Python {python}: {exc}", "check the --python path"
        ) from None
    if proc.returncode != 0:
        raise EnvironmentError_(
            f"the target Python {python} failed to report its paths", details=proc.stderr[-2000:]
        )
    data = json.loads(proc.stdout)
    paths = data["paths"]
    version = data["version"]
    scheme = {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "data": paths["data"],
        # pip's layout for headers inside an environment: include/site/pythonX.Y/<dist>
        "headers": os.path.join(data["prefix"], "include", "site", f"python{version}"),
    }
    return TargetEnv(
        python=data["executable"],
        version=version,
        scheme=tuple(sorted(scheme.items())),
        installed=frozenset(canonicalize_name(n) for n in data["installed"] if n),
        cache_tag=str(data.get("cache_tag", "")),
    )
