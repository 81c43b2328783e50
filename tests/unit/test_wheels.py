"""Deterministic wheel building (src/pip_tfmac/wheels.py)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from packaging.utils import parse_wheel_filename

from pip_tfmac.errors import BadInputError
from pip_tfmac.wheelhouse.wheelfile import (
    PROVENANCE_FILE,
    Origin,
    Provenance,
    build_alias_wheel,
    build_wheel,
    read_wheel_metadata,
    read_wheel_provenance,
    rewrite_wheel,
    verify_record,
)

PROV = Provenance(
    rule="tensorflow-alias",
    source="knowledge/tensorflow.toml",
    made_from=(Origin("tensorflow-macos", "2.12.0"),),
)


def _sample() -> tuple[str, bytes]:
    return build_wheel(
        "My.Package",
        "1.0",
        {"my_package/b.py": b"B = 2\n", "my_package/__init__.py": b"A = 1\n"},
        requires_dist=["packaging>=23", "numpy ; python_version < '3.12'"],
        summary="sample",
        provenance=PROV,
    )


def test_same_inputs_give_same_bytes_twice() -> None:
    assert _sample() == _sample()


_BUILD_IN_CHILD = """
import sys
from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance, build_alias_wheel
p = Provenance("tensorflow-alias", "knowledge/tensorflow.toml", (Origin("tensorflow-macos", "2.12.0"),))
sys.stdout.buffer.write(build_alias_wheel("tensorflow", "2.12.0+tfmac.1", "tensorflow-macos",
                                          "2.12.0", provenance=p)[1])
