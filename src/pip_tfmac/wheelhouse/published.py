"""A built wheel that a team index already has: fetched through pip instead of built again.

`pip-tfmac wheelhouse publish` puts the wheels one machine built on the team's index; every
other machine whose pip is configured with that index (pip.conf, PIP_INDEX_URL,
PIP_EXTRA_INDEX_URL, --index-url) gets them here by pip download of the exact version
(`tflite-model-maker==0.4.3+tfmac.1`). A wheel is used only when the provenance it carries is
the one this machine would record for its own build (the recipe's rule, and the original
upstream wheel's name, version and sha256); anything else is ignored and the wheel is built.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.wheelhouse.provenance import Provenance, read_wheel_provenance


def published_wheel(filename: str, requirement: str, expected: Provenance, python: str,
                    general: Sequence[str], pip_options: Sequence[str]) -> Optional[bytes]:
    """The bytes of `filename` from the configured index when its provenance is `expected`."""
    with tempfile.TemporaryDirectory(prefix="pip-tfmac-published-") as work:
        argv = pip_runner.base_argv(python, general) + [
            "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off",
            "-d", work, requirement, *pip_options,
        ]
        result = pip_runner.run(argv)
        path = Path(work) / filename
        if not result.ok or not path.is_file():
            return None
        data = path.read_bytes()
    try:
        found = read_wheel_provenance(data)
    except Exception:  # not a readable wheel: build our own
        return None
    return data if found == expected else None
