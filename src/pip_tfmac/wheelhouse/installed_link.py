"""The link check of an installed environment: the plugin library in site-packages against the
Mach-O images of the TensorFlow installed beside it (issue 12 part 5, for `doctor`).

Same rule as `check-pair` (core/linkcheck.check), other inputs: instead of two wheels, the files
`import tensorflow` would really load, so a doctor finding names the symbols dyld will miss on
this very machine, whatever wheel they came from. Reading is I/O (hence here, not in core): each
image is streamed from disk into a skeleton, as for a wheel member (macho.image_from_stream).

A `Reader` does the reading, so tests can hand in symbol tables extracted from the real wheels
(tests/data/linkcheck) where the real 600 MB libraries cannot be committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol, Sequence

from pip_tfmac.core.linkcheck import ImageExports, LinkVerdict, PluginImports, WheelRef, check
from pip_tfmac.errors import BadInputError

PLUGIN = Path("tensorflow-plugins") / "libmetal_plugin.dylib"
# The images the plugin's imports land in, relative to site-packages (as in the wheels).
IMAGE = re.compile(r"^tensorflow/(python/_pywrap_tensorflow_internal\.so"
                   r"|libtensorflow_cc[^/]*\.dylib|libtensorflow_framework[^/]*\.dylib)$")


@dataclass(frozen=True)
class InstalledFiles:
    """The plugin and TensorFlow images found in one site-packages folder."""

    site: Path
    plugin: Path
    images: tuple[Path, ...]

    def member(self, path: Path) -> str:
        return path.relative_to(self.site).as_posix()


class Reader(Protocol):
    def plugin(self, files: InstalledFiles) -> PluginImports: ...

    def image(self, files: InstalledFiles, path: Path) -> ImageExports: ...


class LiefReader:
    """Reads the installed files with LIEF (wheelhouse/macho.py), as check-pair reads wheels.

    The WheelRef of an installed file names its path; its sha256 is left empty, since hashing a
    600 MB library on every doctor run buys nothing here (nothing is cached or recorded)."""

    def plugin(self, files: InstalledFiles) -> PluginImports:
        from pip_tfmac.wheelhouse import macho

        member = files.member(files.plugin)
        return macho.plugin_imports(files.plugin.read_bytes(), member,
                                    WheelRef(str(files.plugin), ""), str(files.plugin))

    def image(self, files: InstalledFiles, path: Path) -> ImageExports:
        from pip_tfmac.wheelhouse import macho

        with open(path, "rb") as stream:
            return macho.image_from_stream(stream, str(path), files.member(path),
                                           WheelRef(str(path), ""))


def find_installed(site_packages: Sequence[str]) -> Optional[InstalledFiles]:
    """The first site-packages folder holding both the plugin and a TensorFlow image."""
    for folder in site_packages:
        site = Path(folder)
        plugin = site / PLUGIN
        tf_dir = site / "tensorflow"
        if not plugin.is_file() or not tf_dir.is_dir():
            continue
        candidates = [*tf_dir.glob("*.dylib"), *(tf_dir / "python").glob("*.so")]
        images = tuple(sorted(p for p in candidates
                              if p.is_file() and IMAGE.match(p.relative_to(site).as_posix())))
        if images:
            return InstalledFiles(site, plugin, images)
    return None


@dataclass(frozen=True)
class InstalledCheck:
    """The verdict, or why there is none (no files, LIEF missing, an unreadable image)."""

    verdict: Optional[LinkVerdict]
    skipped: str = ""


def check_installed(site_packages: Sequence[str], reader: Optional[Reader] = None) -> InstalledCheck:
    """Link-check the installed plugin against the installed TensorFlow images."""
    files = find_installed(site_packages)
    if files is None:
        return InstalledCheck(None, "no installed plugin with TensorFlow images beside it")
    reader = reader or LiefReader()
    try:
        plugin = reader.plugin(files)
        images = tuple(reader.image(files, path) for path in files.images)
    except BadInputError as exc:  # LIEF missing (the linkcheck extra), or not a Mach-O image
        return InstalledCheck(None, exc.message)
    except OSError as exc:
        return InstalledCheck(None, f"could not read the installed libraries: {exc}")
    return InstalledCheck(check(plugin, images))
