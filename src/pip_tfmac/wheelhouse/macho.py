"""Reading the Mach-O images of a tensorflow-metal wheel and a TensorFlow wheel with LIEF.

The plugin (`tensorflow-plugins/libmetal_plugin.dylib`, about 5 MB) is parsed whole: its
bindings say which symbols it needs and how they are bound. TensorFlow's images are another
matter: `libtensorflow_cc` is 600+ MB uncompressed and LIEF holds the whole file plus its symbol
tables (2+ GB resident when parsed whole, measured). All the check needs from an image is its
export trie (a few MB near the end, in __LINKEDIT) and its load commands. So each image is
streamed out of the zip once (never written to disk) into a small "skeleton" Mach-O
(skeleton.py) that LIEF parses. LIEF still does the real work (trie decoding, re-export
entries, library ordinals, LC_BUILD_VERSION); no Mach-O structure is decoded by hand. Tests
check that the skeleton's exports equal those of a whole parse (a hand-built dylib offline,
_pywrap_tensorflow_internal.so in the network test).

Shims: the `tensorflow` 2.13/2.14 macOS arm64 wheels hold no library and require
`tensorflow-macos` (which holds the build); `tensorflow-macos` 2.16 is the reverse redirect.
`shim_target()` tells the caller which distribution to fetch instead.
"""

from __future__ import annotations

import re
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pip_tfmac.core.linkcheck import ImageExports, Import, PluginImports, WheelRef
from pip_tfmac.errors import BadInputError
from pip_tfmac.wheelhouse.skeleton import export_skeleton
from pip_tfmac.wheelhouse.store import sha256_file
from pip_tfmac.wheelhouse.wheelfile import read_wheel_metadata

PLUGIN_MEMBER = re.compile(r"^tensorflow-plugins/libmetal_plugin\.dylib$")
# TensorFlow's own images that the plugin's imports can land in.
TF_IMAGE_MEMBER = re.compile(
    r"^tensorflow/(python/_pywrap_tensorflow_internal\.so"
    r"|libtensorflow_cc[^/]*\.dylib|libtensorflow_framework[^/]*\.dylib)$"
)
TWO_LEVEL_ONLY_MEMBER = re.compile(r"^tensorflow/python/_pywrap_tensorflow_internal\.so$")

_BIND_FLAT_LOOKUP = -2  # BIND_SPECIAL_DYLIB_FLAT_LOOKUP: `-undefined dynamic_lookup`


@dataclass(frozen=True)
class WheelImages:
    """The Mach-O members of one wheel, or the distribution it redirects to (a shim)."""

    wheel: WheelRef
    plugin: Optional[str]
    images: tuple[str, ...]
    shim_for: Optional[str]


def wheel_ref(path: Path) -> WheelRef:
    return WheelRef(Path(path).name, sha256_file(Path(path)))


def _lief():  # type: ignore[no-untyped-def]
    """LIEF, or a clear error: it is an optional dependency (the `linkcheck` extra)."""
    try:
        import lief
    except ImportError:
        raise BadInputError(
            "the link check needs LIEF, which is not installed.",
            "pip install 'pip-tfmac[linkcheck]' (or pip install lief)",
        ) from None
    lief.logging.disable()
    return lief


def demangle(symbol: str) -> Optional[str]:
    """The C++ name of a mangled symbol, when this LIEF build can say (its demangler is part of
    LIEF's extended build only; the standard wheel returns None, and so does this)."""
    if not symbol.startswith("__Z"):
        return None
    try:
        text = _lief().demangle(symbol[1:])
    except Exception:  # noqa: BLE001 - a missing demangler is not an error
        return None
    return str(text) if text else None


