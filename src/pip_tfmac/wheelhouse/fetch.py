"""Fetching the wheels of a pinned plan into the wheelhouse, through pip (never a socket of ours).

Why through pip: pip.conf, private indexes, proxies, certificates and keyring keep working.
Downloads land in the wheelhouse's incoming/ folder (same file system: moving in is a rename)
and enter the store only through `Wheelhouse.add_fetched`, which re-hashes them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from pip_tfmac.errors import CacheError
from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.wheelhouse import checkup
from pip_tfmac.wheelhouse.fsutil import describe_os_error, remove_inside
from pip_tfmac.runners import tempdirs

_SPACE_HINT = "free some space, or pass --tfmac-cache-dir DIR / --no-tfmac-cache"

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse

__all__ = ["download_args", "export_wheels", "fetch_pinned", "fetch_wheels", "incoming_dir"]


_CROSS_OPTIONS = ("--platform", "--python-version", "--abi", "--implementation")


def fetch_wheels(
    wheelhouse: Wheelhouse,
    requirements_file: Path,
    pip_args: Sequence[str],
    python: str,
    *,
    general: Sequence[str] = (),
) -> list[Path]:
    """Fetch the wheels of a pinned plan into the wheelhouse, through pip; return their paths.

    pip does all network access (so pip.conf, private indexes, proxies, certificates and
    keyring keep working): one `pip install --dry-run --ignore-installed --report` says which
    files the plan needs and the sha256 the index publishes for each; `pip download --no-deps`
    with those hashes (`--require-hashes`) fetches what the wheelhouse lacks, and pip refuses a
    file that does not match. `pip_args` are install/download options (index URLs,
    `--platform`/`--python-version` for another target, -c constraints); `general` are pip's
    general options.
    """
    with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("fetch")) as work:
        argv = pip_runner.base_argv(python, general) + [
            "install",
            "--dry-run",
            "--ignore-installed",
            "--only-binary=:all:",
            "--quiet",
            "-r",
            str(requirements_file),
            *pip_args,
        ]
        if any(a.split("=", 1)[0] in _CROSS_OPTIONS for a in pip_args):
            argv += ["--target", os.path.join(work, "scratch-target")]
        result = pip_runner.run_with_report(argv)
        if not result.ok:
            raise CacheError(
                "pip could not resolve the wheels to fetch into the wheelhouse.",
                "run the same request with `pip-tfmac plan` to see why",
                details=result.summary(),
            )
        entries = wheelhouse.entries()
        wanted: list[tuple[str, str, str]] = []  # filename, sha256 (may be ""), url
        paths: list[Path] = []
        for item in result.resolved():
            filename = unquote(item.filename)
            if not filename.endswith(".whl"):
                continue
            entry = entries.get(filename)
            sha = (item.sha256 or "").lower()
            if (
                entry is not None
                and (not sha or entry.sha256 == sha)
                and wheelhouse.check(filename, entry) is None
            ):
                paths.append(wheelhouse.path_of(filename))
                continue
            wanted.append((filename, sha, item.url))
        if not wanted:
            return paths
        by_name = {name: (sha, url) for name, sha, url in wanted}
        hashed = [(n, s) for n, s, _ in wanted if s]
        unhashed = [n for n, s, _ in wanted if not s]
        items = {unquote(i.filename): i for i in result.resolved()}
        with wheelhouse.incoming_dir() as incoming:
            for group, with_hashes in ((hashed, True), ([(n, "") for n in unhashed], False)):
                if not group:
                    continue
                req = Path(work) / ("hashed.txt" if with_hashes else "unhashed.txt")
                lines = []
                for name, sha in group:
                    pin = f"{items[name].name}=={items[name].version}"
                    lines.append(f"{pin} --hash=sha256:{sha}" if with_hashes else pin)
                req.write_text("\n".join(lines) + "\n", encoding="utf-8")
                dl = pip_runner.base_argv(python, general) + [
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--progress-bar",
                    "off",
                    "-d",
                    str(incoming),
                    "-r",
                    str(req),
                    *download_args(pip_args),
                ]
                fetched = pip_runner.run(dl)
                if not fetched.ok:
                    raise CacheError(
                        "pip could not download the wheels of the plan into the wheelhouse.",
                        "check the index settings (pip config list) and the network",
                        details=fetched.summary(),
                    )
            for name, (sha, url) in by_name.items():
                downloaded = incoming / name
                if not downloaded.exists():
                    raise CacheError(
                        f"pip did not save {name} although the plan needs it.",
                        "run `pip-tfmac plan` for the same request and report the output",
                    )
                paths.append(wheelhouse.add_fetched(downloaded, sha, url))
        return paths


def fetch_pinned(wheelhouse: Wheelhouse, pins: Sequence[str], pip_args: Sequence[str], python: str, *,
                 general: Sequence[str] = ()) -> list[Path]:
    """Fetch the wheels of an already resolved set (`name==version --hash=sha256:...` lines, as
    uv's compile gives them) into the wheelhouse: `pip download --no-deps`, no resolve of pip's
    own; pip refuses a file whose sha256 is not among the pin's (--require-hashes) and the
    wheelhouse re-hashes what enters it. Pins without hashes are fetched in a second run."""
    paths: list[Path] = []
    with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("fetch")) as work, \
            wheelhouse.incoming_dir() as incoming:
        hashed = [p for p in pins if "--hash=" in p]
        for group, name in ((hashed, "hashed.txt"), ([p for p in pins if "--hash=" not in p], "unhashed.txt")):
            if not group:
                continue
            req = Path(work) / name
            req.write_text("\n".join(group) + "\n", encoding="utf-8")
            argv = pip_runner.base_argv(python, general) + [
                "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off",
                "-d", str(incoming), "-r", str(req), *download_args(pip_args)]
            fetched = pip_runner.run(argv)
            if not fetched.ok:
                raise CacheError("pip could not download the wheels of the plan into the wheelhouse.",
                                 "check the index settings (pip config list) and the network",
                                 details=fetched.summary())
        for downloaded in sorted(incoming.iterdir()):
            if downloaded.name.endswith(".whl"):
                paths.append(wheelhouse.add_fetched(downloaded, "", ""))
    return paths


def download_args(pip_args: Sequence[str]) -> list[str]:
    """Install options that `pip download` does not accept are dropped (e.g. --user)."""
    drop_flags = {
        "--user",
        "--force-reinstall",
        "--ignore-installed",
        "-I",
        "--no-warn-conflicts",
        "--no-warn-script-location",
        "--upgrade",
        "-U",
        "--dry-run",
        "--compile",
        "--no-compile",
    }
    drop_values = {"--target", "-t", "--prefix", "--root", "--report", "--upgrade-strategy"}
    out: list[str] = []
    skip = False
    for arg in pip_args:
        if skip:
            skip = False
            continue
        key = arg.split("=", 1)[0]
        if key in drop_flags:
            continue
        if key in drop_values:
            skip = "=" not in arg
            continue
        out.append(arg)
    return out


def export_wheels(house: Wheelhouse, filenames: Sequence[str], dest: Path) -> list[Path]:
    """Copy checked wheels into `dest` (for `pip-tfmac download -d DIR`)."""
    out = []
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            problem = house.check(name)
            if problem is not None:
                raise CacheError(
                    f"wheelhouse: {problem.describe()}",
                    "run the command again to rebuild or re-fetch it",
                )
            target = dest / name
            shutil.copyfile(house.path_of(name), target, follow_symlinks=False)
            out.append(target)
    except OSError as exc:
        raise CacheError(
            f"cannot copy the wheels into {dest}: {describe_os_error(exc)}",
            "free some space there, or choose another -d folder",
        ) from None
    return out


@contextlib.contextmanager
def incoming_dir(house: Wheelhouse) -> Iterator[Path]:
    """A private folder on the wheelhouse's file system for pip to download into.

    Held under its own lock while in use, so that a later run (or `verify`) can tell the
    folder of a killed run (lock free: removed) from one in use (lock held: left alone).
    Leftovers of killed runs are cleaned here first.
    """
    checkup.clean_incoming(house)
    try:
        folder = Path(tempfile.mkdtemp(prefix="dl-", dir=house.incoming_root))
    except OSError as exc:
        raise CacheError(
            f"cannot create a download folder in the wheelhouse {house.root}: "
            f"{describe_os_error(exc)}",
            _SPACE_HINT,
        ) from None
    held = house.try_lock(checkup.incoming_lock_name(folder.name))
    try:
        yield folder
    finally:
        with contextlib.suppress(OSError):
            remove_inside(folder, house.root)
        if held is not None:
            held.release()
            with contextlib.suppress(OSError):
                os.unlink(held.lock_file)
