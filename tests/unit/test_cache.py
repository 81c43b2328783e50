"""The wheelhouse (src/pip_tfmac/cache.py): hashes, atomic writes, permissions, errors."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from pip_tfmac.wheelhouse import store as cache_mod
from pip_tfmac.wheelhouse.fsutil import PART
from pip_tfmac.wheelhouse.store import Wheelhouse, redact_url
from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.wheelfile import Provenance, build_alias_wheel

PROV = Provenance("alias tensorflow", "knowledge/tensorflow.toml")
FILENAME, DATA = build_alias_wheel(
    "tensorflow", "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0", provenance=PROV
)


class Builder:
    def __init__(self, data: bytes = DATA) -> None:
        self.calls = 0
        self.data = data

    def __call__(self) -> bytes:
        self.calls += 1
        return self.data


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def house(tmp_path: Path, warnings: list[str]) -> Wheelhouse:
    return Wheelhouse(tmp_path / "wh", warn=warnings.append)


def flip_byte(path: Path, offset: int = 200) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_built_wheel_is_written_once_then_reused(house: Wheelhouse) -> None:
    build = Builder()
    first = house.ensure_built(FILENAME, build, PROV)
    second = house.ensure_built(FILENAME, build, PROV)
    assert first == second == house.find_links_dir / FILENAME
    assert build.calls == 1
    assert first.read_bytes() == DATA
    entry = house.entries()[FILENAME]
    assert entry.sha256 == hashlib.sha256(DATA).hexdigest()
    assert entry.kind == "built" and entry.provenance == PROV and entry.size == len(DATA)


def test_files_and_folders_are_private_to_the_user(house: Wheelhouse) -> None:
    path = house.ensure_built(FILENAME, Builder(), PROV)
    for folder in (house.root, house.find_links_dir, house.root / "locks"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (path, house.index_path, *(house.root / "locks").iterdir()):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_private_modes_hold_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        house = Wheelhouse(tmp_path / "wh")
        path = house.ensure_built(FILENAME, Builder(), PROV)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(house.root.stat().st_mode) == 0o700


def test_flipped_byte_is_detected_reported_and_rebuilt(
    house: Wheelhouse, warnings: list[str]
) -> None:
    build = Builder()
    path = house.ensure_built(FILENAME, build, PROV)
    flip_byte(path)
    problem = house.check(FILENAME)
    assert problem is not None and problem.kind == "hash-mismatch"
    house.ensure_built(FILENAME, build, PROV)
    assert build.calls == 2
    assert path.read_bytes() == DATA
    assert any("sha256" in w and "rebuilding" in w for w in warnings)


def test_verify_removes_a_corrupt_wheel_so_pip_never_sees_it(house: Wheelhouse) -> None:
    path = house.ensure_built(FILENAME, Builder(), PROV)
    flip_byte(path)
    problems = house.verify()
    assert [(p.filename, p.kind, p.action) for p in problems] == [
        (FILENAME, "hash-mismatch", "removed")
    ]
    assert not path.exists()
    assert FILENAME not in house.entries()
    assert house.verify() == []


def test_prepare_checks_named_wheels_and_drops_bad_ones(
    house: Wheelhouse, warnings: list[str]
) -> None:
    path = house.ensure_built(FILENAME, Builder(), PROV)
    flip_byte(path)
    assert house.prepare([FILENAME]) == house.find_links_dir
    assert not path.exists()
    assert warnings and FILENAME in warnings[-1]


def test_a_wheel_planted_without_an_index_entry_is_not_trusted(
    house: Wheelhouse, warnings: list[str]
) -> None:
    planted = house.find_links_dir / "evil-1.0-py3-none-any.whl"
    planted.write_bytes(DATA)
    problems = house.verify(repair=False)
    assert [(p.filename, p.kind) for p in problems] == [(planted.name, "not-indexed")]
    house.prepare()
    assert not planted.exists()


def test_a_failed_build_leaves_no_entry_and_no_file(house: Wheelhouse) -> None:
    def broken() -> bytes:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        house.ensure_built(FILENAME, broken, PROV)
    assert FILENAME not in house.entries()
    assert list(house.find_links_dir.iterdir()) == []


def test_leftover_temp_files_of_a_killed_writer_are_cleaned_and_never_wheels(
    house: Wheelhouse,
) -> None:
    leftover = house.find_links_dir / f".{FILENAME}.12345.99{PART}"
    leftover.write_bytes(DATA[:100])
    assert not leftover.name.endswith(".whl")  # pip's --find-links ignores it
    house.ensure_built(FILENAME, Builder(), PROV)
    assert not leftover.exists()
    other = house.find_links_dir / ".other-1.0-py3-none-any.whl.1.2.part"
    other.write_bytes(b"x")
    problems = house.verify()
    assert [(p.kind, p.action) for p in problems] == [("leftover", "removed")]
    assert not other.exists()


def test_an_index_entry_without_its_file_is_rebuilt(house: Wheelhouse) -> None:
    """The state a kill between writing the index and renaming the wheel leaves."""
    build = Builder()
    path = house.ensure_built(FILENAME, build, PROV)
    path.unlink()
    assert house.check(FILENAME).kind == "missing"  # type: ignore[union-attr]
    house.ensure_built(FILENAME, build, PROV)
    assert build.calls == 2 and path.read_bytes() == DATA


def test_damaged_index_is_reported_and_its_wheels_rechecked(
    house: Wheelhouse, warnings: list[str]
) -> None:
    build = Builder()
    house.ensure_built(FILENAME, build, PROV)
    house.index_path.write_text("{not json", encoding="utf-8")
    assert house.entries() == {}
    assert any("damaged" in w for w in warnings)
    house.ensure_built(FILENAME, build, PROV)
    assert build.calls == 2
    assert json.loads(house.index_path.read_text())["entries"][FILENAME]["kind"] == "built"


def test_add_fetched_records_the_index_hash_and_a_url_without_credentials(
    house: Wheelhouse, tmp_path: Path
) -> None:
    download = tmp_path / FILENAME
    download.write_bytes(DATA)
    sha = hashlib.sha256(DATA).hexdigest()
    path = house.add_fetched(download, sha, f"https://user:secret@example.invalid/x/{FILENAME}")
    assert path.read_bytes() == DATA
    entry = house.entries()[FILENAME]
    assert entry.kind == "fetched" and entry.sha256 == sha
    assert "secret" not in entry.origin_url and "user" not in entry.origin_url
    assert "secret" not in house.index_path.read_text()


def test_add_fetched_refuses_a_file_that_does_not_match_the_index(
    house: Wheelhouse, tmp_path: Path
) -> None:
    download = tmp_path / FILENAME
    download.write_bytes(DATA)
    with pytest.raises(CacheError, match="does not match the sha256"):
        house.add_fetched(download, "0" * 64, "https://example.invalid/x.whl")
    assert list(house.find_links_dir.iterdir()) == []


def test_explicit_unusable_folder_is_a_clear_cache_error(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(CacheError) as info:
        Wheelhouse.from_options(str(a_file / "wh"), False)
    assert "not a folder" in info.value.message
    assert "--tfmac-cache-dir" in info.value.remedy


def test_default_folder_unusable_falls_back_to_a_temporary_one_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    monkeypatch.delenv("PIP_TFMAC_CACHE_DIR", raising=False)
    monkeypatch.setattr(cache_mod, "default_root", lambda: a_file / "wh")
    seen: list[str] = []
    house = Wheelhouse.from_options(None, False, warn=seen.append)
    assert house.temporary and house.root.is_dir()
    assert seen and "temporary wheelhouse" in seen[0]


def test_environment_variable_and_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_TFMAC_CACHE_DIR", str(tmp_path / "from-env"))
    assert Wheelhouse.from_options(None, False).root == tmp_path / "from-env"
    temp = Wheelhouse.from_options(None, True)
    assert temp.temporary and temp.root != tmp_path / "from-env"


def test_default_root_is_the_platformdirs_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    root = cache_mod.default_root()
    assert root == Path(platformdirs.user_cache_dir("pip-tfmac", appauthor=False)) / "wheelhouse"


def test_full_disk_while_writing_is_a_clear_error_and_leaves_nothing(
    house: Wheelhouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in for ENOSPC (tests/integration/test_cache_safety.py uses a real tiny tmpfs)."""
    real_write = os.write

    def full(fd: int, data: object) -> int:
        if len(data) > 1000:  # type: ignore[arg-type]
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(cache_mod.os, "write", full)
    with pytest.raises(CacheError) as info:
        house.ensure_built(FILENAME, Builder(), PROV)
    assert "full" in info.value.message
    assert [p for p in house.find_links_dir.iterdir()] == []