def scan_wheel(path: Path, ref: Optional[WheelRef] = None) -> WheelImages:
    """Which members of the wheel the check reads; for a wheel without them, the shim target."""
    ref = ref or wheel_ref(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise BadInputError(f"{path} is not a readable wheel: {exc}") from None
    plugin = next((n for n in names if PLUGIN_MEMBER.match(n)), None)
    images = tuple(sorted(n for n in names if TF_IMAGE_MEMBER.match(n)))
    shim = None if plugin or images else shim_target(path)
    return WheelImages(ref, plugin, images, shim)


def shim_target(path: Path) -> Optional[str]:
    """The TensorFlow distribution a library-less TensorFlow wheel requires on macOS arm64."""
    meta = read_wheel_metadata(path)
    own = canonicalize_name(meta.get("Name", ""))
    env = {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64",
           "python_version": "3.11", "python_full_version": "3.11.0",
           "implementation_name": "cpython", "platform_python_implementation": "CPython",
           "os_name": "posix", "extra": ""}
    for line in meta.get_all("Requires-Dist") or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        name = canonicalize_name(req.name)
        if name in ("tensorflow", "tensorflow-macos") and name != own:
            if req.marker is None or req.marker.evaluate(env):
                return str(name)
    return None


# ------------------------------------------------------------------------------ the plugin


def read_plugin(path: Path, ref: Optional[WheelRef] = None) -> PluginImports:
    """The plugin's imports bound to TensorFlow (two-level to a TensorFlow image) or flat."""
    found = scan_wheel(path, ref)
    if found.plugin is None:
        raise BadInputError(f"{Path(path).name} has no tensorflow-plugins/libmetal_plugin.dylib: "
                            "is it a tensorflow-metal wheel?")
    with zipfile.ZipFile(path) as zf:
        data = zf.read(found.plugin)
    return plugin_imports(data, found.plugin, found.wheel, Path(path).name)


def plugin_imports(data: bytes, member: str, ref: WheelRef, label: str) -> PluginImports:
    """The imports of a plugin library given as bytes: from a wheel member, or the file
    installed in site-packages (doctor's check of an installed environment)."""
    binary = parse_macho(data, label, bindings=True)
    libraries = [lib.name for lib in binary.libraries]
    tf_names = {n.rsplit("/", 1)[-1] for n in libraries if _is_tf_install_name(n)}
    merged: dict[tuple[str, Optional[str]], Import] = {}
    for binding in binary.bindings:
        if not binding.has_symbol:
            continue
        ordinal = int(binding.library_ordinal)
        if ordinal == _BIND_FLAT_LOOKUP:
            library: Optional[str] = None
        elif ordinal > 0 and binding.has_library:
            library = str(binding.library.name)
            if library.rsplit("/", 1)[-1] not in tf_names:
                continue  # libc++, libSystem, frameworks: not TensorFlow's to provide
        else:
            continue  # self (weak coalescing), main executable, weak lookup
        symbol = str(binding.symbol.name)
        # Chained fixups (newer linkers) have no lazy class: every binding is bound at load.
        lazy = "LAZY" in str(getattr(binding, "binding_class", ""))
        weak = bool(binding.weak_import)
        key = (symbol, library)
        old = merged.get(key)
        if old is not None:  # bound at several addresses: lazy only if every binding is
            lazy, weak = lazy and old.lazy, weak and old.weak
        merged[key] = Import(symbol, library, lazy, weak)
    imports = tuple(sorted(merged.values(), key=lambda i: (i.library is None, i.symbol)))
    return PluginImports(member, ref, imports, _min_macos(binary))


def _is_tf_install_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.startswith(("_pywrap_tensorflow", "libtensorflow"))


# ------------------------------------------------------------------------------ TF images


def read_images(path: Path, *, members: Optional[tuple[str, ...]] = None,
                ref: Optional[WheelRef] = None) -> tuple[ImageExports, ...]:
    """The exports of TensorFlow's images in a wheel (all, or `members`), one member at a time."""
    found = scan_wheel(path, ref)
    wanted = found.images if members is None else tuple(m for m in found.images if m in members)
    return tuple(read_image(path, member, found.wheel) for member in wanted)


def read_image(path: Path, member: str, ref: WheelRef) -> ImageExports:
    """One image's exports, holding at most one of: LIEF's parse, or the Python set of names.

    Peak memory is the budget here (libtensorflow_cc 2.21 exports 430,000 symbols: LIEF's
    objects for them take about 330 MB, the Python set of names about 100 MB). So the names are
    packed (zlib) while LIEF's objects are alive, LIEF's parse is dropped, and the set is built
    after: the two never coexist.
    """
    with zipfile.ZipFile(path) as zf, zf.open(member) as stream:
        return image_from_stream(stream, f"{Path(path).name}:{member}", member, ref)


def image_from_stream(stream: BinaryIO, label: str, member: str, ref: WheelRef) -> ImageExports:
    """One image's exports from a readable stream: a zip member, or an installed file."""
    skeleton = export_skeleton(stream, label)
    binary = parse_macho(skeleton, member, bindings=False)
    del skeleton  # LIEF holds its own copy
    packed = collect_exports(binary, member)
    del binary
    _return_freed_memory()
    return packed.unpack(ref)


def _return_freed_memory() -> None:
    """Hand LIEF's freed heap back to the OS (glibc keeps it otherwise, and Python's allocator
    does not reuse it: the set of names would come on top). A no-op where there is no glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def image_exports(binary, member: str, ref: WheelRef) -> ImageExports:  # type: ignore[no-untyped-def]
    """ImageExports from a LIEF binary (a skeleton or a whole parse: the same answer)."""
    return collect_exports(binary, member).unpack(ref)


@dataclass(frozen=True)
class PackedExports:
    """An image's exports with the regular names zlib-packed, one per line (see read_image)."""

    install_name: str
    member: str
    names: bytes
    reexports: dict[str, tuple[str, str]]
    reexported_libraries: tuple[str, ...]
    min_macos: Optional[tuple[int, int]]

    def unpack(self, ref: WheelRef) -> ImageExports:
        text = zlib.decompress(self.names).decode("utf-8")
        symbols = frozenset(text.split("\n")) - {""}
        return ImageExports(self.install_name, self.member, ref, symbols, self.reexports,
                            self.reexported_libraries, self.min_macos)


def collect_exports(binary, member: str) -> PackedExports:  # type: ignore[no-untyped-def]
    """Read the export trie through LIEF, packing names as they come.

    A re-export entry may rename the symbol in the target image; LIEF 1.0 reports the entry's
    own name as the alias name even then. No TensorFlow image renames a re-export (0 of 6,742
    entries in 2.18.1 and 2.20.0, read from LIEF's trie dump), so the lookup uses the name.
    """
    libraries = list(binary.libraries)
    install_name = str(libraries[0].name) if libraries and _is_id(libraries[0]) else member
    if binary.has_dyld_exports_trie:
        exports = binary.dyld_exports_trie.exports
    elif binary.has_dyld_info:
        exports = binary.dyld_info.exports
    else:
        exports = ()
    packer = zlib.compressobj(1)
    parts: list[bytes] = []
    batch: list[str] = []
    reexports: dict[str, tuple[str, str]] = {}
    for export in exports:
        if not export.has_symbol:
            continue
        name = str(export.symbol.name)
        if "REEXPORT" in str(export.flags_list) and export.alias_library is not None:
            alias = str(export.alias.name) if export.alias is not None else ""
            reexports[name] = (str(export.alias_library.name), alias or name)
            continue
        batch.append(name)
        if len(batch) >= 20000:
            parts.append(packer.compress(("\n".join(batch) + "\n").encode("utf-8")))
            batch.clear()
    parts.append(packer.compress(("\n".join(batch) + "\n").encode("utf-8")))
    parts.append(packer.flush())
    reexported = tuple(str(lib.name) for lib in libraries if "REEXPORT" in str(lib.command))
    return PackedExports(install_name, member, b"".join(parts), reexports, reexported,
                         _min_macos(binary))


def _is_id(library) -> bool:  # type: ignore[no-untyped-def]
    return "ID_DYLIB" in str(library.command)


def _min_macos(binary) -> Optional[tuple[int, int]]:  # type: ignore[no-untyped-def]
    if binary.has_build_version:
        minos = list(binary.build_version.minos)
        return int(minos[0]), int(minos[1])
    if binary.has_version_min:
        version = list(binary.version_min.version)
        return int(version[0]), int(version[1])
    return None


def parse_macho(data: bytes, label: str, *, bindings: bool):  # type: ignore[no-untyped-def]
    lief = _lief()
    config = lief.MachO.ParserConfig()
    config.parse_dyld_exports = not bindings  # the plugin: bindings only; an image: exports only
    config.parse_dyld_bindings = bindings
    config.parse_dyld_rebases = False
    fat = lief.MachO.parse(data, config)
    if fat is None:
        raise BadInputError(f"{label} is not a Mach-O image LIEF can read.")
    for i in range(fat.size):
        binary = fat.at(i)
        if "ARM64" in str(binary.header.cpu_type):
            return binary
    raise BadInputError(f"{label} has no arm64 slice.")
