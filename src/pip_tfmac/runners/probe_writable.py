"""Can the target environment be changed at all? Judged before an install starts, so that an
externally managed (PEP 668) or read-only environment is refused with one message and exit 74
instead of pip failing half-way or with its own code.

Where the target installs comes from its one probe (runners/probe_target.py, cached between
runs); whether those folders can be written and whether the marker is there is looked at here,
each time (the same user as the install; never cached, so a chmod or a new marker counts).
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass

from pip_tfmac.errors import TfmacError
from pip_tfmac.runners.probe_target import scheme


@dataclass(frozen=True)
class Changeability:
    """What stands in the way of an install into the target (nothing: both empty)."""

    prefix: str
    managed: bool  # EXTERNALLY-MANAGED and not a venv
    managed_why: str  # the marker's own Error text
    blocked: tuple[str, ...]  # install folders the user cannot write (read-only, permissions)


def _blocked_of(paths: list[str]) -> list[str]:
    """The folders that cannot be written; one that does not exist yet is judged by its nearest
    existing parent (pip would create it there)."""
    out = []
    for path in paths:
        probe = path
        while probe and not os.path.exists(probe) and os.path.dirname(probe) != probe:
            probe = os.path.dirname(probe)
        if not os.access(probe, os.W_OK):
            out.append(path)
    return out


def probe_changeable(python: str, *, user: bool | None = None) -> Changeability | None:
    """None when it cannot tell (pip will then say what is wrong).
    `user`: pip's --user (True), --no-user (False), or neither (None: pip installs into the
    user site by itself when site-packages is not writable, outside a venv)."""
    try:
        found = scheme(python)
        prefix, in_venv = str(found["prefix"]), bool(found["in_venv"])
        stdlib, user_site = str(found["stdlib"]), str(found["user_site"])
        site_dirs = sorted({str(found["purelib"]), str(found["platlib"])})
    except (TfmacError, KeyError, TypeError):
        return None
    # The marker is where pip looks for it (PEP 668: the stdlib folder of a Python that is not
    # a venv).
    marker = os.path.join(stdlib, "EXTERNALLY-MANAGED")
    managed, why = (not in_venv) and os.path.isfile(marker), ""
    if managed:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(marker, encoding="utf-8")
            why = parser.get("externally-managed", "Error", fallback="")
        except (configparser.Error, OSError, UnicodeDecodeError):
            pass
    blocked = _blocked_of([user_site] if user else site_dirs)
    if blocked and user is None and not in_venv and not os.environ.get("PYTHONNOUSERSITE"):
        blocked = _blocked_of([user_site])  # pip itself falls back to a user install here
    return Changeability(prefix, managed, why, tuple(blocked))
