"""installer's destination for the fast path: files written on a thread pool, remembered.

Why: creating a file costs milliseconds on some file systems, far more than unzipping it;
every path written is remembered so a failed install can be rolled back.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any, BinaryIO

_BIG = 32 * 1024 * 1024  # files above this are streamed in the calling thread, not buffered


def destination_class() -> type:
    """A SchemeDictionaryDestination that writes files on a thread pool and remembers them.

    Creating a file costs milliseconds on some file systems (journal, VM disks), far more than
    unzipping it, and pip creates them one after another. Here the calling thread reads and
    hashes each member (RECORD needs the hash at once) and hands open+write+close to `pool` (scripts and big
    files are written at once: installer stats scripts right after writing them);
    `wait()` collects the results. Every path is remembered for rollback. Folders are created
    race-free (several wheels share namespace folders).
    """
    import hashlib

    from installer.destinations import SchemeDictionaryDestination
    from installer.records import Hash, RecordEntry
    from installer.utils import make_file_executable

    def write(target: Path, data: bytes, is_executable: bool) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            handle.write(data)
        if is_executable:
            make_file_executable(target)

    class TrackingDestination(SchemeDictionaryDestination):  # type: ignore[misc]
        # A plain subclass: installer >= 0.8 makes the base a dataclass, 0.7 does not.
        def __init__(self, *args: Any, pool: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pool = pool
            self.written: list[Path] = []
            self.pending: list[Any] = []

        def write_to_fs(self, scheme: Any, path: str, stream: BinaryIO, is_executable: bool) -> Any:
            base = os.path.abspath(self.scheme_dict[scheme])
            target = Path(os.path.abspath(os.path.join(base, path)))
            if os.path.commonpath([str(target), base]) != base:  # installer 0.7 does not check
                raise ValueError(f"wheel path {path!r} leaves its install folder")
            self.written.append(target)
            data = stream.read(_BIG + 1)
            digest = hashlib.new(self.hash_algorithm, data)
            if len(data) > _BIG or self.pool is None or scheme == "scripts":
                target.parent.mkdir(parents=True, exist_ok=True)
                size = len(data)
                with target.open("wb") as handle:
                    while data:
                        handle.write(data)
                        data = stream.read(1 << 20)
                        digest.update(data)
                        size += len(data)
                if is_executable:
                    make_file_executable(target)
            else:
                size = len(data)
                self.pending.append(self.pool.submit(write, target, data, is_executable))
            encoded = base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
            return RecordEntry(path, Hash(self.hash_algorithm, encoded), size)

        def wait(self) -> None:
            for future in self.pending:
                future.result()

    return TrackingDestination
