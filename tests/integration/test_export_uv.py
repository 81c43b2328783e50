"""`pip-tfmac export --uv`, checked by `uv lock` of a small project against a local pypiserver
(stand-ins for TensorFlow 2.12: tensorflow-macos on a Mac, the built alias wheel from
find-links, tensorflow-metal 0.8.0 paired); Linux keeps plain tensorflow."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import build_wheel, isolated_env, run, tool_command
from indexserver import index_server, uv_command

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tox on 3.9/3.10
    import tomli as tomllib


def test_uv_lock_with_the_exported_settings_gives_the_mac_the_paired_set(tmp_path: Path) -> None:
    packages = tmp_path / "packages"
    build_wheel(packages, "tensorflow-macos", "2.12.0", files={"tensorflow/__init__.py": "x = 1\n"})
    build_wheel(packages, "tensorflow-metal", "0.8.0")
    build_wheel(packages, "tensorflow-metal", "1.2.0")
    build_wheel(packages, "tensorflow", "2.12.0")
    build_wheel(packages, "needs-tf", "1.0", requires=["tensorflow<2.13"])  # a dependent: the alias is used
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": tmp_path / "house"})
    project = tmp_path / "project"
    with index_server(packages, env) as url:
        exported = run([*tool_command(), "export", "--uv", "-o", project, "--index-url", f"{url}/simple/",
                        "--target-env", "macos-arm64@3.11", "needs-tf", "tensorflow==2.12.*"], env)
        assert exported.returncode == 0, exported.describe()
        assert (project / "wheels" / "tensorflow-2.12.0+tfmac.1-py3-none-any.whl").is_file()
        metal = "tensorflow-metal==0.8.0; sys_platform == 'darwin' and platform_machine == 'arm64' and python_version == '3.11'"
        assert f'uv add "{metal}"' in exported.stdout
        (project / "pyproject.toml").write_text(
            '[project]\nname = "team-app"\nversion = "0.1"\nrequires-python = "==3.11.*"\n'
            f'dependencies = ["needs-tf", "tensorflow==2.12.*", "{metal}"]\n\n' + exported.stdout)
        uv_env = dict(env, UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_NO_CONFIG="1",
                      UV_DEFAULT_INDEX=f"{url}/simple/")
        locked = run([*uv_command(), "lock", "--directory", project], uv_env)
        assert locked.returncode == 0, locked.describe()
    lock = tomllib.loads((project / "uv.lock").read_text())
    versions = sorted((p["name"], p["version"]) for p in lock["package"] if p["name"] != "team-app")
    assert versions == [("needs-tf", "1.0"), ("tensorflow", "2.12.0"), ("tensorflow", "2.12.0+tfmac.1"),
                        ("tensorflow-macos", "2.12.0"), ("tensorflow-metal", "0.8.0")]
    app = next(p for p in lock["package"] if p["name"] == "team-app")
    by_version = {d.get("version"): d.get("marker", "") for d in app["dependencies"] if d["name"] == "tensorflow"}
    assert by_version == {} or all(by_version.values())  # forked by marker when listed
