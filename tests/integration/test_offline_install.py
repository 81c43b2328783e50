"""`pip-tfmac download` fills the wheelhouse; `pip-tfmac install --offline` then installs with no
network at all: the index URL given points at a closed port, so any index access would fail.

Offline: the "index" is a folder of tiny local wheels; tensorflow-text (a companion the planner
knows) makes the request one pip-tfmac plans rather than hands to pip.
"""

from __future__ import annotations

from pathlib import Path

from helpers import build_wheel, isolated_env, make_venv, run, tool_command, venv_bin

UNREACHABLE = "http://127.0.0.1:9/simple"  # the discard port: refused at once


def test_download_then_offline_install_with_unreachable_index(tmp_path: Path) -> None:
    links = tmp_path / "links"
    build_wheel(links, "tensorflow-text", "2.18.0", requires=["tinydep>=1"])
    build_wheel(links, "tinydep", "1.0")
    house = tmp_path / "wheelhouse"
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house})

    fetched = run([*tool_command(), "download", "--no-index", "--find-links", links,
                   "tensorflow-text==2.18.0"], env)
    assert fetched.returncode == 0, fetched.describe()
    assert sorted(p.name for p in (house / "wheels").glob("*.whl")) == [
        "tensorflow_text-2.18.0-py3-none-any.whl", "tinydep-1.0-py3-none-any.whl"]

    venv = make_venv(tmp_path / "venv", env)
    offline_env = dict(env, VIRTUAL_ENV=str(venv), PIP_INDEX_URL=UNREACHABLE)
    installed = run([*tool_command(), "install", "--offline", "--no-verify", "tensorflow-text==2.18.0"],
                    offline_env)
    assert installed.returncode == 0, installed.describe()
    freeze = run([venv_bin(venv, "python"), "-m", "pip", "freeze"], offline_env)
    assert "tensorflow-text==2.18.0" in freeze.stdout and "tinydep==1.0" in freeze.stdout


def test_offline_install_of_what_the_wheelhouse_lacks_fails_before_changing_anything(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": tmp_path / "empty-wheelhouse"})
    venv = make_venv(tmp_path / "venv", env)
    offline_env = dict(env, VIRTUAL_ENV=str(venv), PIP_INDEX_URL=UNREACHABLE)
    before = run([venv_bin(venv, "python"), "-m", "pip", "freeze"], offline_env).stdout
    result = run([*tool_command(), "install", "--offline", "tensorflow-text==2.18.0"], offline_env)
    assert result.returncode == 72, result.describe()
    assert "--offline" in result.stderr and "pip-tfmac download" in result.stderr
    assert "Traceback" not in result.stderr
    assert run([venv_bin(venv, "python"), "-m", "pip", "freeze"], offline_env).stdout == before


def test_offline_install_from_a_damaged_wheelhouse_works_and_verify_repairs_it(
    tmp_path: Path,
) -> None:
    """Issue 13: a bad index key, a tree manifest that is not an object and a folder named
    like a wheel made `install --offline` crash; the sound rest of the cache is enough."""
    import json

    links = tmp_path / "links"
    build_wheel(links, "tensorflow-text", "2.18.0", requires=["tinydep>=1"])
    build_wheel(links, "tinydep", "1.0")
    house = tmp_path / "wheelhouse"
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house})
    fetched = run([*tool_command(), "download", "--no-index", "--find-links", links,
                   "tensorflow-text==2.18.0"], env)
    assert fetched.returncode == 0, fetched.describe()
    index = json.loads((house / "index.json").read_text())
    index["entries"]["../../not-a-wheel"] = {"filename": "x", "sha256": "y"}
    (house / "index.json").write_text(json.dumps(index))
    for manifest in (house / "unpacked").glob("*/tfmac-manifest.json"):
        manifest.write_text("[]")
    (house / "wheels" / "odd-1.0-py3-none-any.whl").mkdir()
    found = run([*tool_command(), "wheelhouse", "verify", "--no-repair"], env)
    assert found.returncode == 69, found.describe()
    assert "index entry dropped" in found.stdout and "folder named like a wheel" in found.stdout
    assert "manifest is damaged" in found.stdout and "Traceback" not in found.stderr

    venv = make_venv(tmp_path / "venv", env)
    offline_env = dict(env, VIRTUAL_ENV=str(venv), PIP_INDEX_URL=UNREACHABLE)
    installed = run([*tool_command(), "install", "--offline", "--no-verify",
                     "tensorflow-text==2.18.0"], offline_env)
    assert installed.returncode == 0, installed.describe()
    assert "Traceback" not in installed.stderr
    freeze = run([venv_bin(venv, "python"), "-m", "pip", "freeze"], offline_env)
    assert "tensorflow-text==2.18.0" in freeze.stdout and "tinydep==1.0" in freeze.stdout

    repaired = run([*tool_command(), "wheelhouse", "verify", "--repair"], env)
    assert repaired.returncode == 0, repaired.describe()
    assert "Traceback" not in repaired.stderr
    again = run([*tool_command(), "wheelhouse", "verify", "--no-repair"], env)
    assert again.returncode == 0, again.describe()
