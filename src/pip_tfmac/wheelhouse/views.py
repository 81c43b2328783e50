"""Views of the wheelhouse: wheels/ without some pip-tfmac builds, as a folder of links.

Why: a build with a +tfmac label (a recipe line's stand-in, 0.23.0+tfmac.1) outranks the
release it stands for, and pip cannot be told to skip one file of a find-links folder, so a
plan that must not see the builds of other plans gets a folder of links to the other wheels.
Why kept (views/<key>, the key names the hidden set): the plan reports its find-links
(`plan --json`) for anyone to run pip with afterwards; a folder removed with the run would
leave them a path pip ignores. Each use refreshes the view under a lock; links are relative
(views/<key>/x.whl -> ../../wheels/x.whl), so a view never points out of the cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pip_tfmac.wheelhouse.fsutil import kind_of, make_private_dir, remove_inside
from pip_tfmac.wheelhouse.layout import wheel_files

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse


def view_key(hidden: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(hidden)).encode()).hexdigest()[:16]


def view_without(house: Wheelhouse, hidden: Iterable[str]) -> Path:
    """The folder of links to every wheel of wheels/ but `hidden` (created or refreshed)."""
    hidden = set(hidden)
    key = view_key(hidden)
    view = house.views_dir / key
    with house.lock(f"view-{key}"):
        make_private_dir(view)
        wanted = {name for name, size in wheel_files(house.find_links_dir).items()
                  if size >= 0 and name not in hidden and not name.startswith(".")}
        for name in wanted:
            _link(view / name, os.path.join("..", "..", house.find_links_dir.name, name), house.root)
        for entry in os.listdir(view):
            if entry not in wanted:  # a wheel removed since (a dangling link) or anything else
                remove_inside(view / entry, house.root)
    return view


def _link(path: Path, target: str, root: Path) -> None:
    if kind_of(path) == "link" and os.readlink(path) == target:
        return
    if kind_of(path) != "missing":
        remove_inside(path, root)
    os.symlink(target, path)


def purge_views(house: Wheelhouse) -> None:
    """Remove every view (purge): they only hold links, made again on use."""
    folder = house.views_dir
    if kind_of(folder) != "dir":
        return
    for entry in os.listdir(folder):
        remove_inside(folder / entry, house.root)
