"""Extracted symbol tables, cached in the wheelhouse by wheel sha256 so a pair is read once.

Reading libtensorflow_cc's exports means inflating 600+ MB (a few seconds); the answer depends
only on the wheel's bytes, so it is kept as compact gzipped JSON under `<wheelhouse>/symbols/`,
one file per (wheel sha256, member), and a second check of any pair with that wheel is a file
read. Files are written atomically (temp file + os.replace), so concurrent runs at worst both
compute the same table; a file that does not parse is ignored and recomputed.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from pip_tfmac.core.linkcheck import ImageExports, PluginImports, WheelRef, basename
from pip_tfmac.wheelhouse import macho

FORMAT = 1
FOLDER = "symbols"
T = TypeVar("T", PluginImports, ImageExports)


class SymbolCache:
    """The `symbols/` folder of a wheelhouse (or any folder: tests, the maintainer tool)."""

    def __init__(self, folder: Optional[Path]) -> None:
        self.folder = folder

    @classmethod
    def in_wheelhouse(cls, root: Path) -> SymbolCache:
        return cls(Path(root) / FOLDER)

    def _path(self, ref: WheelRef, member: str) -> Optional[Path]:
        if self.folder is None:
            return None
        return self.folder / f"{ref.sha256}-{basename(member)}.json.gz"

    def _get(self, ref: WheelRef, member: str, kind: str,
             parse: Callable[[dict[str, Any]], T], compute: Callable[[], T]) -> T:
        path = self._path(ref, member)
        if path is not None and path.is_file():
            try:
                with gzip.open(path, "rt", encoding="utf-8") as handle:
                    data = json.load(handle)
                if data.get("format") == FORMAT and data.get("kind") == kind:
                    return parse(data["value"])
            except (OSError, ValueError, KeyError, TypeError, EOFError):
                pass  # damaged or older: recompute below
        value = compute()
        if path is not None:
            write_json_gz(path, {"format": FORMAT, "kind": kind, "value": value.to_json()})
        return value

    def plugin(self, wheel: Path, ref: WheelRef) -> PluginImports:
        found = macho.scan_wheel(wheel, ref)
        member = found.plugin or "tensorflow-plugins/libmetal_plugin.dylib"
        return self._get(ref, member, "plugin", PluginImports.from_json,
                         lambda: macho.read_plugin(wheel, ref))

    def images(self, wheel: Path, ref: WheelRef, members: tuple[str, ...]
               ) -> tuple[ImageExports, ...]:
        return tuple(
            self._get(ref, member, "image", ImageExports.from_json,
                      lambda member=member: macho.read_image(wheel, member, ref))  # type: ignore[misc]
            for member in members
        )


def write_json_gz(path: Path, data: dict[str, Any]) -> None:
    """Compact, deterministic gzip JSON (mtime 0, sorted keys), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle, gzip.GzipFile(
            filename="", mode="wb", fileobj=handle, mtime=0, compresslevel=6
        ) as gz:
            gz.write(raw)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_json_gz(path: Path) -> Any:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)
