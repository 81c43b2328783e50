"""Names in the wheelhouse: which file names are wheels, lock names, patterns, clean URLs.

Why a module of its own: a name read from the cache (an index key, a file in wheels/) is
untrusted input; it becomes a path only after `looks_like_wheel` said it is a plain wheel file
name (no folder part, no hidden file), so a damaged index cannot point anywhere else.
"""

from __future__ import annotations

import hashlib
import re
import time
from fnmatch import fnmatch
from urllib.parse import urlsplit, urlunsplit

from packaging.utils import canonicalize_name

from pip_tfmac.errors import CacheError

_WHEEL_NAME = re.compile(r"^[A-Za-z0-9_.+!-]+\.whl$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def looks_like_wheel(filename: str) -> bool:
    """A plain wheel file name: no folder part, not hidden, ends in .whl."""
    return bool(_WHEEL_NAME.match(filename)) and not filename.startswith(".")


def looks_like_sha256(text: str) -> bool:
    return bool(_SHA256.match(text))


def check_filename(filename: str) -> None:
    if not looks_like_wheel(filename):
        raise CacheError(f"{filename!r} is not a wheel file name.", "")


def lock_name(filename: str) -> str:
    """The lock of one wheel (hashed: any name becomes a safe lock file name)."""
    return "wheel-" + hashlib.sha256(filename.encode()).hexdigest()[:24]


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def matches_pattern(filename: str, pattern: str) -> bool:
    """`wheelhouse list/remove PATTERN`: a glob on file names, or a project name."""
    if any(c in pattern for c in "*?["):
        return fnmatch(filename, pattern)
    project = filename.split("-", 1)[0]
    return canonicalize_name(project) == canonicalize_name(pattern) or filename == pattern


def redact_url(url: str) -> str:
    """The URL without user:password (private indexes): the index must hold no secrets."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def now() -> str:
    """UTC, ISO 8601, for the index's `added` field."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
