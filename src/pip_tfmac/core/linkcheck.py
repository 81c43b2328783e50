"""Does a tensorflow-metal plugin link against a TensorFlow build? Decided from values only.

Why a static check is enough to catch the breaks users hit: TensorFlow loads every library in
`tensorflow-plugins/` with `dlopen(RTLD_NOW | RTLD_LOCAL)`, so dyld binds every import of the
plugin at load time, lazy or not, and one symbol that no TensorFlow image exports makes
`import tensorflow` itself fail ("Symbol not found"). The plugin imports TensorFlow symbols two
ways (measured in the wheels, see docs): two-level, naming `@rpath/_pywrap_tensorflow_internal.so`,
which TensorFlow satisfies through per-symbol re-export entries of its export trie (pointing into
`libtensorflow_cc`), and flat (library ordinal -2, from `-undefined dynamic_lookup`), which any
loaded image may satisfy. What this does not see: struct sizes of the C API, runtime
registration, anything past linking.

This module is pure: the Mach-O reading is wheelhouse/macho.py's job; here are the values it
produces and the rule that turns them into a verdict, so the rule is tested with hand-made values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

LINKS = "links"
BROKEN = "broken"

# Knowledge states a pair gets from a link check (links.toml); the curated states of
# tensorflow.toml are `verified`, `unverified` and `broken`.
LINK_CHECKED = "link-checked"
LINK_BROKEN = "link-broken"

SCOPE_FULL = "full"  # two-level and flat imports, every TensorFlow image read
SCOPE_TWO_LEVEL = "two-level"  # only the imports bound to a named image; flat ones not checked

# Prefixes of TensorFlow's C APIs (the plugin's plain-C imports). A flat import that is neither
# one of these nor C++ outside namespace std (protobuf, absl, tsl and tensorflow are all bundled
# into TensorFlow's images) belongs to a system library the plugin links itself (1.2.0 binds
# `_objc_msgSend` flat; libobjc provides it): it is listed as external, not missing.
TF_C_PREFIXES = ("_TF_", "_TFE_", "_TSL_", "_TP_", "_XLA_", "_PJRT_", "_TF")
SYSTEM_CXX_PREFIXES = ("__ZNSt", "__ZNKSt", "__ZSt", "__ZTVNSt", "__ZTINSt", "__ZTSNSt", "__ZdlPv",
                       "__Znwm", "__Znam", "__ZdaPv")

# A re-export chain longer than this is a loop or a corrupt image, not a real library layout.
MAX_REEXPORT_DEPTH = 8


def format_macos(version: Optional[tuple[int, int]]) -> Optional[str]:
    return None if version is None else "%d.%d" % version


def parse_macos(text: Optional[str]) -> Optional[tuple[int, int]]:
    if not text:
        return None
    major, _, minor = text.partition(".")
    return int(major), int(minor.split(".")[0] or 0)


def is_tensorflow_symbol(symbol: str) -> bool:
    """Could TensorFlow's images be the ones to provide this flat import? (See TF_C_PREFIXES.)"""
    if symbol.startswith(SYSTEM_CXX_PREFIXES):
        return False
    return symbol.startswith("__Z") or symbol.startswith(TF_C_PREFIXES)


def basename(install_name: str) -> str:
    """`@rpath/libfoo.dylib` -> `libfoo.dylib`: how an import names an image regardless of path."""
    return install_name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class WheelRef:
    """A wheel a verdict was read from; the sha256 makes the verdict reproducible and checkable."""

    filename: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"filename": self.filename, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WheelRef:
        return cls(str(data["filename"]), str(data["sha256"]))


@dataclass(frozen=True)
class Import:
    """One symbol the plugin needs from outside itself.

    `library` is the install name a two-level import is bound to; None for a flat import
    (ordinal -2, looked up in every loaded image). `lazy` is kept because users ask "but it is
    lazy": under RTLD_NOW it fails at load all the same. `weak` imports (weak_import) may be
    missing: dyld binds them to NULL.
    """

    symbol: str
    library: Optional[str]
    lazy: bool
    weak: bool = False

    @property
    def two_level(self) -> bool:
        return self.library is not None

    def to_json(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "library": self.library, "lazy": self.lazy,
                "weak": self.weak}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Import:
        library = data.get("library")
        return cls(str(data["symbol"]), None if library is None else str(library),
                   bool(data.get("lazy", False)), bool(data.get("weak", False)))


@dataclass(frozen=True)
class PluginImports:
    """The plugin library's imports that TensorFlow must satisfy (two-level to a TensorFlow image
    and every flat one), with its own minimum macOS and the wheel it came from."""

    member: str
    wheel: WheelRef
    imports: tuple[Import, ...]
    min_macos: Optional[tuple[int, int]] = None

    def two_level(self) -> tuple[Import, ...]:
        return tuple(i for i in self.imports if i.two_level)

    def flat(self) -> tuple[Import, ...]:
        return tuple(i for i in self.imports if not i.two_level)

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "wheel": self.wheel.to_json(),
                "min_macos": format_macos(self.min_macos),
                "imports": [i.to_json() for i in self.imports]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PluginImports:
        return cls(str(data["member"]), WheelRef.from_json(data["wheel"]),
                   tuple(Import.from_json(i) for i in data["imports"]),
                   parse_macos(data.get("min_macos")))


