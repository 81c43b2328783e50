"""`pip-tfmac lock -o FILE`: one requirement set, a Linux and a Mac target, one PEP 751 lock that
pip (`pip install -r pylock.toml`, pip >= 26.1) and uv (`uv pip install -r pylock.toml`) install
as planned. The index is a real pypiserver on 127.0.0.1 serving tiny wheels, so the lock holds
real URLs; the machine's pip setup is isolated away (helpers.isolated_env).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.tags import Tag

from helpers import build_wheel, isolated_env, make_venv, run, sha256_of, tool_command, venv_bin
from indexserver import index_server, uv_command
from pip_tfmac.runners.pip import reads_pylock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tox on 3.9/3.10
    import tomli as tomllib

Pylock = pytest.importorskip("packaging.pylock", reason="packaging < 26.1 has no PEP 751 support").Pylock

PY = "%d.%d" % sys.version_info[:2]


def _tiny_index(folder: Path) -> dict[str, str]:
    build_wheel(folder, "tinyapp", "1.0", requires=["tinydep>=1", "tinylinux; sys_platform == 'linux'",
                                                    "tinymac; sys_platform == 'darwin'"])
    build_wheel(folder, "tinydep", "1.0")
    build_wheel(folder, "tinydep", "2.0")
    build_wheel(folder, "tinylinux", "1.0")
    build_wheel(folder, "tinymac", "1.0")
    return {p.name: sha256_of(p) for p in folder.glob("*.whl")}


def _freeze(python: Path, env: dict[str, str]) -> list[str]:
    out = run([sys.executable, "-m", "pip", "--python", python, "freeze"], env).stdout
    return sorted(line for line in out.splitlines() if line.startswith("tiny"))


def _mac_env() -> dict[str, str]:
    env = dict(default_environment())
    env.update(sys_platform="darwin", platform_system="Darwin", platform_machine="arm64", python_version=PY)
    return env


def test_lock_for_linux_and_mac_installs_with_pip_and_uv(tmp_path: Path) -> None:
    hashes = _tiny_index(tmp_path / "packages")
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": tmp_path / "house"})
    with index_server(tmp_path / "packages", env) as url:
        made = run([*tool_command(), "lock", "-o", tmp_path / "team" / "pylock.toml", "--index-url", f"{url}/simple/",
                    "--target-env", f"linux-x86_64@{PY}", "--target-env", f"macos-arm64@{PY}",
                    "tinyapp", "tinydep<2"], env)
        assert made.returncode == 0, made.describe()
        lock_path = tmp_path / "team" / "pylock.toml"
        data = tomllib.loads(lock_path.read_text())
        lock = Pylock.from_dict(data)  # packaging's own PEP 751 validation
        assert data["created-by"] == "pip-tfmac" and data["requires-python"] == f"=={PY}.*"
        assert len(data["environments"]) == 2
        packages = {p["name"]: p for p in data["packages"]}
        assert sorted(packages) == ["tinyapp", "tinydep", "tinylinux", "tinymac"]
        assert packages["tinydep"]["version"] == "1.0" and "marker" not in packages["tinydep"]
        assert "sys_platform == 'linux'" in packages["tinylinux"]["marker"]
        assert "sys_platform == 'darwin'" in packages["tinymac"]["marker"]
        for package in data["packages"]:
            (wheel,) = package["wheels"]
            assert wheel["url"].startswith(url) and wheel["hashes"]["sha256"] == hashes[wheel["name"]]

        # The Mac environment of the lock, selected as a Mac would (packaging's selector).
        mac_tags = [Tag(f"cp{PY.replace('.', '')}", "none", "macosx_14_0_arm64"), Tag("py3", "none", "any")]
        chosen = sorted(p.name for p, _ in lock.select(environment=_mac_env(), tags=mac_tags))  # type: ignore[arg-type]
        assert chosen == ["tinyapp", "tinydep", "tinymac"]

        # pip (26.1+ reads pylock.toml) installs the Linux environment of the lock.
        if reads_pylock()[0]:
            venv = make_venv(tmp_path / "pip-venv", env)
            pip_env = dict(env, PIP_INDEX_URL="http://127.0.0.1:9/simple")
            by_pip = run([sys.executable, "-m", "pip", "--python", venv_bin(venv, "python"), "install",
                          "-r", lock_path], pip_env)
            assert by_pip.returncode == 0, by_pip.describe()
            assert _freeze(venv_bin(venv, "python"), env) == ["tinyapp==1.0", "tinydep==1.0", "tinylinux==1.0"]

        uv_venv = make_venv(tmp_path / "uv-venv", env)
        by_uv = run([*uv_command(), "pip", "install", "--python", venv_bin(uv_venv, "python"),
                     "-r", lock_path], dict(env, UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uv-cache")))
        assert by_uv.returncode == 0, by_uv.describe()
        assert _freeze(venv_bin(uv_venv, "python"), env) == ["tinyapp==1.0", "tinydep==1.0", "tinylinux==1.0"]


def test_lock_writes_nothing_when_a_target_does_not_resolve(tmp_path: Path) -> None:
    _tiny_index(tmp_path / "packages")
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": tmp_path / "house"})
    lock_path = tmp_path / "pylock.toml"
    with index_server(tmp_path / "packages", env) as url:
        made = run([*tool_command(), "lock", "-o", lock_path, "--index-url", f"{url}/simple/",
                    "--target-env", f"linux-x86_64@{PY}", "tinyapp", "tinydep>5"], env)
    assert made.returncode == 72, made.describe()
    assert "Traceback" not in made.stderr and not lock_path.exists()


@pytest.mark.parametrize("bad", ["macos-arm64", "linux-x86_64@py3", "@3.11"])
def test_a_malformed_target_env_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    env = isolated_env(tmp_path)
    made = run([*tool_command(), "lock", "-o", tmp_path / "pylock.toml", "--target-env", bad, "tinyapp"], env)
    assert made.returncode == 64, made.describe()
    assert "PLATFORM@PYTHON" in made.stderr and not (tmp_path / "pylock.toml").exists()


def test_lock_references_the_built_alias_wheel_next_to_it_and_the_mac_set_resolves(tmp_path: Path) -> None:
    """Stand-ins for TensorFlow 2.12 (tensorflow-macos on a Mac, built alias `tensorflow`
    2.12.0+tfmac.1, tensorflow-metal paired); the Linux target gets plain tensorflow, never the
    Mac's alias from the shared wheelhouse."""
    from lockcheck import mac_dry_run

    packages = tmp_path / "packages"
    build_wheel(packages, "tensorflow-macos", "2.12.0", files={"tensorflow/__init__.py": "x = 1\n"})
    build_wheel(packages, "tensorflow-metal", "0.8.0")
    build_wheel(packages, "tensorflow", "2.12.0")
    # A dependent of plain `tensorflow`: on the Mac the alias wheel satisfies it.
    build_wheel(packages, "needs-tf", "1.0", requires=["tensorflow<2.13"])
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": tmp_path / "house"})
    lock_path = tmp_path / "team" / "pylock.toml"
    with index_server(packages, env) as url:
        made = run([*tool_command(), "lock", "-o", lock_path, "--index-url", f"{url}/simple/",
                    "--target-env", "macos-arm64@3.11", "--target-env", "linux-x86_64@3.11",
                    "needs-tf", "tensorflow==2.12.*"], env)
        assert made.returncode == 0, made.describe()
        data = tomllib.loads(lock_path.read_text())
        Pylock.from_dict(data)
        alias = "tensorflow-2.12.0+tfmac.1-py3-none-any.whl"
        (entry,) = [p for p in data["packages"] if p["version"] == "2.12.0+tfmac.1"]
        assert entry["wheels"][0]["path"] == f"./wheels/{alias}"
        assert entry["wheels"][0]["hashes"]["sha256"] == sha256_of(lock_path.parent / "wheels" / alias)
        assert "darwin" in entry["marker"]
        (linux_tf,) = [p for p in data["packages"] if p["name"] == "tensorflow" and p["version"] == "2.12.0"]
        assert "linux" in linux_tf["marker"]
        mac, linux = data["tool"]["pip-tfmac"]["targets"]
        assert mac["tensorflow-metal"] == "tensorflow-metal==0.8.0" and mac["built"] == [alias]
        assert linux["tensorflow"] == "tensorflow==2.12.0" and "tensorflow-metal" not in linux

        chosen, got = mac_dry_run(lock_path, "3.11", env, tmp_path, extra=("--index-url", f"{url}/simple/"))
        assert sorted(chosen) == ["needs-tf", "tensorflow", "tensorflow-macos", "tensorflow-metal"]
        assert got == chosen


def test_lock_without_requirements_is_a_usage_error(tmp_path: Path) -> None:
    made = run([*tool_command(), "lock", "-o", tmp_path / "pylock.toml", "--target-env", "linux-x86_64@3.11"],
               isolated_env(tmp_path))
    assert made.returncode == 64, made.describe()
    assert "needs requirements" in made.stderr and not (tmp_path / "pylock.toml").exists()
