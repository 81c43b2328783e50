"""The recipes shipped as package data, read into core Recipe values.

A project folder holds one or more recipe lines: ``recipes/<project>/recipe.toml`` is the default
line, ``recipes/<project>/lines/*.toml`` are further lines (another upstream release, another
TensorFlow line, other Pythons), each a whole recipe with its own label and patches. The schema is
in README.md here; the values and their validation in core/recipes.py.
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
    """Every line of every recipe: per project the default line first, then lines/ by name."""
    return tuple(line for n in names() for line in lines(n))


@functools.cache
def lines(name: str) -> tuple[Recipe, ...]:
    """The recipe lines of one project: recipe.toml first, then lines/*.toml sorted."""
    folder = resources.files(__name__).joinpath(canonicalize_name(name))
    extra = folder.joinpath("lines")
    files = sorted(e.name for e in extra.iterdir() if e.name.endswith(".toml")) if extra.is_dir() else []
    found = (load(name),) + tuple(_read(name, f"lines/{f}") for f in files)
    ids = [r.id for r in found]
    if len(set(ids)) != len(ids):
        raise RecipeError(f"recipes/{canonicalize_name(name)}: two lines share a label ({', '.join(ids)})",
                          "give every line its own label")
    return found


def by_id(recipe_id: str) -> Recipe:
    """The recipe line a plan names (``recipe:<name>@<version>``)."""
    for line in load_all():
        if line.id == recipe_id:
            return line
    raise BadInputError(f"there is no pip-tfmac recipe line {recipe_id!r}.",
                        "recipe lines: " + ", ".join(r.id for r in load_all()))


@functools.cache
def load(name: str) -> Recipe:
    """Read and validate the default line, recipes/<name>/recipe.toml, and its patch files."""
    return _read(name, "recipe.toml")


def _read(name: str, rel_file: str) -> Recipe:
    folder = resources.files(__name__).joinpath(canonicalize_name(name))
    path = f"recipes/{canonicalize_name(name)}/{rel_file}"
    try:
        node = folder
        for part in rel_file.split("/"):
            node = node.joinpath(part)
        data = tomllib.loads(node.read_text(encoding="utf-8"))
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