@dataclass(frozen=True)
class ImageExports:
    """What one TensorFlow Mach-O image exports, read from its export trie.

    `reexports` maps a symbol to (install name of the image that really defines it, its name
    there): a per-symbol REEXPORT entry of the trie, which a symbol-table (nm) reading misses.
    `reexported_libraries` are whole libraries re-exported by LC_REEXPORT_DYLIB (none in the
    TensorFlow wheels measured so far; handled so a future build does not fool the check).
    """

    install_name: str
    member: str
    wheel: WheelRef
    symbols: frozenset[str]
    reexports: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    reexported_libraries: tuple[str, ...] = ()
    min_macos: Optional[tuple[int, int]] = None

    def to_json(self) -> dict[str, Any]:
        return {"install_name": self.install_name, "member": self.member,
                "wheel": self.wheel.to_json(), "min_macos": format_macos(self.min_macos),
                "symbols": sorted(self.symbols),
                "reexports": {k: list(v) for k, v in sorted(self.reexports.items())},
                "reexported_libraries": list(self.reexported_libraries)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageExports:
        return cls(
            install_name=str(data["install_name"]), member=str(data["member"]),
            wheel=WheelRef.from_json(data["wheel"]), symbols=frozenset(data["symbols"]),
            reexports={k: (str(v[0]), str(v[1])) for k, v in data.get("reexports", {}).items()},
            reexported_libraries=tuple(data.get("reexported_libraries", ())),
            min_macos=parse_macos(data.get("min_macos")),
        )


@dataclass(frozen=True)
class Missing:
    """An import no TensorFlow image satisfies; `reason` says where the lookup ended."""

    symbol: str
    library: Optional[str]
    lazy: bool
    weak: bool
    reason: str

    @property
    def two_level(self) -> bool:
        return self.library is not None

    def describe(self) -> str:
        binding = f"two-level to {self.library}" if self.library else "flat"
        laziness = "lazy" if self.lazy else "non-lazy"
        weak = ", weak import (dyld binds it to NULL)" if self.weak else ""
        return f"{self.symbol} ({binding}, {laziness}{weak}): {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "binding": "two-level" if self.library else "flat",
                "library": self.library, "lazy": self.lazy, "weak": self.weak,
                "reason": self.reason}


@dataclass(frozen=True)
class LinkVerdict:
    """The answer for one plugin wheel against one TensorFlow build.

    `state` is "links" or "broken" (a missing weak import does not break). `min_macos` maps each
    image read (plugin included, by its member path) to its LC_BUILD_VERSION minimum, so a pair
    that links but needs a newer macOS than the target can be told apart. `unfollowed` counts
    re-exports into an image that was not read (a system library, or libtensorflow_cc in a
    two-level-only check): dyld would follow them; this check trusts them. `external` are flat
    imports no TensorFlow image exports that are system symbols (see is_tensorflow_symbol).
    """

    state: str
    scope: str
    plugin: WheelRef
    tensorflow: tuple[WheelRef, ...]
    missing: tuple[Missing, ...]
    checked_two_level: int
    checked_flat: int
    min_macos: Mapping[str, Optional[tuple[int, int]]]
    unfollowed: int = 0
    external: tuple[str, ...] = ()

    @property
    def links(self) -> bool:
        return self.state == LINKS

    @property
    def knowledge_state(self) -> str:
        return LINK_CHECKED if self.links else LINK_BROKEN

    def fatal(self) -> tuple[Missing, ...]:
        return tuple(m for m in self.missing if not m.weak)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "knowledge_state": self.knowledge_state,
            "scope": self.scope,
            "plugin": self.plugin.to_json(),
            "tensorflow": [w.to_json() for w in self.tensorflow],
            "missing": [m.to_json() for m in self.missing],
            "checked": {"two_level": self.checked_two_level, "flat": self.checked_flat},
            "unfollowed_reexports": self.unfollowed,
            "external": list(self.external),
            "min_macos": {k: format_macos(v) for k, v in self.min_macos.items()},
        }


