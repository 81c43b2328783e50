"""fetch_wheels against the real index, for another target (macOS arm64 from anywhere)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pip_tfmac.wheelhouse.fetch import fetch_wheels
from pip_tfmac.wheelhouse.store import Wheelhouse


@pytest.mark.network
def test_macos_arm64_wheel_is_fetched_with_the_index_sha256(tmp_path: Path) -> None:
    req = tmp_path / "req.txt"
    req.write_text("markupsafe==2.1.5\n")
    house = Wheelhouse(tmp_path / "wh")
    args = ["--platform", "macosx_11_0_arm64", "--python-version", "3.11", "--implementation", "cp"]
    paths = fetch_wheels(house, req, args, sys.executable)
    assert [p.name for p in paths] == ["MarkupSafe-2.1.5-cp311-cp311-macosx_10_9_universal2.whl"]
    entry = house.entries()[paths[0].name]
    assert len(entry.sha256) == 64 and entry.kind == "fetched"
    assert "@" not in entry.origin_url.split("/")[2]  # no credentials stored
    assert house.verify(repair=False) == []
