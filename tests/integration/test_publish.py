"""`pip-tfmac wheelhouse publish URL` against a real pypiserver on 127.0.0.1 (with a password
file), fed by one wheelhouse and consumed by a second, empty one; and its bad inputs: a wrong
password, an unreachable index, an index that refuses uploads: exit 78, nothing uploaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import urllib.request
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import build_wheel, isolated_env, run, sha256_of, tool_command
from indexserver import free_port, index_server, write_htpasswd
from pip_tfmac import recipes
from pip_tfmac.runners.pipargs import parse_install
from pip_tfmac.wheelhouse import build as build_module
from pip_tfmac.wheelhouse.build import recipe_wheels
from pip_tfmac.wheelhouse.provenance import Origin, Provenance
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.wheelhouse.wheelfile import build_wheel as build_tfmac_wheel
from pip_tfmac.wheelhouse.wheelfile import wheel_filename

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tox on 3.9/3.10
    import tomli as tomllib

RECIPE = "tflite-model-maker"


def _recipe_provenance(recipe: recipes.Recipe, *, sha256: str = "") -> Provenance:
    return Provenance(rule=recipe.id, source=recipe.source,
                      made_from=(Origin(recipe.name, recipe.upstream_version, sha256 or recipe.sha256),))


def _fake_patched(recipe: recipes.Recipe, provenance: Provenance) -> tuple[str, bytes]:
    """A stand-in for the patched Model Maker wheel (the real one needs the upstream wheel)."""
    filename, data = build_tfmac_wheel(recipe.name, recipe.version, {"tflite_model_maker/__init__.py": b""},
                                       requires_dist=[], summary="stand-in", provenance=provenance)
    assert filename == wheel_filename(recipe.name, recipe.version)
    return filename, data


def _feed(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Wheelhouse A: an alias wheel built by a real plan (stand-in TF 2.12) and a patched wheel."""
    links = tmp_path / "links"
    build_wheel(links, "tensorflow-macos", "2.12.0", files={"tensorflow/__init__.py": "x = 1\n"})
    build_wheel(links, "tensorflow-metal", "0.8.0")
    build_wheel(links, "needs-tf", "1.0", requires=["tensorflow<2.13"])  # a dependent: the alias is used
    house = tmp_path / "house-a"
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house})
    planned = run([*tool_command(), "plan", "--no-index", "--find-links", links, "--platform", "macos-arm64",
                   "--python-version", "3.11", "needs-tf", "tensorflow==2.12.*"], env)
    assert planned.returncode == 0, planned.describe()
    recipe = recipes.get(RECIPE)
    filename, data = _fake_patched(recipe, _recipe_provenance(recipe))
    Wheelhouse(house).ensure_built(filename, lambda: data, _recipe_provenance(recipe))
    # The recipe's prebuilt sdist (promise 2.3), as `pip wheel` made it on machine A.
    promise = build_wheel(tmp_path / "prebuilt", "promise", "2.3")
    Wheelhouse(house).ensure_built(promise.name, promise.read_bytes, Provenance("prebuild promise==2.3", "test"))
    built = {name: e.sha256 for name, e in Wheelhouse(house).entries().items() if e.kind == "built"}
    assert "tensorflow-2.12.0+tfmac.1-py3-none-any.whl" in built and filename in built
    return house, built


