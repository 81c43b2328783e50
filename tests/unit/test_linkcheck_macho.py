"""wheelhouse/macho.py and symbols.py offline: a hand-built Mach-O dylib (header, load commands,
an export trie with a regular and a re-export entry) read whole and as a streamed skeleton;
shim wheels; the symbol cache. The real wheels are read in tests/network/test_linkcheck_live.py.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from helpers import write_wheel
from pip_tfmac.core.linkcheck import WheelRef
from pip_tfmac.errors import BadInputError
from pip_tfmac.flows.check_pair import find_local
from pip_tfmac.wheelhouse import macho
from pip_tfmac.wheelhouse.symbols import SymbolCache

lief = pytest.importorskip("lief")
REF = WheelRef("tensorflow-9.9.0-cp311-cp311-macosx_12_0_arm64.whl", "c" * 64)


def _dylib_cmd(cmd: int, name: str) -> bytes:
    raw = name.encode() + b"\0"
    size = (24 + len(raw) + 7) // 8 * 8
    return struct.pack("<IIIIII", cmd, size, 24, 2, 0x10000, 0x10000) + raw.ljust(size - 24, b"\0")


def _segment(name: str, vmaddr: int, vmsize: int, fileoff: int, filesize: int) -> bytes:
    return struct.pack("<II16sQQQQiiII", 0x19, 72, name.encode(), vmaddr, vmsize, fileoff,
                       filesize, 7, 7, 0, 0)


def build_dylib(junk: int = 5000) -> bytes:
    """An arm64 dylib exporting `_foo` and re-exporting `_bar` from liby (same name, as every
    re-export in the TensorFlow wheels; see macho.image_exports on renamed ones)."""
    root = b"\x00\x02" + b"_foo\x00" + bytes([14]) + b"_bar\x00" + bytes([18])
    foo = b"\x02\x00\x10\x00"
    bar = b"\x03\x08\x01\x00\x00"
    trie = root + foo + bar
    trie_off = 4096 + junk
    commands = [
        _segment("__TEXT", 0, 0x4000, 0, 4096),
        _segment("__LINKEDIT", 0x4000, 0x4000, trie_off, len(trie)),
        _dylib_cmd(0xD, "@rpath/libx.dylib"),
        _dylib_cmd(0xC, "@rpath/liby.dylib"),
        struct.pack("<12I", 0x80000022, 48, 0, 0, 0, 0, 0, 0, 0, 0, trie_off, len(trie)),
        struct.pack("<IIIIII", 0x32, 24, 1, (12 << 16) | (1 << 8), 14 << 16, 0),
        struct.pack("<IIIIII", 0x2, 24, 0, 0, 0, 0),
    ]
    body = b"".join(commands)
    header = struct.pack("<IiiIIIII", 0xFEEDFACF, 0x0100000C, 0, 6, len(commands), len(body), 0, 0)
    data = (header + body).ljust(4096, b"\0") + b"\xAA" * junk + trie
    return data


def fat(thin: bytes) -> bytes:
    offset = 4096
    head = struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 0x0100000C, 0, offset,
                                                           len(thin), 12)
    return head.ljust(offset, b"\0") + thin


@pytest.mark.parametrize("wrap", [lambda b: b, fat], ids=["thin", "fat"])
def test_skeleton_keeps_the_exports_reexports_and_min_macos(wrap):
    data = wrap(build_dylib())
    skeleton = macho.export_skeleton(io.BytesIO(data), "libx")
    assert len(skeleton) < 400
    binary = macho.parse_macho(skeleton, "libx", bindings=False)
    image = macho.image_exports(binary, "lib/libx.dylib", REF)
    assert image.install_name == "@rpath/libx.dylib"
    assert image.symbols == {"_foo"}
    assert image.reexports == {"_bar": ("@rpath/liby.dylib", "_bar")}
    assert image.min_macos == (12, 1)


def test_skeleton_equals_a_whole_parse():
    data = build_dylib()
    whole = macho.image_exports(lief.MachO.parse(data).at(0), "m", REF)
    skeleton = macho.export_skeleton(io.BytesIO(data), "x")
    assert whole == macho.image_exports(macho.parse_macho(skeleton, "x", bindings=False), "m", REF)


def test_read_image_streams_the_member_out_of_a_wheel(tmp_path):
    wheel = tmp_path / REF.filename
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tensorflow/libtensorflow_cc.2.dylib", build_dylib(junk=3_000_000))
    found = macho.scan_wheel(wheel, REF)
    assert found.images == ("tensorflow/libtensorflow_cc.2.dylib",) and found.plugin is None
    (image,) = macho.read_images(wheel, ref=REF)
    assert image.symbols == {"_foo"}


@pytest.mark.parametrize("data, message", [
    (b"\x00" * 64, "not a 64-bit Mach-O"),
    (build_dylib()[:100], "ends early"),
    (struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 7, 3, 4096, 10, 12), "no arm64"),
])
def test_skeleton_rejects_what_is_not_an_arm64_image(data, message):
    with pytest.raises(BadInputError, match=message):
        macho.export_skeleton(io.BytesIO(data), "x")


def test_shim_wheel_names_the_distribution_that_holds_the_build(tmp_path):
    path = Path(write_wheel(str(tmp_path), "tensorflow", "2.13.1", [
        "tensorflow-macos==2.13.1; platform_system == 'Darwin' and platform_machine == 'arm64'",
        "tensorflow-cpu-aws==2.13.1; platform_system == 'Linux'"], {}))
    found = macho.scan_wheel(path)
    assert found.images == () and found.shim_for == "tensorflow-macos"
    plain = Path(write_wheel(str(tmp_path), "other", "1.0", ["numpy"], {"x.py": ""}))
    assert macho.scan_wheel(plain).shim_for is None


def test_read_plugin_of_a_wheel_without_the_plugin_says_so(tmp_path):
    path = Path(write_wheel(str(tmp_path), "tensorflow-metal", "1.2.0", [], {"x.py": ""}))
    with pytest.raises(BadInputError, match="libmetal_plugin.dylib"):
        macho.read_plugin(path)


def test_find_local_picks_the_macos_arm64_wheel_for_the_python(tmp_path):
    for name in ("tensorflow-2.18.1-cp311-cp311-macosx_12_0_arm64.whl",
                 "tensorflow-2.18.1-cp311-cp311-manylinux_2_17_x86_64.whl",
                 "tensorflow-2.18.1-cp312-cp312-macosx_12_0_arm64.whl"):
        (tmp_path / name).write_bytes(b"")
    assert find_local(tmp_path, "tensorflow", "2.18.1", "3.11").name.startswith(
        "tensorflow-2.18.1-cp311-cp311-macosx")
    assert find_local(tmp_path, "tensorflow", "2.18.1", "3.10") is None
    assert find_local(tmp_path, "tensorflow", "2.18.0", "3.11") is None


def test_symbol_cache_reads_an_image_once(tmp_path, monkeypatch):
    wheel = tmp_path / REF.filename
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("tensorflow/libtensorflow_cc.2.dylib", build_dylib())
    calls = []
    real = macho.read_image
    monkeypatch.setattr(macho, "read_image", lambda *a: calls.append(a) or real(*a))
    cache = SymbolCache(tmp_path / "symbols")
    first = cache.images(wheel, REF, ("tensorflow/libtensorflow_cc.2.dylib",))
    second = SymbolCache(tmp_path / "symbols").images(
        wheel, REF, ("tensorflow/libtensorflow_cc.2.dylib",))
    assert first == second and len(calls) == 1
    (stored,) = (tmp_path / "symbols").iterdir()
    assert stored.name == f"{REF.sha256}-libtensorflow_cc.2.dylib.json.gz"
    stored.write_bytes(b"damaged")  # recomputed, not trusted
    assert SymbolCache(tmp_path / "symbols").images(
        wheel, REF, ("tensorflow/libtensorflow_cc.2.dylib",)) == first
    assert len(calls) == 2
