"""Wheels unpacked once per target Python, with bytecode, ready to be copied or linked.

Why: reinstalling a cached plan into a fresh environment with pip means unzipping every wheel
and compiling every module again (for TensorFlow, most of the time goes to `compileall`).
The wheelhouse keeps, next to each verified wheel, an unpacked tree for each Python it was
installed for (`unpacked/<sha256>-<cache tag>/`, e.g. `...-cpython-311`), with the `.pyc`
files compiled by that Python. Installing is then copying files (kernel-side copy, mtimes
kept so the `.pyc` stay valid) or hard-linking them, in parallel, plus writing what is
specific to the environment: console scripts with its interpreter in the shebang, RECORD,
INSTALLER, REQUESTED.

The tree is built in a temporary folder and renamed into place under the wheelhouse lock, so
it is either complete or absent; its key is the sha256 of the verified wheel it came from.
Every file is hashed again as it is copied or linked into an environment (the manifest holds
the sha256 of each, .pyc included): a damaged tree raises DamagedTree, the install is rolled
back and the tree rebuilt from the wheel.

Hard links (`link_mode="hardlink"`) share the files' inodes between environments and the
store, as uv does on Linux: fastest, but editing an installed file in place changes it
everywhere. "copy" (the default) gives every environment its own files.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import os
import posixpath
import stat
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.fsutil import (
    CHUNK,
    NotAFile,
    describe_os_error,
    kind_of,
    open_regular,
    remove_inside,
)
from pip_tfmac.wheelhouse.manifest import (
    MANIFEST,
    SCHEMES,
    DamagedTree,
    Manifest,
    StoredFile,
    load_manifest,
    read_checked,
    record_hash,
)

__all__ = [
    "MANIFEST",
    "DamagedTree",
    "Manifest",
    "StoredFile",
    "build_tree",
    "ensure_tree",
    "install_tree",
    "installable",
    "remove_tree",
    "tree_lock_name",
]

Lock = Callable[[str], contextlib.AbstractContextManager[None]]

_SKIP_DIST_INFO = {
    "RECORD",
    "INSTALLER",
    "REQUESTED",
    "direct_url.json",
    "RECORD.jws",
    "RECORD.p7s",
}


def _scheme_of(path: str, data_dir: str, root_scheme: str) -> tuple[str, str]:
    if path.startswith(data_dir + "/"):
        scheme, _, rest = path[len(data_dir) + 1 :].partition("/")
        if scheme not in SCHEMES or not rest:
            raise ValueError(f"unknown scheme in wheel path {path!r}")
        return scheme, rest
    return root_scheme, path


def _safe_join(base: Path, rel: str) -> Path:
    target = Path(os.path.abspath(base / rel))
    if os.path.commonpath([str(target), str(os.path.abspath(base))]) != str(os.path.abspath(base)):
        raise ValueError(f"wheel path {rel!r} leaves its folder")
    return target


def build_tree(wheel: Path, dest: Path, python: str) -> Manifest:
    """Unpack `wheel` into `dest/<scheme>/...` and compile its modules with `python`."""
    from installer.sources import WheelFile
    from installer.utils import parse_metadata_file

    with WheelFile.open(wheel) as source:
        wheel_meta = parse_metadata_file(source.read_dist_info("WHEEL"))
        root_scheme = "purelib" if wheel_meta.get("Root-Is-Purelib") == "true" else "platlib"
        data_dir = source.data_dir
        dist_info = source.dist_info_dir
        files: list[StoredFile] = []
        scripts: list[StoredFile] = []
        for record, stream, executable in source.get_contents():
            path = record[0]
            if path.startswith(dist_info + "/") and path.split("/", 1)[1] in _SKIP_DIST_INFO:
                continue
            scheme, rel = _scheme_of(path, data_dir, root_scheme)
            data = stream.read()
            target = _safe_join(dest / scheme, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            if executable:
                target.chmod(0o755)
            entry = StoredFile(scheme, rel, record_hash(data), len(data), bool(executable))
            (scripts if scheme == "scripts" else files).append(entry)
        name, version = source.distribution, source.version
    pys = [
        dest / f.scheme / f.path
        for f in files
        if f.path.endswith(".py") and f.scheme in ("purelib", "platlib")
    ]
    if pys:
        subprocess.run(
            [python, "-I", "-m", "compileall", "-q", "-j", "0", "-i", "-"],
            input="\n".join(str(p) for p in pys),
            text=True,
            capture_output=True,
            check=False,
        )
    # Bytecode as it is now on disk: compileall may also have rewritten a .pyc the wheel
    # shipped (numpy does), as pip's own compile step would.
    files = [f for f in files if not f.path.endswith(".pyc")]
    for scheme in ("purelib", "platlib"):
        for pyc in sorted((dest / scheme).rglob("*.pyc")):
            rel = pyc.relative_to(dest / scheme).as_posix()
            data = pyc.read_bytes()
            files.append(StoredFile(scheme, rel, record_hash(data), len(data), False))
    manifest = Manifest(name, version, dist_info, root_scheme, tuple(files), tuple(scripts))
    (dest / MANIFEST).write_text(json.dumps(manifest.to_json()), encoding="utf-8")
    return manifest


def tree_lock_name(tree_name: str) -> str:
    """The lock of one tree (`<sha256[:40]>-<cache tag>`): builders and removers share it."""
    return f"unpacked-{tree_name[:24]}-{tree_name[41:]}"


def ensure_tree(
    store: Path, wheel: Path, sha256: str, cache_tag: str, python: str, lock: Lock
) -> tuple[Path, Manifest]:
    """The unpacked tree of a verified wheel for one Python (built on first use).

    A tree that is not a real folder with a sound manifest (a link, a file, a damaged or old
    manifest) is removed, never followed, and rebuilt. A full disk is a CacheError.
    """
    final = store / f"{sha256[:40]}-{cache_tag}"
    manifest_path = final / MANIFEST
    if kind_of(final) == "dir":
        with contextlib.suppress(ValueError, OSError):
            return final, load_manifest(manifest_path)
    try:
        with lock(tree_lock_name(final.name)):
            if kind_of(final) == "dir":
                try:
                    return final, load_manifest(manifest_path)
                except (ValueError, OSError):
                    pass  # older format or damaged: rebuilt below
            store.mkdir(mode=0o700, parents=True, exist_ok=True)
            remove_inside(final, store.parent)
            for stale in store.glob(f".{final.name}.*"):
                remove_inside(
                    stale, store.parent
                )  # a builder or remover that was killed; lock is ours
            work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=store))
            try:
                manifest = build_tree(wheel, work, python)
                os.replace(work, final)  # the whole tree appears at once
            except BaseException:
                with contextlib.suppress(OSError):
                    remove_inside(work, store.parent)
                raise
    except OSError as exc:
        raise CacheError(
            f"cannot unpack {wheel.name} into the wheelhouse {store.parent}: "
            f"{describe_os_error(exc)}",
            "free some space, or pass --tfmac-cache-dir DIR / --no-tfmac-cache",
        ) from None
    return final, manifest


def remove_tree(tree: Path, lock: Lock) -> None:
    """Drop a damaged tree (its name is unique per wheel and Python), so the next use rebuilds.

    Renamed first, then removed: a run killed in between leaves a `.removing` folder that the
    next builder of this tree (or `verify`) cleans, never a half-deleted tree in use.
    """
    with lock(tree_lock_name(tree.name)):
        trash = tree.with_name(f".{tree.name}.removing")
        with contextlib.suppress(OSError):
            os.replace(tree, trash)
        with contextlib.suppress(OSError):
            remove_inside(trash, tree.parent.parent)


def install_tree(
    tree: Path,
    manifest: Manifest,
    scheme_dict: dict[str, str],
    interpreter: str,
    *,
    pool: Executor,
    written: list[Path],
    link_mode: str = "copy",
    extra_metadata: dict[str, bytes] | None = None,
) -> int:
    """Copy or link a tree into an environment; write scripts and RECORD. Returns file count.

    Every path created is appended to `written` before it is created (for rollback).
    """
    from installer.scripts import Script
    from installer.utils import fix_shebang, get_launcher_kind, parse_entrypoints

    def place(stored: StoredFile) -> None:
        """Copy (or link) one file, hashing what lands: a damaged tree is never installed."""
        src = tree / stored.scheme / stored.path
        dst = _safe_join(Path(scheme_dict[stored.scheme]), stored.path)
        dst.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            dst.unlink()  # as pip: a file shared with another distribution is replaced
        try:
            fd = open_regular(src)  # never through a link: it could point anywhere, or hang
        except NotAFile as exc:
            raise DamagedTree(tree, f"{stored.scheme}/{stored.path}: {exc.strerror}") from None
        except FileNotFoundError:
            raise DamagedTree(tree, f"{stored.scheme}/{stored.path} is missing") from None
        digest = hashlib.sha256()
        with os.fdopen(fd, "rb") as source:
            st = os.fstat(source.fileno())
            if st.st_size != stored.size:
                raise DamagedTree(
                    tree, f"{stored.scheme}/{stored.path} does not match its hash (size)"
                )
            linked = False
            if link_mode == "hardlink":
                try:
                    os.link(src, dst, follow_symlinks=False)
                    linked = stat.S_ISREG(os.lstat(dst).st_mode)
                    if not linked:  # the tree file was swapped for a link meanwhile
                        dst.unlink()
                except OSError:
                    pass  # another file system: copy
            if linked:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
            else:
                with open(dst, "wb") as target:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        target.write(chunk)
                os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))  # keeps the .pyc valid
                if stored.executable:
                    dst.chmod(0o755)
        encoded = base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
        if "sha256=" + encoded != stored.hash:
            raise DamagedTree(tree, f"{stored.scheme}/{stored.path} does not match its hash")

    records: list[tuple[str, str, str]] = []

    def record(scheme: str, rel: str, digest: str, size: int | str) -> None:
        target = os.path.join(scheme_dict[scheme], rel)
        path = os.path.relpath(target, scheme_dict[manifest.root_scheme])
        records.append((Path(path).as_posix(), digest, str(size) if digest else ""))

    futures = []
    for stored in manifest.files:
        written.append(Path(scheme_dict[stored.scheme]) / stored.path)
        futures.append(pool.submit(place, stored))
        pyc = stored.path.endswith(".pyc")
        record(stored.scheme, stored.path, "" if pyc else stored.hash, stored.size)

    kind = get_launcher_kind()
    scripts_dir = Path(scheme_dict["scripts"])
    new_files: list[tuple[Path, bytes, bool]] = []
    for stored in manifest.scripts:
        raw = read_checked(tree, stored)  # scripts are installed from the tree: check them too
        with fix_shebang(io.BytesIO(raw), interpreter) as fixed:
            data = fixed.read()
        new_files.append((scripts_dir / stored.path, data, True))
        record("scripts", stored.path, record_hash(data), len(data))
    entry_points_rel = f"{manifest.dist_info}/entry_points.txt"
    entry_points = [
        f for f in manifest.files if f.scheme == manifest.root_scheme and f.path == entry_points_rel
    ]
    if entry_points:
        text = read_checked(tree, entry_points[0]).decode("utf-8")
        for name, module, attr, section in parse_entrypoints(text):
            script_name, data = Script(name, module, attr, section).generate(interpreter, kind)
            new_files.append((scripts_dir / script_name, data, True))
            record("scripts", script_name, record_hash(data), len(data))
    dist_info_dir = Path(scheme_dict[manifest.root_scheme]) / manifest.dist_info
    for meta_name, data in sorted((extra_metadata or {}).items()):
        new_files.append((dist_info_dir / meta_name, data, False))
        record(
            manifest.root_scheme, f"{manifest.dist_info}/{meta_name}", record_hash(data), len(data)
        )
    for future in futures:
        future.result()
    for path, data, executable in new_files:
        written.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        path.write_bytes(data)
        if executable:
            path.chmod(0o755)
    record_rel = posixpath.join(manifest.dist_info, "RECORD")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in sorted(records):
        writer.writerow(row)
    writer.writerow([record_rel, "", ""])
    record_path = dist_info_dir / "RECORD"
    written.append(record_path)
    record_path.write_text(out.getvalue(), encoding="utf-8")
    return len(records) + 1


def installable(interpreter: str) -> bool:
    """Store trees need a simple shebang (no spaces, short); else use the plain fast path."""
    return " " not in interpreter and len(interpreter) < 120 and os.name != "nt"
