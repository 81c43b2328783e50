"""Link-check one TensorFlow release against one tensorflow-metal release, from their wheels.

The wheels come from local paths or through pip (`pip download --no-deps --only-binary=:all:
--platform macosx_14_0_arm64 --python-version 3.11`): pip-tfmac opens no socket of its own, so
the user's index settings apply. Fetched wheels go into the wheelhouse (where a later install
finds them) and their extracted symbol tables into its `symbols/` folder, so the second check
of a pair reads a few MB of JSON instead of inflating 600 MB.

Which wheel holds the build: `tensorflow-macos` before 2.13 (the knowledge's provider rule),
`tensorflow` after; the `tensorflow` 2.13/2.14 macOS wheels are shims that require
`tensorflow-macos`, followed here (macho.scan_wheel says so).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pip_tfmac.core.errors import BadInputError, CacheError
from pip_tfmac.core.linkcheck import SCOPE_FULL, LinkVerdict, WheelRef, check
from pip_tfmac.wheelhouse import macho
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.wheelhouse.symbols import SymbolCache

PLATFORM = "macosx_14_0_arm64"
PYTHON_VERSION = "3.11"  # every metal release since 0.5 and every TF since 2.12 has cp311

# (requirement "name==version", folder) -> path of the wheel pip saved there
Fetcher = Callable[[str, Path], Path]


@dataclass(frozen=True)
class PairSpec:
    """What to check: versions (fetched through pip) or local wheels (versions read from them)."""

    tensorflow: Optional[str] = None
    metal: Optional[str] = None
    tf_wheel: Optional[Path] = None
    metal_wheel: Optional[Path] = None
    scope: str = SCOPE_FULL


@dataclass(frozen=True)
class PairReport:
    tensorflow: str
    tensorflow_distribution: str
    metal: str
    verdict: LinkVerdict
    seconds: float
    shim: Optional[WheelRef] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tensorflow": {"version": self.tensorflow,
                           "distribution": self.tensorflow_distribution,
                           "shim": self.shim.to_json() if self.shim else None},
            "tensorflow_metal": {"version": self.metal},
            "verdict": self.verdict.to_json(),
            "seconds": round(self.seconds, 3),
        }


def tf_distribution(version: str) -> str:
    """The distribution that holds TensorFlow `version`'s macOS arm64 build (knowledge rule)."""
    from pip_tfmac.knowledge import load

    try:
        return str(load().provider_for(Version(version)).distribution)
    except (InvalidVersion, LookupError):
        return "tensorflow"


def find_local(folder: Path, name: str, version: str, python_version: str) -> Optional[Path]:
    """A macOS arm64 wheel of name==version for the Python already in `folder`, if any."""
    if not folder.is_dir():
        return None
    want = canonicalize_name(name)
    nodot = python_version.replace(".", "")
    for path in sorted(folder.glob("*.whl")):
        try:
            wname, wversion, _, tags = parse_wheel_filename(path.name)
        except ValueError:
            continue
        if wname != want or wversion != Version(version):
            continue
        if any("macosx" in t.platform and ("arm64" in t.platform or "universal2" in t.platform)
               and t.interpreter in (f"cp{nodot}", "py3") for t in tags):
            return path
    return None


def pip_fetcher(python_version: str = PYTHON_VERSION, platform: str = PLATFORM,
                general: Sequence[str] = ()) -> Fetcher:
    """Fetch a wheel with `pip download` for macOS arm64 (pip does the network)."""
    import sys

    from pip_tfmac.runners import pip as pip_runner

    def fetch(requirement: str, dest: Path) -> Path:
        name, _, version = requirement.partition("==")
        found = find_local(dest, name, version, python_version)
        if found is not None:
            return found
        dest.mkdir(parents=True, exist_ok=True)
        argv = pip_runner.base_argv(sys.executable, general) + [
            "download", "--no-deps", "--only-binary=:all:", "--platform", platform,
            "--python-version", python_version, "--progress-bar", "off", "-d", str(dest),
            requirement,
        ]
        result = pip_runner.run(argv)
        found = find_local(dest, name, version, python_version)
        if not result.ok or found is None:
            raise CacheError(
                f"pip could not download a macOS arm64 wheel of {requirement} "
                f"for Python {python_version}.",
                "check the version exists for macOS arm64, or pass the wheel's path",
                details=result.summary(),
            )
        return found

    return fetch


def wheelhouse_fetcher(house: Wheelhouse, python_version: str = PYTHON_VERSION,
                       platform: str = PLATFORM) -> Fetcher:
    """Like pip_fetcher, but through the wheelhouse: reuse its wheel, or add what pip fetched."""
    inner = pip_fetcher(python_version, platform)

    def fetch(requirement: str, dest: Path) -> Path:
        name, _, version = requirement.partition("==")
        found = find_local(house.find_links_dir, name, version, python_version)
        if found is not None:
            return found
        with house.incoming_dir() as incoming:
            path = inner(requirement, Path(incoming))
            return Path(house.add_fetched(path, "", ""))

    return fetch


def _version_of(path: Path) -> tuple[str, str]:
    try:
        name, version, _, _ = parse_wheel_filename(Path(path).name)
    except ValueError:
        raise BadInputError(f"{path} is not a wheel file name (NAME-VERSION-TAGS.whl).") from None
    return str(name), str(version)