"""


def test_bytes_do_not_depend_on_clock_umask_timezone_or_hash_seed() -> None:
    outputs = []
    for seed, tz, umask in (("1", "UTC", "0o022"), ("2", "Asia/Tokyo", "0o077")):
        env = dict(os.environ, PYTHONHASHSEED=seed, TZ=tz, SOURCE_DATE_EPOCH="1700000000")
        code = f"import os; os.umask({umask})\n" + _BUILD_IN_CHILD
        outputs.append(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, check=True
            ).stdout
        )
    here = build_alias_wheel(
        "tensorflow", "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0", provenance=PROV
    )[1]
    assert outputs[0] == outputs[1] == here


def test_zip_entries_are_sorted_fixed_time_and_mode_with_record_last() -> None:
    _, data = _sample()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == [
        "my_package/__init__.py",
        "my_package/b.py",
        "my_package-1.0.dist-info/METADATA",
        "my_package-1.0.dist-info/WHEEL",
        f"my_package-1.0.dist-info/{PROVENANCE_FILE}",
        "my_package-1.0.dist-info/RECORD",
    ]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3


def test_record_verifies_and_lists_every_file_with_hash_and_size() -> None:
    _, data = _sample()
    assert verify_record(data) == []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        record = zf.read("my_package-1.0.dist-info/RECORD").decode()
    assert "my_package/__init__.py,sha256=" in record
    assert record.rstrip().endswith("my_package-1.0.dist-info/RECORD,,")
    init_line = next(line for line in record.splitlines() if line.startswith("my_package/__init"))
    assert init_line.endswith(",6")


def test_a_flipped_byte_is_caught_by_record_verification() -> None:
    _, data = _sample()
    tampered = data.replace(b"A = 1\n", b"A = 9\n")
    assert tampered != data
    problems = verify_record(tampered)
    assert problems and "my_package/__init__.py" in problems[0]


def test_content_that_disagrees_with_record_is_caught() -> None:
    """A re-zipped archive (valid CRCs) whose file no longer matches its RECORD line."""
    _, data = _sample()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info, b"A = 9\n" if info.filename.endswith("__init__.py") else content)
    assert verify_record(buf.getvalue()) == ["my_package/__init__.py: hash does not match RECORD"]


def test_filename_and_dist_info_names_are_normalized_per_wheel_spec() -> None:
    filename, data = _sample()
    assert filename == "my_package-1.0-py3-none-any.whl"
    name, version, build, _tags = parse_wheel_filename(filename)
    assert (name, str(version), build) == ("my-package", "1.0", ())
    meta = read_wheel_metadata(data)
    assert meta["Name"] == "My.Package"
    assert meta["Metadata-Version"] == "2.1"
    assert meta.get_all("Requires-Dist") == ["packaging>=23", 'numpy; python_version < "3.12"']


def test_alias_wheel_is_metadata_only_and_requires_the_exact_target() -> None:
    filename, data = build_alias_wheel(
        "tensorflow",
        "2.12.0+tfmac.1",
        "tensorflow_macos",
        "2.12",
        provenance=PROV,
        extras=["and-cuda"],
    )
    assert filename == "tensorflow-2.12.0+tfmac.1-py3-none-any.whl"
    meta = read_wheel_metadata(data)
    assert meta["Version"] == "2.12.0+tfmac.1"
    assert meta.get_all("Requires-Dist") == ["tensorflow-macos==2.12"]
    assert meta.get_all("Provides-Extra") == ["and-cuda"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert all(n.startswith("tensorflow-2.12.0+tfmac.1.dist-info/") for n in zf.namelist())
    assert read_wheel_provenance(data) == PROV


def test_provenance_file_records_rule_source_and_origins() -> None:
    _, data = _sample()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        payload = json.loads(zf.read(f"my_package-1.0.dist-info/{PROVENANCE_FILE}"))
    assert payload["rule"] == "tensorflow-alias"
    assert payload["made_from"] == [{"name": "tensorflow-macos", "version": "2.12.0", "sha256": ""}]
    assert Provenance.from_json(payload) == PROV


def test_compressed_tag_expands_in_wheel_file() -> None:
    filename, data = build_wheel(
        "x", "1", {}, requires_dist=[], summary="", provenance=PROV, tag="py2.py3-none-any"
    )
    assert filename == "x-1-py2.py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        wheel = zf.read("x-1.dist-info/WHEEL").decode()
    assert "Tag: py2-none-any\nTag: py3-none-any\n" in wheel
    assert "Root-Is-Purelib: true" in wheel


@pytest.mark.parametrize("path", ["/etc/passwd", "../evil.py", "a//b.py", "a\\b.py", "C:/x"])
def test_unsafe_paths_are_rejected(path: str) -> None:
    with pytest.raises(BadInputError):
        build_wheel("x", "1", {path: b""}, requires_dist=[], summary="", provenance=PROV)


def test_bad_version_and_requirement_are_clear_errors() -> None:
    with pytest.raises(BadInputError, match="not a valid version"):
        build_wheel("x", "one", {}, requires_dist=[], summary="", provenance=PROV)
    with pytest.raises(BadInputError, match="not a valid requirement"):
        build_wheel("x", "1", {}, requires_dist=["numpy >>> 1"], summary="", provenance=PROV)


def _original_wheel() -> bytes:
    """A third-party style wheel: deflated, other metadata fields, a .data dir, entry points."""
    buf = io.BytesIO()
    files = {
        "pkg/__init__.py": b"import scann\n",
        "pkg/task.py": b"TASK = 1\n",
        "orig_pkg-0.4.3.data/scripts/run-pkg": b"#!python\nprint(1)\n",
        "orig_pkg-0.4.3.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: orig-pkg\nVersion: 0.4.3\nSummary: The original\n"
            b"Author: Someone\nRequires-Python: >=3.7\nRequires-Dist: scann==1.2.6\n"
            b"Requires-Dist: numpy<1.24\n\nLong description.\n"
        ),
        "orig_pkg-0.4.3.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        "orig_pkg-0.4.3.dist-info/entry_points.txt": b"[console_scripts]\npkg = pkg:main\n",
        "orig_pkg-0.4.3.dist-info/RECORD": b"",
    }
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_rewrite_changes_metadata_and_files_and_keeps_the_rest() -> None:
    original = _original_wheel()
    origin = Origin.of_wheel(original)
    assert origin == Origin("orig-pkg", "0.4.3", hashlib.sha256(original).hexdigest())
    prov = Provenance("model-maker-recipe", "recipes/orig.toml", (origin,))

    def rewrite() -> tuple[str, bytes]:
        return rewrite_wheel(
            original,
            name="orig-pkg",
            version="0.4.3+tfmac.1",
            requires_dist=["numpy>=1.23"],
            file_changes={
                "pkg/__init__.py": b"# scann imported lazily\n",
                "pkg/task.py": None,
                "pkg/new.py": b"NEW = 1\n",
            },
            provenance=prov,
        )

    filename, data = rewrite()
    assert (filename, data) == rewrite()
    assert filename == "orig_pkg-0.4.3+tfmac.1-py3-none-any.whl"
    assert verify_record(data) == []
    meta = read_wheel_metadata(data)
    assert meta["Version"] == "0.4.3+tfmac.1"
    assert meta.get_all("Requires-Dist") == ["numpy>=1.23"]
    assert meta["Author"] == "Someone" and meta["Requires-Python"] == ">=3.7"
    assert meta["Summary"] == "The original"
    assert meta.get_payload().strip() == "Long description."
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert zf.read("pkg/__init__.py") == b"# scann imported lazily\n"
        script = zf.getinfo("orig_pkg-0.4.3+tfmac.1.data/scripts/run-pkg")
        assert script.external_attr >> 16 == 0o100755
    assert "pkg/task.py" not in names and "pkg/new.py" in names
    assert "orig_pkg-0.4.3+tfmac.1.dist-info/entry_points.txt" in names
    assert not any(n.startswith("orig_pkg-0.4.3.dist-info") for n in names)
    assert read_wheel_provenance(data) == prov


def test_rewrite_refuses_to_delete_a_file_the_original_lacks() -> None:
    with pytest.raises(BadInputError, match="no such file"):
        rewrite_wheel(
            _original_wheel(),
            name="orig-pkg",
            version="0.4.3+tfmac.1",
            requires_dist=[],
            file_changes={"pkg/missing.py": None},
            provenance=PROV,
        )


def test_not_a_wheel_is_a_clear_error() -> None:
    with pytest.raises(BadInputError, match="not a readable wheel"):
        read_wheel_metadata(b"not a zip")