def test_remove_by_project_name_or_glob_and_purge(house: Wheelhouse, tmp_path: Path) -> None:
    house.ensure_built(FILENAME, Builder(), PROV)
    other_name, other = build_alias_wheel(
        "tf-keras", "2.15.0+tfmac.1", "keras", "2.15.0", provenance=PROV
    )
    house.ensure_built(other_name, Builder(other), PROV)
    assert house.remove("no-such") == []
    assert house.remove("TensorFlow") == [FILENAME]
    assert sorted(house.entries()) == [other_name]
    assert house.remove("tf_keras-*") == [other_name]
    house.ensure_built(FILENAME, Builder(), PROV)
    assert house.purge() == 1
    assert house.entries() == {} and list(house.find_links_dir.glob("*.whl")) == []


def test_export_copies_checked_wheels(house: Wheelhouse, tmp_path: Path) -> None:
    house.ensure_built(FILENAME, Builder(), PROV)
    out = house.export([FILENAME], tmp_path / "out")
    assert out[0].read_bytes() == DATA


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@host.invalid/a.whl", "https://host.invalid/a.whl"),
        ("https://token@host.invalid/a.whl#sha256=1", "https://host.invalid/a.whl#sha256=1"),
        ("file:///tmp/a.whl", "file:///tmp/a.whl"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
