"""Put the wheels a plan needs that no index has into the wheelhouse.

- alias wheels (metadata only) so that `tensorflow` requirements meet `tensorflow-macos`;
- a recipe's patched wheel, made from the original upstream wheel (fetched by pip, checked
  against the recipe's sha256), its stand-ins, and the pure-Python sdists it prebuilds.

Each is built once, reproducibly, and reused from the wheelhouse by later runs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from pip_tfmac import errors, recipes
from pip_tfmac.core.plan import AliasWheel, Plan
from pip_tfmac.core.recipes import Prebuild
from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.runners.pipargs import InstallArgs
from pip_tfmac.wheelhouse.fetch import download_args
from pip_tfmac.wheelhouse.published import published_wheel
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance, build_alias_wheel, wheel_filename
from pip_tfmac.runners import tempdirs


def build_local_wheels(
    plan: Plan, wheelhouse: Wheelhouse, python: str, args: InstallArgs
) -> list[str]:
    """Every alias and recipe wheel the plan needs, in the wheelhouse; their paths."""
    built = [_alias(alias, wheelhouse) for alias in plan.aliases]
    for recipe_id in plan.recipes:
        built += _recipe(recipes.by_id(recipe_id), wheelhouse, python, args)
    return built


def _alias(alias: AliasWheel, wheelhouse: Wheelhouse) -> str:
    provenance = Provenance(
        rule=f"alias {alias.name}=={alias.version} -> {alias.target_name}=={alias.target_version}",
        source=alias.source,
    )

    def build() -> bytes:
        return build_alias_wheel(
            alias.name,
            alias.version,
            alias.target_name,
            alias.target_version,
            provenance=provenance,
        )[1]

    filename = build_alias_wheel(
        alias.name, alias.version, alias.target_name, alias.target_version, provenance=provenance
    )[0]
    return str(wheelhouse.ensure_built(filename, build, provenance))


def _pip_options(args: InstallArgs) -> list[str]:
    """The user's index options (private index, find-links...) for pip download/wheel."""
    out: list[str] = []
    skip = False
    for arg in download_args(list(args.passthrough)):
        if skip:
            skip = False
            continue
        key = arg.split("=", 1)[0]
        if key in _TARGET_OPTIONS:  # these wheels are pure Python: built/fetched for any target
            skip = "=" not in arg
            continue
        out.append(arg)
    return out


_TARGET_OPTIONS = {
    "--platform",
    "--python-version",
    "--abi",
    "--implementation",
    "--only-binary",
    "--no-binary",
}


def recipe_wheels(
    recipe: recipes.Recipe, wheelhouse: Wheelhouse, python: str, args: InstallArgs
) -> list[str]:
    """The patched wheel of a recipe (from the team index when published there, else built),
    its stand-ins and prebuilt wheels, in the wheelhouse; their paths."""
    return _recipe(recipe, wheelhouse, python, args)


def _recipe(
    recipe: recipes.Recipe, wheelhouse: Wheelhouse, python: str, args: InstallArgs
) -> list[str]:
    from pip_tfmac.wheelhouse.patching import build_patched_wheel, build_standin_wheels

    out: list[str] = []
    provenance = Provenance(
        rule=recipe.id,
        source=recipe.source,
        made_from=(Origin(recipe.name, recipe.upstream_version, recipe.sha256),),
    )
    patched_name = _patched_filename(recipe)

    def build_patched() -> bytes:
        if args.own.offline:
            return build_patched_wheel(_fetch_original(recipe, python, args), recipe).data
        # A team index may have it already (`wheelhouse publish`): same provenance, same bytes.
        # Both pip runs wait on the index: the original is fetched meanwhile, in case (cold: one
        # round of pip's start and the index's latency instead of two).
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=1)
        try:
            original = pool.submit(_fetch_original, recipe, python, args)
            reused = published_wheel(patched_name, f"{recipe.name}=={recipe.version}", provenance,
                                     python, args.general, _pip_options(args))
            if reused is not None:
                return reused
            return build_patched_wheel(original.result(), recipe).data
        finally:
            pool.shutdown(wait=False)

    out.append(str(wheelhouse.ensure_built(patched_name, build_patched, provenance)))
    for standin in build_standin_wheels(recipe):
        prov = Provenance(rule=standin.rule, source=recipe.source)
        out.append(str(wheelhouse.ensure_built(standin.filename, _constant(standin.data), prov)))
    for prebuild in recipe.prebuild:
        if not uv_builds_it(prebuild, args):
            out.append(_prebuild(prebuild, recipe, wheelhouse, python, args))
    return out


