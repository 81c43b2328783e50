"""The curated knowledge files (package data), read once into a core Knowledge value."""

from __future__ import annotations

import functools
import sys
from importlib import resources
from typing import Any

from pip_tfmac.core.knowledge import Knowledge, parse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by tox on 3.9/3.10
    import tomli as tomllib


def _read(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))


@functools.lru_cache(maxsize=None)
def load() -> Knowledge:
    return parse(_read("tensorflow.toml"), _read("wheels.toml"))
