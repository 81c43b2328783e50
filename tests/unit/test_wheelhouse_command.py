"""`pip-tfmac wheelhouse ...` and `pip-tfmac cache verify` through the real CLI dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.cli import main
from pip_tfmac.errors import ExitCode
from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance, build_alias_wheel

PROV = Provenance(
    "alias tensorflow", "knowledge/tensorflow.toml", (Origin("tensorflow-macos", "2.12.0"),)
)
FILENAME, DATA = build_alias_wheel(
    "tensorflow", "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0", provenance=PROV
)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PIP_TFMAC_CACHE_DIR", str(tmp_path / "wh"))
    Wheelhouse(tmp_path / "wh").ensure_built(FILENAME, lambda: DATA, PROV)
    return tmp_path / "wh"


def test_dir_prints_the_root(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheelhouse", "dir"]) == 0
    assert capsys.readouterr().out.strip() == str(root)


def test_list_shows_size_and_provenance(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheelhouse", "list"]) == 0
    out = capsys.readouterr().out
    size = f"{len(DATA) / 1000:.1f} kB"
    assert f" - {FILENAME} ({size}) built: alias tensorflow (from tensorflow-macos 2.12.0)" in out


def test_list_json_and_abspath(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheelhouse", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 1 and data["wheels"][0]["filename"] == FILENAME
    assert data["wheels"][0]["provenance"]["rule"] == "alias tensorflow"
    assert main(["wheelhouse", "list", "--format", "abspath"]) == 0
    assert capsys.readouterr().out.strip() == str(root / "wheels" / FILENAME)


def test_info_counts(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheelhouse", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["wheels"], data["built"], data["fetched"]) == (1, 1, 0)


def test_cache_verify_is_ours_and_reports_a_flipped_byte(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "verify"]) == 0
    assert "1 wheel verified" in capsys.readouterr().out
    path = root / "wheels" / FILENAME
    data = bytearray(path.read_bytes())
    data[300] ^= 1
    path.write_bytes(bytes(data))
    assert main(["cache", "verify"]) == ExitCode.CACHE
    out = capsys.readouterr().out
    assert f"ERROR: {FILENAME}: sha256" in out and "removed" in out
    assert not path.exists()


def test_remove_and_purge(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheelhouse", "remove", "tensorflow"]) == 0
    assert "Files removed: 1" in capsys.readouterr().out
    assert main(["wheelhouse", "purge"]) == 0
    assert "Files removed: 0" in capsys.readouterr().out


def test_bad_usage_is_exit_64_without_traceback(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wheelhouse", "bogus"]) == ExitCode.USAGE
    assert main(["wheelhouse", "remove"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err and "pip-tfmac: error:" in err


def test_unusable_explicit_dir_is_exit_69(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("")
    assert main(["wheelhouse", "info", "--tfmac-cache-dir", str(a_file / "x")]) == ExitCode.CACHE
    assert "cannot be used" in capsys.readouterr().err
