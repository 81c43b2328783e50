"""The wheelhouse on hostile file systems (real mounts) and with pip reading it.

Tests run as root here, and root ignores file permissions: a chmod'ed folder would not be
read-only for us. So read-only is a read-only bind mount and "full" a 64 kB tmpfs; both need
mount(8) and root, and are skipped with the reason when that is not possible.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import isolated_env
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.errors import CacheError, ExitCode
from pip_tfmac.wheelhouse.wheelfile import Provenance, build_alias_wheel, build_wheel

PROV = Provenance("alias tensorflow", "test")


def _mount(*args: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a file system")
    proc = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} not possible here: {proc.stderr.strip()}")


@contextlib.contextmanager
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    source, target = tmp_path / "ro-src", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    _mount("--bind", str(source), str(target))
    try:
        _mount("-o", "remount,ro,bind", str(target))
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


@contextlib.contextmanager
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "tiny"
    target.mkdir()
    _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target))
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip_tfmac", *args],
        env=isolated_env(home, {"PYTHONPATH": os.pathsep.join(sys.path)}),
        capture_output=True,
        text=True,
        check=False,
    )


def test_read_only_cache_dir_is_a_clear_error(tmp_path: Path) -> None:
    with read_only_dir(tmp_path) as ro:
        with pytest.raises(CacheError) as info:
            Wheelhouse.from_options(str(ro / "wh"), False)
        assert "read-only" in info.value.message
        result = _cli("wheelhouse", "info", "--tfmac-cache-dir", str(ro / "wh"), home=tmp_path)
        assert result.returncode == ExitCode.CACHE
        assert "read-only" in result.stderr and "Traceback" not in result.stderr


def test_full_disk_is_a_clear_error_and_leaves_no_partial_wheel(tmp_path: Path) -> None:
    big = build_wheel(
        "big",
        "1.0",
        {"big/blob.bin": os.urandom(200_000)},
        requires_dist=[],
        summary="",
        provenance=PROV,
    )
    with tiny_disk(tmp_path) as tiny:
        house = Wheelhouse.from_options(str(tiny / "wh"), False)
        with pytest.raises(CacheError) as info:
            house.ensure_built(big[0], lambda: big[1], PROV)
        assert "full" in info.value.message
        assert list(house.find_links_dir.iterdir()) == []  # no partial file, no temp file
        assert big[0] not in house.entries()
        # A small wheel still fits afterwards: the failed write gave its space back.
        name, data = build_alias_wheel(
            "tensorflow", "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0", provenance=PROV
        )
        assert house.ensure_built(name, lambda: data, PROV).read_bytes() == data


def test_cache_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    result = _cli("wheelhouse", "info", "--tfmac-cache-dir", "/proc/self/no-such/wh", home=tmp_path)
    assert result.returncode == ExitCode.CACHE, result.stderr
    assert "cannot be used" in result.stderr and "Traceback" not in result.stderr


def test_a_corrupted_wheel_is_never_handed_to_pip(tmp_path: Path) -> None:
    """After `prepare()` a flipped byte means the wheel is gone, so pip cannot install it."""
    house = Wheelhouse(tmp_path / "wh", warn=lambda _m: None)
    name, data = build_alias_wheel(
        "tensorflow", "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0", provenance=PROV
    )
    path = house.ensure_built(name, lambda: data, PROV)
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0x40
    path.write_bytes(bytes(damaged))
    links = house.prepare()
    target = tmp_path / "target"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            str(links),
            "--no-deps",
            "--target",
            str(target),
            "tensorflow==2.12.0+tfmac.1",
        ],
        env=isolated_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "No matching distribution" in proc.stderr
    # The next run rebuilds it, and then pip gets the good one.
    house.ensure_built(name, lambda: data, PROV)
    assert path.read_bytes() == data
