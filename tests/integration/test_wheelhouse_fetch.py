"""fetch_wheels: pip resolves and downloads a plan's wheels into the wheelhouse (offline:
a local --find-links folder stands in for the index; tests/network has the real one)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from helpers import isolated_env
from pip_tfmac.wheelhouse.fetch import fetch_wheels
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.wheelfile import Provenance, build_wheel

PROV = Provenance("test", "test")


@pytest.fixture
def pip_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        if key not in ("PIP_CONFIG_FILE", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_INPUT"):
            monkeypatch.delenv(key)


def _index(folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    wheels = dict(
        [
            build_wheel(
                "app", "1.0", {"app.py": b""}, requires_dist=["lib>=2"], summary="", provenance=PROV
            ),
            build_wheel(
                "lib", "2.0", {"lib.py": b""}, requires_dist=[], summary="", provenance=PROV
            ),
        ]
    )
    for name, data in wheels.items():
        (folder / name).write_bytes(data)
    return wheels


def test_plan_wheels_are_fetched_hashed_and_reused(tmp_path: Path, pip_env: None) -> None:
    wheels = _index(tmp_path / "index")
    req = tmp_path / "req.txt"
    req.write_text("app==1.0\n")
    house = Wheelhouse(tmp_path / "wh")
    args = ["--no-index", "--find-links", str(tmp_path / "index")]
    paths = fetch_wheels(house, req, args, sys.executable)
    assert sorted(p.name for p in paths) == sorted(wheels)
    for path in paths:
        entry = house.entries()[path.name]
        assert entry.kind == "fetched"
        assert entry.sha256 == hashlib.sha256(wheels[path.name]).hexdigest()
        assert entry.origin_url.endswith(path.name)
    assert house.verify(repair=False) == []
    # A second run downloads nothing: the index folder may even be gone.
    for name in wheels:
        (tmp_path / "index" / name).unlink()
    again = fetch_wheels(
        house, req, [*args, "--find-links", str(house.find_links_dir)], sys.executable
    )
    assert sorted(p.name for p in again) == sorted(wheels)


def test_unresolvable_plan_is_a_cache_error_with_pips_reason(tmp_path: Path, pip_env: None) -> None:
    _index(tmp_path / "index")
    req = tmp_path / "req.txt"
    req.write_text("app==9.9\n")
    with pytest.raises(CacheError) as info:
        fetch_wheels(
            Wheelhouse(tmp_path / "wh"),
            req,
            ["--no-index", "--find-links", str(tmp_path / "index")],
            sys.executable,
        )
    assert "app==9.9" in info.value.details or "app" in info.value.details
