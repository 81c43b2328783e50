"""Can the target environment be changed at all? Asked of the target interpreter itself, before
an install starts, so that an externally managed (PEP 668) or read-only environment is refused
with one message and exit 74 instead of pip failing half-way or with its own code.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

# Runs inside the target, stdlib only. The marker is where pip looks for it (PEP 668: the
# stdlib folder of a Python that is not a venv); a folder that does not exist yet is judged by
# its nearest existing parent (pip would create it there). Under -I, site.ENABLE_USER_SITE is
# always False: the user site is judged as pip (run without -I) would see it.
_PROBE = r"""
import configparser, json, os, site, sys, sysconfig
mode = sys.argv[1]
in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
managed, why = (not in_venv) and os.path.isfile(marker), ""
if managed:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(marker, encoding="utf-8")
        why = parser.get("externally-managed", "Error", fallback="")
    except Exception:
        pass
def blocked_of(paths):
    out = []
    for path in paths:
        probe = path
        while probe and not os.path.exists(probe) and os.path.dirname(probe) != probe:
            probe = os.path.dirname(probe)
        if not os.access(probe, os.W_OK):
            out.append(path)
    return out
user_site = [site.getusersitepackages()]
blocked = blocked_of(user_site if mode == "user" else sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}))
if blocked and mode == "auto" and not in_venv and not os.environ.get("PYTHONNOUSERSITE"):
    blocked = blocked_of(user_site)  # pip itself falls back to a user install here
print(json.dumps({"prefix": sys.prefix, "managed": managed, "why": why, "blocked": blocked}))
"""


@dataclass(frozen=True)
class Changeability:
    """What stands in the way of an install into the target (nothing: both empty)."""

    prefix: str
    managed: bool  # EXTERNALLY-MANAGED and not a venv
    managed_why: str  # the marker's own Error text
    blocked: tuple[str, ...]  # install folders the user cannot write (read-only, permissions)


def probe_changeable(python: str, *, user: bool | None = None) -> Changeability | None:
    """Ask the target (~20 ms); None when it cannot tell (pip will then say what is wrong).
    `user`: pip's --user (True), --no-user (False), or neither (None: pip installs into the
    user site by itself when site-packages is not writable, outside a venv)."""
    mode = "auto" if user is None else "user" if user else "site"
    try:
        proc = subprocess.run([python, "-I", "-c", _PROBE, mode],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not isinstance(data, dict):
        return None
    return Changeability(str(data.get("prefix", "")), bool(data.get("managed")),
                         str(data.get("why") or ""), tuple(str(p) for p in data.get("blocked") or ()))
