"""Link verdicts computed here, kept in the wheelhouse so that each pair is checked once.

Why: a plan that meets a TensorFlow or tensorflow-metal release newer than the knowledge
link-checks the pair from the wheels pip fetched (flows/newer_pairs.py, issue 12 part 4). The
answer depends only on the two wheels' bytes, so it is kept under `<wheelhouse>/verdicts/`, one
file per pair named by both sha256 (the TensorFlow wheel pip resolved, then the plugin wheel):

    verdicts/<tensorflow sha256>-<metal sha256>.json
        {"format": 1, "kind": "link-verdict", "tensorflow_sha256": ..., "metal_sha256": ...,
         "pair": {a [[pair]] table of knowledge/links.toml}, "sha256": <of the pair's JSON>}

The rules are the wheelhouse's (store.py): the file is written atomically (temp + rename, mode
0o600) under a per-pair file lock, so two plans that meet the same pair compute it once (the
second waits, then reads); it is read only as a regular file (never through a link), and only
when its own sha256 and both keys match, so a damaged or edited file is recomputed, never
believed. `wheelhouse info` counts the files, `wheelhouse verify` checks them (`problems`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from pip_tfmac.wheelhouse.fsutil import NotAFile, kind_of, make_private_dir, open_regular
from pip_tfmac.wheelhouse.names import looks_like_sha256
from pip_tfmac.wheelhouse.records import Problem

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse

FOLDER = "verdicts"
FORMAT = 1
KIND = "link-verdict"
MAX_BYTES = 1 << 20  # a verdict is a few kB; anything larger is not one


def pair_digest(pair: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(pair, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class VerdictCache:
    """The `verdicts/` folder of one wheelhouse."""

    def __init__(self, house: Wheelhouse) -> None:
        self.house = house
        self.folder = house.root / FOLDER

    def path(self, tf_sha256: str, metal_sha256: str) -> Path:
        if not (looks_like_sha256(tf_sha256) and looks_like_sha256(metal_sha256)):
            raise ValueError("a verdict is keyed by two sha256 digests")
        return self.folder / f"{tf_sha256}-{metal_sha256}.json"

    def usable(self) -> bool:
        """The folder is a real folder (or not there yet): never a link out of the cache."""
        return kind_of(self.folder) in ("missing", "dir")

    def get(self, tf_sha256: str, metal_sha256: str) -> Optional[dict[str, Any]]:
        """The cached pair table, or None (absent, damaged, or not this pair's)."""
        if not self.usable():
            return None
        data = read_verdict(self.path(tf_sha256, metal_sha256))
        if data is None or data.get("tensorflow_sha256") != tf_sha256 or data.get("metal_sha256") != metal_sha256:
            return None
        return data["pair"]  # type: ignore[no-any-return]

    def put(self, tf_sha256: str, metal_sha256: str, pair: dict[str, Any]) -> Optional[Path]:
        if not self.usable():
            self.house.warn(f"wheelhouse: {FOLDER}/ is not a folder; the link verdict is not kept "
                            "(`pip-tfmac wheelhouse verify` says more)")
            return None
        make_private_dir(self.folder)
        body = {"format": FORMAT, "kind": KIND, "tensorflow_sha256": tf_sha256,
                "metal_sha256": metal_sha256, "pair": pair, "sha256": pair_digest(pair)}
        path = self.path(tf_sha256, metal_sha256)
        self.house.write_atomic(path, (json.dumps(body, indent=1, sort_keys=True) + "\n").encode())
        return path

    def get_or_compute(self, tf_sha256: str, metal_sha256: str,
                       compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        """The pair's table and whether it was computed now (False: read from the cache)."""
        found = self.get(tf_sha256, metal_sha256)
        if found is not None:
            return found, False
        with self.house.lock(f"verdict-{tf_sha256[:16]}-{metal_sha256[:16]}"):
            found = self.get(tf_sha256, metal_sha256)  # another run may have computed it
            if found is not None:
                return found, False
            pair = compute()
            self.put(tf_sha256, metal_sha256, pair)
            return pair, True

    def files(self) -> list[Path]:
        if kind_of(self.folder) != "dir":
            return []
        return sorted(p for p in self.folder.iterdir() if p.name.endswith(".json") and not p.name.startswith("."))

    def problems(self, *, repair: bool) -> list[Problem]:
        """Every verdict file that is not sound (unreadable, not JSON, its sha256 or its name
        not matching its content); with `repair` each is removed (the next plan recomputes it)."""
        out: list[Problem] = []
        if kind_of(self.folder) not in ("missing", "dir"):
            return [Problem(f"{FOLDER}/", "damaged-folder", "is not a folder; not followed, not checked")]
        for path in self.files():
            data = read_verdict(path)
            name_ok = data is not None and path.name == f"{data['tensorflow_sha256']}-{data['metal_sha256']}.json"
            if data is not None and name_ok:
                continue
            problem = Problem(f"{FOLDER}/{path.name}", "damaged-verdict",
                              "not a sound link verdict (its sha256 or its name does not match)")
            if repair:
                self.house.remove_path(path)
                problem = Problem(problem.filename, problem.kind, problem.detail, "removed")
            out.append(problem)
        return out


def read_verdict(path: Path) -> Optional[dict[str, Any]]:
    """A verdict file's content when it is a sound one, else None."""
    try:
        fd = open_regular(path)
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
        data = json.loads(raw) if len(raw) <= MAX_BYTES else None
    except (OSError, NotAFile, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("kind") != KIND:
        return None
    pair = data.get("pair")
    if not isinstance(pair, dict) or data.get("sha256") != pair_digest(pair):
        return None
    if not (looks_like_sha256(str(data.get("tensorflow_sha256"))) and looks_like_sha256(str(data.get("metal_sha256")))):
        return None
    return data