@contextlib.contextmanager
def _plain_http_server(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """An HTTP server that serves files and refuses every POST (501): an index without uploads."""
    folder.mkdir(exist_ok=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(folder)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        import socket
        import time

        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_publish_feeds_a_team_index_and_a_second_wheelhouse_uses_it_instead_of_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    house_a, built = _feed(tmp_path)
    packages = tmp_path / "index"
    htpasswd = write_htpasswd(tmp_path / "htpasswd", "team", "s3cret")
    base = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house_a})
    with index_server(packages, base, htpasswd=htpasswd) as url:
        wrong = run([*tool_command(), "wheelhouse", "publish", url],
                    dict(base, TWINE_USERNAME="team", TWINE_PASSWORD="wrong"))
        assert wrong.returncode == 78, wrong.describe()
        assert "refused the credentials" in wrong.stderr and "wrong" not in wrong.stderr
        assert list(packages.iterdir()) == []

        env = dict(base, TWINE_USERNAME="team", TWINE_PASSWORD="s3cret")
        first = run([*tool_command(), "wheelhouse", "publish", url], env)
        assert first.returncode == 0, first.describe()
        assert "s3cret" not in first.stdout + first.stderr
        assert {p.name: sha256_of(p) for p in packages.iterdir()} == built
        again = run([*tool_command(), "wheelhouse", "publish", url, "--json"], env)
        assert again.returncode == 0, again.describe()
        assert again.stdout.count('"already there"') == len(built)

        # A lock that references the published alias on the team index instead of wheels/.
        lock_path = tmp_path / "team" / "pylock.toml"
        locked = run([*tool_command(), "lock", "-o", lock_path, "--no-index", "--find-links", tmp_path / "links",
                      "--built-wheels-url", f"{url}/packages/", "--target-env", "macos-arm64@3.11",
                      "needs-tf", "tensorflow==2.12.*"], env)
        assert locked.returncode == 0, locked.describe()
        assert not (lock_path.parent / "wheels").exists()
        data = tomllib.loads(lock_path.read_text())
        (alias,) = [p for p in data["packages"] if p["version"] == "2.12.0+tfmac.1"]
        (wheel,) = alias["wheels"]
        assert wheel["url"] == f"{url}/packages/tensorflow-2.12.0%2Btfmac.1-py3-none-any.whl"
        with urllib.request.urlopen(wheel["url"]) as response:  # the index serves those very bytes
            assert hashlib.sha256(response.read()).hexdigest() == wheel["hashes"]["sha256"]

        # Machine B: an empty wheelhouse, pip configured with the team index only.
        for key in [k for k in os.environ if k.startswith("PIP_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("PIP_INDEX_URL", f"{url}/simple/")
        monkeypatch.setattr(build_module, "_fetch_original", _no_building)
        house_b = Wheelhouse(tmp_path / "house-b")
        args = parse_install(["install", "tflite-model-maker"], 0)
        paths = recipe_wheels(recipes.get(RECIPE), house_b, sys.executable, args)
        patched = wheel_filename(RECIPE, recipes.get(RECIPE).version)
        assert Path(paths[0]).name == patched
        assert house_b.entries()[patched].sha256 == built[patched]
        assert house_b.entries()[patched].kind == "built"


def _no_building(*_args: object) -> bytes:
    raise AssertionError("the patched wheel was built although the team index has it")


def test_a_published_wheel_with_other_provenance_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = recipes.get(RECIPE)
    filename, data = _fake_patched(recipe, _recipe_provenance(recipe, sha256="0" * 64))
    packages = tmp_path / "index"
    packages.mkdir()
    (packages / filename).write_bytes(data)
    base = isolated_env(tmp_path)
    with index_server(packages, base) as url:
        for key in [k for k in os.environ if k.startswith("PIP_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("PIP_INDEX_URL", f"{url}/simple/")
        monkeypatch.setattr(build_module, "_fetch_original", _stop_building)
        args = parse_install(["install", "tflite-model-maker"], 0)
        with pytest.raises(_Built):
            recipe_wheels(recipe, Wheelhouse(tmp_path / "house"), sys.executable, args)


class _Built(Exception):
    pass


def _stop_building(*_args: object) -> bytes:
    raise _Built()


def test_publish_to_an_unreachable_or_refusing_index_changes_nothing(tmp_path: Path) -> None:
    house_a, _built = _feed(tmp_path)
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house_a, "TWINE_PASSWORD": "x"})
    gone = run([*tool_command(), "wheelhouse", "publish", "http://127.0.0.1:9/"], env)
    assert gone.returncode == 78, gone.describe()
    assert "cannot be reached" in gone.stderr and "Traceback" not in gone.stderr
    with _plain_http_server(tmp_path / "static", env) as url:
        refused = run([*tool_command(), "wheelhouse", "publish", url], env)
    assert refused.returncode == 78, refused.describe()
    assert "refused the upload" in refused.stderr and "Traceback" not in refused.stderr
    in_argv = run([*tool_command(), "wheelhouse", "publish", "http://team:pw@127.0.0.1:9/"], env)
    assert in_argv.returncode == 64 and "credentials" in in_argv.stderr
