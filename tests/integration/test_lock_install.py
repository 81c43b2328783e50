"""`pip-tfmac install -r pylock.toml`: a lock that fits is installed as pip installs it; one that
lacks the target (or, on a Mac, its tensorflow-metal) stops with exit 67 and the `pip-tfmac
lock` command that fixes it; a malformed lock is exit 65. Nothing changes in either case."""

from __future__ import annotations

import sys
from pathlib import Path

import tomli_w

from helpers import build_wheel, isolated_env, make_venv, run, tool_command, venv_bin
from indexserver import index_server
from pip_tfmac.runners.pip import reads_pylock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tox on 3.9/3.10
    import tomli as tomllib

PY = "%d.%d" % sys.version_info[:2]
MAC = ["--platform", "macos-arm64", "--python-version", "3.11"]


def _stand_in_tf(folder: Path) -> None:
    build_wheel(folder, "tensorflow-macos", "2.12.0", files={"tensorflow/__init__.py": "x = 1\n"})
    build_wheel(folder, "tensorflow-metal", "0.8.0")
    build_wheel(folder, "tensorflow", "2.12.0")


def _lock(tmp: Path, env: dict[str, str], url: str, *targets: str, reqs: tuple[str, ...]) -> Path:
    path = tmp / "team" / "pylock.toml"
    options = [x for t in targets for x in ("--target-env", t)]
    made = run([*tool_command(), "lock", "-o", path, "--index-url", f"{url}/simple/", *options, *reqs], env)
    assert made.returncode == 0, made.describe()
    return path


def test_a_mac_lock_is_checked_for_its_metal_pair_and_a_linux_lock_refused_with_the_fix(tmp_path: Path) -> None:
    _stand_in_tf(tmp_path / "packages")
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": tmp_path / "house"})
    with index_server(tmp_path / "packages", env) as url:
        both = _lock(tmp_path, env, url, "macos-arm64@3.11", "linux-x86_64@3.11", reqs=("tensorflow==2.12.*",))
        fits = run([*tool_command(), "install", *MAC, "-r", both], env)
        assert fits.returncode == 0, fits.describe()
        assert "tensorflow-metal==0.8.0" in fits.stdout and "tensorflow-macos==2.12.0" in fits.stdout

        data = tomllib.loads(both.read_text())
        data["packages"] = [p for p in data["packages"] if p["name"] != "tensorflow-metal"]
        both.write_text(tomli_w.dumps(data))
        no_metal = run([*tool_command(), "install", *MAC, "-r", both], env)
        assert no_metal.returncode == 67, no_metal.describe()
        assert "without tensorflow-metal" in no_metal.stderr
        assert "--target-env macos-arm64@3.11" in no_metal.stderr and "pip-tfmac lock -o" in no_metal.stderr

        linux_only = _lock(tmp_path, env, url, "linux-x86_64@3.11", reqs=("tensorflow==2.12.*",))
        refused = run([*tool_command(), "install", *MAC, "-r", linux_only], env)
        assert refused.returncode == 67, refused.describe()
        assert "has no environment for macOS" in refused.stderr
        assert ("--target-env linux-x86_64@3.11 --target-env macos-arm64@3.11 --index-url "
                f"{url}/simple/ 'tensorflow==2.12.*'") in refused.stderr
        assert "Traceback" not in refused.stderr


def test_a_lock_that_fits_this_machine_is_installed_and_a_malformed_one_changes_nothing(tmp_path: Path) -> None:
    packages = tmp_path / "packages"
    build_wheel(packages, "tinyapp", "1.0", requires=["tinydep"])
    build_wheel(packages, "tinydep", "1.0")
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": tmp_path / "house"})
    venv = make_venv(tmp_path / "venv", env)
    in_venv = dict(env, VIRTUAL_ENV=str(venv))
    with index_server(packages, env) as url:
        lock = _lock(tmp_path, env, url, f"linux-x86_64@{PY}", reqs=("tinyapp",))
        installed = run([*tool_command(), "install", "-r", lock], in_venv)
    freeze = run([venv_bin(venv, "python"), "-m", "pip", "freeze"], in_venv).stdout
    if reads_pylock()[0]:
        assert installed.returncode == 0, installed.describe()
        assert "tinyapp==1.0" in freeze and "tinydep==1.0" in freeze
    else:  # pip < 26.1 (tox's oldest pip, Python 3.9): the message, and nothing installed
        assert installed.returncode == 65 and "cannot read pylock.toml" in installed.stderr
        assert "tiny" not in freeze

    other = make_venv(tmp_path / "other", env)
    other_env = dict(env, VIRTUAL_ENV=str(other))
    for text in ("lock-version = [", 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\n'
                 '[[packages.wheels]]\nname = "a-1-py3-none-any.whl"\nurl = "http://127.0.0.1:9/a.whl"\n'):
        bad = tmp_path / "bad" / "pylock.toml"
        bad.parent.mkdir(exist_ok=True)
        bad.write_text(text)
        result = run([*tool_command(), "install", "-r", bad], other_env)
        assert result.returncode == 65, result.describe()
        assert "is not a valid pylock.toml" in result.stderr and "Traceback" not in result.stderr
    assert "tiny" not in run([venv_bin(other, "python"), "-m", "pip", "freeze"], other_env).stdout
