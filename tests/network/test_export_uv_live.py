"""`pip-tfmac export --uv` against the real index, checked by uv itself: a project whose
dependencies include TensorFlow, with the printed [tool.uv] settings, locks (`uv lock`) to a
macOS arm64 TensorFlow that the locked tensorflow-metal pairs with."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from helpers import run, tool_command
from indexserver import uv_command
from pip_tfmac.core.knowledge import BROKEN
from pip_tfmac.knowledge import load

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tox on 3.9/3.10
    import tomli as tomllib

MAC = "sys_platform == 'darwin' and platform_machine == 'arm64'"


@pytest.mark.network
def test_uv_lock_with_the_exported_settings_pairs_metal_on_macos_arm64(tmp_path: Path) -> None:
    env = dict(os.environ, PIP_TFMAC_CACHE_DIR=str(tmp_path / "house"))
    exported = run([*tool_command(), "export", "--uv", "--target-env", "macos-arm64@3.11", "tensorflow"],
                   env, timeout=900)
    assert exported.returncode == 0, exported.describe()
    settings = tomllib.loads(exported.stdout)["tool"]["uv"]
    (metal_line,) = [c for c in settings["constraint-dependencies"] if c.startswith("tensorflow-metal==")]
    assert f'uv add "{metal_line}"' in exported.stdout

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "team-app"\nversion = "0.1"\nrequires-python = "==3.11.*"\n'
        f'dependencies = ["tensorflow", "{metal_line}"]\n\n' + exported.stdout)
    uv_env = dict(env, UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_NO_CONFIG="1")
    locked = run([*uv_command(), "lock", "--directory", project], uv_env, timeout=900)
    assert locked.returncode == 0, locked.describe()
    packages = tomllib.loads((project / "uv.lock").read_text())["package"]

    def mac_versions(name: str) -> list[str]:
        return [p["version"] for p in packages if p["name"] == name
                and any("macosx" in w["url"] and "arm64" in w["url"] or "universal2" in w["url"]
                        for w in p.get("wheels", []))]

    (tf,) = mac_versions("tensorflow")
    (metal,) = [p["version"] for p in packages if p["name"] == "tensorflow-metal"]
    assert f"tensorflow=={tf};" in " ".join(settings["constraint-dependencies"])
    pair = load().metal_state(Version(tf), Version(metal))
    assert pair is not None and pair.state != BROKEN, (tf, metal)
