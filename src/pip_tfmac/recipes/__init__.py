"""The recipes shipped as package data (recipes/<project>/recipe.toml + patches), read into core
Recipe values. The schema is in README.md here; the values and their validation in core/recipes.py.
"""

from __future__ import annotations

import functools
import sys
from importlib import resources

from packaging.utils import NormalizedName, canonicalize_name

from pip_tfmac.core.recipe_parse import parse
from pip_tfmac.core.recipes import Recipe, RecipeError
from pip_tfmac.errors import BadInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by tox on 3.9/3.10
    import tomli as tomllib


def names() -> tuple[NormalizedName, ...]:
    """The projects that have a recipe, sorted."""
    root = resources.files(__name__)
    found = [
        canonicalize_name(entry.name)
        for entry in root.iterdir()
        if entry.is_dir() and entry.joinpath("recipe.toml").is_file()
    ]
    return tuple(sorted(found))


def find(name: str) -> Recipe | None:
    """The recipe for a project name (any spelling), or None when there is none."""
    wanted = canonicalize_name(name)
    return load(wanted) if wanted in names() else None


def get(name: str) -> Recipe:
    """The recipe for a project name; RecipeError-free callers can rely on it existing."""
    recipe = find(name)
    if recipe is None:
        raise BadInputError(
            f"there is no pip-tfmac recipe for {name!r}.",
            "recipes exist for: " + ", ".join(names()),
        )
    return recipe


def load_all() -> tuple[Recipe, ...]:
    return tuple(load(n) for n in names())


@functools.cache
def load(name: str) -> Recipe:
    """Read and validate recipes/<name>/recipe.toml and its patch files."""
    folder = resources.files(__name__).joinpath(canonicalize_name(name))
    path = f"recipes/{canonicalize_name(name)}/recipe.toml"
    try:
        data = tomllib.loads(folder.joinpath("recipe.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(f"{path} cannot be read: {exc}", "fix the recipe file") from None

    def read_patch(rel: str) -> str:
        try:
            node = folder
            for part in rel.split("/"):  # one part per call: Python 3.9's Traversable takes one
                node = node.joinpath(part)
            return str(node.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RecipeError(f"{path}: patch {rel} cannot be read: {exc}", "") from None

    return parse(data, path=path, read_patch=read_patch)
