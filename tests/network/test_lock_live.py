"""`pip-tfmac lock` against the real index: a Mac (GPU-paired) and a Linux target in one lock;
the Mac environment, selected as a Mac would and resolved by a plain pip dry run with macOS
arm64 tags, is exactly the locked set with the locked hashes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from helpers import run, tool_command
from lockcheck import mac_dry_run
from pip_tfmac.knowledge import load

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tox on 3.9/3.10
    import tomli as tomllib


@pytest.mark.network
def test_lock_of_tensorflow_for_a_mac_and_linux_pairs_metal_and_resolves_on_macos_tags(tmp_path: Path) -> None:
    env = dict(os.environ, PIP_TFMAC_CACHE_DIR=str(tmp_path / "house"))
    lock_path = tmp_path / "pylock.toml"
    made = run([*tool_command(), "lock", "-o", lock_path, "--target-env", "macos-arm64@3.11",
                "--target-env", "linux-x86_64@3.11", "tensorflow"], env, timeout=900)
    assert made.returncode == 0, made.describe()
    data = tomllib.loads(lock_path.read_text())
    mac, linux = data["tool"]["pip-tfmac"]["targets"]
    tf = Version(mac["tensorflow"].split("==")[1])
    metal = Version(mac["tensorflow-metal"].split("==")[1])
    assert load().metal_state(tf, metal) is not None, (tf, metal)
    assert "tensorflow-metal" not in linux and linux["tensorflow"].startswith("tensorflow==")

    chosen, got = mac_dry_run(lock_path, "3.11", env, tmp_path)
    assert chosen["tensorflow-metal"][0] == str(metal)
    assert got == chosen