def check_pair(spec: PairSpec, *, fetch: Fetcher, dest: Path, cache: SymbolCache,
               log: Callable[[str], None] = lambda _: None) -> PairReport:
    """Fetch (or take) both wheels, read (or recall) their symbols, and check the pair."""
    started = time.monotonic()
    if spec.metal_wheel is not None:
        metal_path = Path(spec.metal_wheel)
        metal_version = _version_of(metal_path)[1]
    elif spec.metal:
        metal_version = spec.metal
        log(f"tensorflow-metal=={metal_version}: from the wheelhouse, or pip download")
        metal_path = fetch(f"tensorflow-metal=={metal_version}", dest)
    else:
        raise BadInputError("no tensorflow-metal version or wheel given.")
    if spec.tf_wheel is not None:
        tf_path = Path(spec.tf_wheel)
        distribution, tf_version = _version_of(tf_path)
    elif spec.tensorflow:
        tf_version = spec.tensorflow
        distribution = tf_distribution(tf_version)
        log(f"{distribution}=={tf_version}: from the wheelhouse, or pip download")
        tf_path = fetch(f"{distribution}=={tf_version}", dest)
    else:
        raise BadInputError("no tensorflow version or wheel given.")
    for path in (metal_path, tf_path):
        if not path.is_file():
            raise BadInputError(f"{path} does not exist.")
    metal_ref = macho.wheel_ref(metal_path)
    plugin = cache.plugin(metal_path, metal_ref)
    tf_ref = macho.wheel_ref(tf_path)
    found = macho.scan_wheel(tf_path, tf_ref)
    shim: Optional[WheelRef] = None
    if not found.images and found.shim_for:
        shim = tf_ref
        log(f"{tf_path.name} is a shim that requires {found.shim_for}; "
            f"fetching {found.shim_for}=={tf_version}")
        if spec.tf_wheel is not None:
            local = find_local(tf_path.parent, found.shim_for, tf_version, PYTHON_VERSION)
            tf_path = local or fetch(f"{found.shim_for}=={tf_version}", dest)
        else:
            tf_path = fetch(f"{found.shim_for}=={tf_version}", dest)
        distribution = found.shim_for
        tf_ref = macho.wheel_ref(tf_path)
        found = macho.scan_wheel(tf_path, tf_ref)
    if not found.images:
        raise BadInputError(f"{tf_path.name} holds none of TensorFlow's libraries "
                            "(_pywrap_tensorflow_internal.so, libtensorflow_cc, "
                            "libtensorflow_framework): is it a macOS arm64 TensorFlow wheel?")
    members = found.images
    if spec.scope != SCOPE_FULL:
        members = tuple(m for m in members if macho.TWO_LEVEL_ONLY_MEMBER.match(m))
    images = cache.images(tf_path, tf_ref, members)
    verdict = check(plugin, images, scope=spec.scope)
    return PairReport(tf_version, str(canonicalize_name(distribution)), metal_version, verdict,
                      time.monotonic() - started, shim)


def check_in_wheelhouse(spec: PairSpec, *, cache_dir: Optional[str], no_cache: bool,
                        python_version: str = PYTHON_VERSION,
                        log: Callable[[str], None] = lambda _: None) -> PairReport:
    """The user command's flow: wheels and symbol tables live in the wheelhouse the options
    name (a temporary one with --no-tfmac-cache)."""
    house = Wheelhouse.from_options(cache_dir, no_cache)
    return check_pair(spec, fetch=wheelhouse_fetcher(house, python_version),
                      dest=house.find_links_dir, cache=SymbolCache.in_wheelhouse(house.root),
                      log=log)


def render(report: PairReport) -> str:
    """The text a person reads: the verdict first, then each missing symbol, mangled as the
    dyld error prints it (LIEF's demangler is only in its paid build; `c++filt` reads them)."""
    v = report.verdict
    lines = [
        f"tensorflow-metal {report.metal} with {report.tensorflow_distribution} "
        f"{report.tensorflow}: {'links' if v.links else 'BROKEN'} "
        f"(knowledge state {v.knowledge_state}; {v.scope} check)",
    ]
    fatal = v.fatal()
    if fatal:
        lines.append(f"  {len(fatal)} symbol(s) the plugin imports are exported by no TensorFlow "
                     "image; `import tensorflow` fails with \"Symbol not found\":")
    for missing in v.missing:
        lines.append(f"    {missing.describe()}")
        cxx = macho.demangle(missing.symbol)
        if cxx:
            lines.append(f"      = {cxx}")
    if any(m.lazy for m in fatal):
        lines.append("  (lazy or not: TensorFlow loads plugins with RTLD_NOW, so every import "
                     "is bound at load)")
    lines.append(f"  checked {v.checked_two_level} two-level and {v.checked_flat} flat imports"
                 + (f"; {v.unfollowed} re-exports into images not read were trusted"
                    if v.unfollowed else ""))
    if v.external:
        lines.append(f"  left to the system libraries the plugin links: {', '.join(v.external)}")
    macos = ", ".join(f"{m.rsplit('/', 1)[-1]} {'%d.%d' % mv if mv else '?'}"
                      for m, mv in v.min_macos.items())
    lines.append(f"  minimum macOS: {macos}")
    lines.append(f"  plugin wheel: {v.plugin.filename} sha256 {v.plugin.sha256}")
    for wheel in v.tensorflow:
        lines.append(f"  TensorFlow wheel: {wheel.filename} sha256 {wheel.sha256}")
    if report.shim:
        lines.append(f"  (read through the shim {report.shim.filename})")
    return "\n".join(lines)
