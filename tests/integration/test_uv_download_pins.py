"""`download --backend uv`: uv resolves the plan and gives every pin the sha256 it read from the
index; pip downloads exactly those pins (`--no-deps`, no resolve of its own) and refuses a file
whose hash is not the pin's; the wheelhouse re-hashes what enters. Offline: a local find-links
folder stands in for the index, and the real uv (the test extra's) resolves against it."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from helpers import build_wheel, isolated_env, run
from pip_tfmac.errors import CacheError
from pip_tfmac.runners.uv import hashed_pins
from pip_tfmac.wheelhouse.fetch import fetch_pinned
from pip_tfmac.wheelhouse.store import Wheelhouse

UV = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")


@pytest.fixture
def pip_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(("PIP_", "UV_"))]:
        if key not in ("PIP_CONFIG_FILE", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_INPUT"):
            monkeypatch.delenv(key)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pins_are_fetched_hash_checked_and_rehashed(tmp_path: Path, pip_env: None) -> None:
    index = tmp_path / "index"
    app, lib = build_wheel(index, "app", "1.0", ["lib>=2"]), build_wheel(index, "lib", "2.0")
    house = Wheelhouse(tmp_path / "wh")
    args = ["--no-index", "--find-links", str(index)]
    pins = [f"app==1.0 --hash=sha256:{sha(app)}", f"lib==2.0 --hash=sha256:{sha(lib)}"]
    paths = fetch_pinned(house, pins, args, sys.executable)
    assert sorted(p.name for p in paths) == sorted([app.name, lib.name])
    for path, source in ((house.path_of(app.name), app), (house.path_of(lib.name), lib)):
        assert house.entries()[path.name].kind == "fetched"
        assert house.entries()[path.name].sha256 == sha(source) == sha(path)


def test_a_file_whose_hash_is_not_the_pins_never_enters(tmp_path: Path, pip_env: None) -> None:
    index = tmp_path / "index"
    app = build_wheel(index, "app", "1.0")
    house = Wheelhouse(tmp_path / "wh")
    with pytest.raises(CacheError, match="could not download"):
        fetch_pinned(house, [f"app==1.0 --hash=sha256:{'0' * 64}"], ["--no-index", "--find-links", str(index)],
                     sys.executable)
    assert app.name not in house.entries() and not house.path_of(app.name).exists()


def test_uvs_hashed_output_becomes_one_pin_a_line() -> None:
    text = ("absl-py==2.1.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via tensorflow\n"
            "tf-keras==2.18.0 ; python_full_version >= '3.9' \\\n    --hash=sha256:cc\n"
            "local @ file:///wh/local-1.0-py3-none-any.whl \\\n    --hash=sha256:dd\n")
    assert hashed_pins(text).splitlines() == [
        "absl-py==2.1.0 --hash=sha256:aa --hash=sha256:bb", "tf-keras==2.18.0 --hash=sha256:cc",
        "local @ file:///wh/local-1.0-py3-none-any.whl --hash=sha256:dd"]


@pytest.mark.skipif(UV is None, reason="needs uv (the test extra)")
def test_download_with_the_uv_backend_resolves_with_uv_and_fills_the_wheelhouse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from pip_tfmac import cli
    from pip_tfmac.wheelhouse import store

    index = tmp_path / "index"
    tf = build_wheel(index, "tensorflow-cpu", "2.15.1", ["lib>=2"])
    lib = build_wheel(index, "lib", "2.0")
    build_wheel(index, "lib", "1.0")
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(("PIP_", "UV_"))]:
        if key not in ("PIP_CONFIG_FILE", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_INPUT"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("PIP_TFMAC_CACHE_DIR", str(tmp_path / "wh"))
    monkeypatch.setenv("_PIP_TFMAC_RUNNING", "1")

    def no_pip_resolve(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("pip resolved the download again")

    monkeypatch.setattr(store.Wheelhouse, "fetch_wheels", no_pip_resolve)
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", venv], dict(os.environ)).returncode == 0
    code = cli.main(["--python", str(venv / "bin" / "python"), "download", "--backend", "uv", "--no-index",
                     "--find-links", str(index), "tensorflow-cpu==2.15.1"])
    out = capsys.readouterr().out
    assert code == 0, out
    house = Wheelhouse(tmp_path / "wh")
    assert {tf.name, lib.name} <= set(house.entries()), out
    assert "lib-1.0-py3-none-any.whl" not in house.entries()
    assert house.entries()[lib.name].sha256 == sha(lib)