def uv_builds_it(prebuild: Prebuild, args: InstallArgs) -> bool:
    """Under `--backend uv` a plan or an install needs no prebuilt sdist: uv reads an sdist's
    metadata and builds its wheel itself, also for another target (pip's cross resolve takes
    wheels only, hence the prebuild). Still built: for `download` and `lock` (the wheelhouse must
    hold it for a later offline install), for --offline, and when the user's own options allow
    wheels only for it."""
    if args.own.backend != "uv" or args.own.offline or args.command not in ("install", "plan"):
        return False
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    control = getattr(args.values, "format_control", None)
    only_binary = {canonicalize_name(n) if n != ":all:" else n for n in getattr(control, "only_binary", ()) or ()}
    return not ({":all:", canonicalize_name(Requirement(prebuild.requirement).name)} & only_binary)


def _constant(data: bytes) -> Callable[[], bytes]:
    """A build function for bytes already made (stand-ins are built with their recipe)."""
    return lambda: data


def _patched_filename(recipe: recipes.Recipe) -> str:
    return wheel_filename(recipe.name, recipe.version)


def _fetch_original(recipe: recipes.Recipe, python: str, args: InstallArgs) -> bytes:
    with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("orig")) as work:
        argv = pip_runner.base_argv(python, args.general) + [
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--progress-bar",
            "off",
            "-d",
            work,
            f"{recipe.name}=={recipe.upstream_version}",
            *_pip_options(args),
        ]
        result = pip_runner.run(argv)
        path = Path(work) / recipe.filename
        if not result.ok or not path.exists():
            raise errors.ResolutionError(
                f"pip could not download {recipe.filename}, the original wheel the {recipe.name} recipe patches.",
                "check the index settings (pip config list) and the network; --offline needs it in the wheelhouse",
                details=result.summary(),
            )
        return path.read_bytes()


def _prebuild(
    prebuild: Prebuild,
    recipe: recipes.Recipe,
    wheelhouse: Wheelhouse,
    python: str,
    args: InstallArgs,
) -> str:
    """A pure-Python sdist built into a wheel once (pip wheel --no-deps), then reused."""
    from packaging.requirements import Requirement
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

    req = Requirement(prebuild.requirement)
    for filename in sorted(wheelhouse.entries()):
        try:
            name, version, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue  # not ours to reuse; `wheelhouse verify` reports what is odd
        if (
            name == canonicalize_name(req.name)
            and req.specifier.contains(version, prereleases=True)
            and wheelhouse.check(filename) is None
        ):
            return str(wheelhouse.path_of(filename))
    with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("prebuild")) as work:
        argv = pip_runner.base_argv(python, args.general) + [
            "wheel",
            "--no-deps",
            "--progress-bar",
            "off",
            "-w",
            work,
            prebuild.requirement,
            *_pip_options(args),
        ]
        result = pip_runner.run(argv)
        made = sorted(p for p in os.listdir(work) if p.endswith(".whl"))
        if not result.ok or not made:
            raise errors.ResolutionError(
                f"pip could not build {prebuild.requirement} into a wheel (the {recipe.name} recipe needs it: {prebuild.reason}).",
                "check the index settings and that a C compiler is not needed for it",
                details=result.summary(),
            )
        data = (Path(work) / made[0]).read_bytes()
    provenance = Provenance(
        rule=f"{recipe.id} prebuild {prebuild.requirement}", source=prebuild.source
    )
    return str(wheelhouse.ensure_built(made[0], lambda: data, provenance))
