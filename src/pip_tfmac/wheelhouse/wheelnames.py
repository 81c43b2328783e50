"""Wheel file and folder names and tags, as the wheel spec writes them.

Why apart from building: the store, the patcher and the builder all derive names the same
way, and a name must be the same whichever of them computes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pip_tfmac.errors import BadInputError


def wheel_name_part(name: str) -> str:
    """The distribution name as the wheel spec writes it in file and directory names."""
    return canonicalize_name(name).replace("-", "_")


def normalize_version(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        raise BadInputError(
            f"{version!r} is not a valid version for a wheel.",
            "use a PEP 440 version such as 2.12.0 or 2.12.0+tfmac.1",
        ) from None


def dist_info_dir(name: str, version: str) -> str:
    return f"{wheel_name_part(name)}-{normalize_version(version)}.dist-info"


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{wheel_name_part(name)}-{normalize_version(version)}-{tag}.whl"


def expand_tag(tag: str) -> list[str]:
    try:
        tags = sorted({str(t) for t in parse_tag(tag)})
    except (ValueError, IndexError):
        tags = []
    if not tags or tag.count("-") != 2:
        raise BadInputError(f"{tag!r} is not a wheel tag.", "use the form py3-none-any")
    return tags


def compress_tags(tags: Sequence[str]) -> str:
    """The compressed tag set (e.g. py2.py3-none-any) for a WHEEL's Tag lines."""
    parts = [t.split("-") for t in tags]
    interpreters, abis, platforms = (sorted({p[i] for p in parts}) for i in range(3))
    product = {"-".join(c) for c in itertools.product(interpreters, abis, platforms)}
    if product != set(tags):
        raise BadInputError(
            f"the original wheel's tags {sorted(tags)} are not one compressed tag set.",
            "pass tag= explicitly to rewrite_wheel",
        )
    return "-".join(".".join(group) for group in (interpreters, abis, platforms))