class _Resolver:
    """Looks symbols up in a set of images the way dyld does for the two binding kinds."""

    def __init__(self, images: tuple[ImageExports, ...]) -> None:
        self.images = images
        self.by_name: dict[str, ImageExports] = {}
        for image in images:
            # dyld finds an `@rpath/NAME` import by the file's path, whatever the file's own
            # install name (TF 2.20's _pywrap_tensorflow_internal.so is a stub whose install
            # name is a bazel path): index by both.
            self.by_name.setdefault(image.install_name, image)
            self.by_name.setdefault(basename(image.install_name), image)
            self.by_name.setdefault(basename(image.member), image)
        self.unfollowed = 0

    def image(self, install_name: str) -> Optional[ImageExports]:
        return self.by_name.get(install_name) or self.by_name.get(basename(install_name))

    def in_image(self, image: ImageExports, symbol: str, depth: int = 0) -> Optional[str]:
        """None when `image` provides `symbol` (directly or through a re-export it points to);
        otherwise why not."""
        if depth > MAX_REEXPORT_DEPTH:
            return f"re-export chain longer than {MAX_REEXPORT_DEPTH} (a loop?)"
        if symbol in image.symbols:
            return None
        target = image.reexports.get(symbol)
        if target is not None:
            library, name = target
            next_image = self.image(library)
            if next_image is None:
                self.unfollowed += 1  # outside the images read: trusted, counted
                return None
            why = self.in_image(next_image, name, depth + 1)
            if why is None:
                return None
            return f"{basename(image.member)} re-exports it from {basename(library)}, " + why
        for library in image.reexported_libraries:
            next_image = self.image(library)
            if next_image is not None and self.in_image(next_image, symbol, depth + 1) is None:
                return None
        return f"{basename(image.member)} does not export it"

    def anywhere(self, symbol: str) -> bool:
        return any(self.in_image(image, symbol) is None for image in self.images)


def check(
    plugin: PluginImports, images: tuple[ImageExports, ...], *, scope: str = SCOPE_FULL
) -> LinkVerdict:
    """The verdict for `plugin` against TensorFlow's `images`.

    Two-level imports must be provided by the image they name (following re-exports); an import
    naming an image that was not read is reported missing, since dyld would fail to load it.
    Flat imports must be exported by some image. With scope "two-level" the flat imports are
    not checked (the caller did not read libtensorflow_cc).
    """
    resolver = _Resolver(tuple(images))
    missing: list[Missing] = []
    two_level = plugin.two_level()
    flat = plugin.flat() if scope == SCOPE_FULL else ()
    for imp in two_level:
        assert imp.library is not None
        image = resolver.image(imp.library)
        if image is None:
            why: Optional[str] = f"no TensorFlow image is named {basename(imp.library)}"
        else:
            why = resolver.in_image(image, imp.symbol)
        if why is not None:
            missing.append(Missing(imp.symbol, imp.library, imp.lazy, imp.weak, why))
    external: list[str] = []
    for imp in flat:
        if not resolver.anywhere(imp.symbol):
            if not is_tensorflow_symbol(imp.symbol):
                external.append(imp.symbol)
                continue
            missing.append(Missing(imp.symbol, None, imp.lazy, imp.weak,
                                   "no TensorFlow image exports it"))
    missing.sort(key=lambda m: (m.library is None, m.symbol))
    wheels: list[WheelRef] = []
    for image in images:
        if image.wheel not in wheels:
            wheels.append(image.wheel)
    min_macos: dict[str, Optional[tuple[int, int]]] = {plugin.member: plugin.min_macos}
    for image in images:
        min_macos[image.member] = image.min_macos
    fatal = any(not m.weak for m in missing)
    return LinkVerdict(
        state=BROKEN if fatal else LINKS,
        scope=scope,
        plugin=plugin.wheel,
        tensorflow=tuple(wheels),
        missing=tuple(missing),
        checked_two_level=len(two_level),
        checked_flat=len(flat),
        min_macos=min_macos,
        unfollowed=resolver.unfollowed,
        external=tuple(sorted(external)),
    )


def needed_symbols(plugins: tuple[PluginImports, ...], images: tuple[ImageExports, ...]
                   ) -> tuple[ImageExports, ...]:
    """The images cut down to what these plugins can ask of them (and the re-export targets),
    so a test fixture keeps real extracted data in a few kilobytes. The verdict of every
    plugin given stays the same."""
    wanted: dict[str, set[str]] = {image.install_name: set() for image in images}
    names = {imp.symbol for plugin in plugins for imp in plugin.imports}
    by_name = {image.install_name: image for image in images}
    by_base = {basename(image.install_name): image for image in images}
    pending = [(image, name) for image in images for name in names]
    seen: set[tuple[str, str]] = set()
    while pending:
        image, name = pending.pop()
        key = (image.install_name, name)
        if key in seen:
            continue
        seen.add(key)
        wanted[image.install_name].add(name)
        target = image.reexports.get(name)
        if target is not None:
            nxt = by_name.get(target[0]) or by_base.get(basename(target[0]))
            if nxt is not None:
                pending.append((nxt, target[1]))
    return tuple(
        ImageExports(
            install_name=image.install_name, member=image.member, wheel=image.wheel,
            symbols=frozenset(image.symbols & wanted[image.install_name]),
            reexports={k: v for k, v in image.reexports.items() if k in wanted[image.install_name]},
            reexported_libraries=image.reexported_libraries, min_macos=image.min_macos,
        )
        for image in images
    )
