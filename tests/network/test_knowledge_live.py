"""Every wheel claim of knowledge/wheels.toml, re-checked against the live index through pip.

For each tracked package and Python, `pip index versions` lists the releases that have a wheel
for a Mac on macOS 14 (the `--platform` tags packaging derives for macOS 14 arm64, which include
universal2 and run down to macOS 11) and that CPython version. A claimed release missing from
that list fails the test; a release the knowledge does not list yet is reported as information
(a warning), not a failure: the knowledge is conservative by design.

pip runs from this environment (sys.executable -m pip) with this machine's pip configuration and
PIP_* variables removed, so the default index is asked, as a user's pip would.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.tags import mac_platforms
from packaging.version import InvalidVersion, Version

from helpers import isolated_env, run
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.knowledge import load

pytestmark = pytest.mark.network

MAC14_PLATFORMS = tuple(mac_platforms((14, 0), "arm64"))
WORKERS = 4  # the calls wait on the network far more than they compute (2 cores here)
KNOWLEDGE: Knowledge = load()
CLAIMS = sorted((package, python) for package, per_python in KNOWLEDGE.wheels.items()
                for python in per_python)


class NewRelease(UserWarning):
    """The index has a release the knowledge does not list (information, not an error)."""


@dataclass(frozen=True)
class Live:
    package: str
    python: str
    versions: tuple[Version, ...]
    seconds: float
    output: str


def index_versions(package: str, python: str, env: Mapping[str, str]) -> Live:
    argv = [sys.executable, "-m", "pip", "index", "versions", package, "--only-binary=:all:",
            "--python-version", python, "--disable-pip-version-check", "--no-input"]
    for tag in MAC14_PLATFORMS:
        argv += ["--platform", tag]
    started = time.monotonic()
    result = run(argv, env, timeout=180)
    seconds = time.monotonic() - started
    match = re.search(r"^Available versions: (.*)$", result.stdout, re.MULTILINE)
    if match:
        versions = []
        for item in match.group(1).split(","):
            try:
                versions.append(Version(item.strip()))
            except InvalidVersion:
                continue
        return Live(package, python, tuple(versions), seconds, result.describe())
    if result.returncode != 0 and "No matching distribution found" in result.stderr:
        return Live(package, python, (), seconds, result.describe())
    raise AssertionError("pip index versions gave no answer\n" + result.describe())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Live]:
    env = isolated_env(tmp_path_factory.mktemp("pip-isolated"))
    started = time.monotonic()
    # One Python per package first, so that pip's HTTP cache (shared by the calls, fresh for this
    # run) holds each project page before the other Pythons ask for it again.
    first = {package: (package, python) for package, python in reversed(CLAIMS)}
    rest = [claim for claim in CLAIMS if claim not in first.values()]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        found = list(pool.map(lambda claim: index_versions(*claim, env), first.values()))
        found += pool.map(lambda claim: index_versions(*claim, env), rest)
    elapsed = time.monotonic() - started
    slowest = max(found, key=lambda item: item.seconds)
    sys.stderr.write(
        f"\n[knowledge-live] {len(found)} pip index calls with {WORKERS} workers in {elapsed:.1f} s "
        f"(slowest: {slowest.package} py{slowest.python}, {slowest.seconds:.1f} s)\n")
    Path(tmp_path_factory.getbasetemp(), "knowledge-live-duration.txt").write_text(f"{elapsed:.1f}\n")
    return {(item.package, item.python): item for item in found}


@pytest.mark.parametrize(("package", "python"), CLAIMS, ids=[f"{p}-py{v}" for p, v in CLAIMS])
def test_claimed_wheels_exist_on_the_index(live: dict[tuple[str, str], Live], package: str,
                                           python: str) -> None:
    claimed = set(KNOWLEDGE.arm64_versions(package, python) or ())
    answer = live[(package, python)]
    finals = {v for v in answer.versions if not v.is_prerelease and not v.is_devrelease}
    missing = sorted(claimed - finals, reverse=True)
    assert not missing, (
        f"{package} for Python {python}: the knowledge claims macOS arm64 wheels for "
        f"{', '.join(map(str, missing))}, which the index does not offer\n{answer.output}")
    new = sorted(finals - claimed, reverse=True)
    if new:
        warnings.warn(NewRelease(
            f"{package} has macOS arm64 wheels for Python {python} that wheels.toml does not list: "
            f"{', '.join(map(str, new))}"), stacklevel=1)


def test_every_metal_series_has_a_release_on_the_index(live: dict[tuple[str, str], Live]) -> None:
    on_index = {v for (package, _), item in live.items() if package == "tensorflow-metal"
                for v in item.versions}
    assert on_index
    for pair in KNOWLEDGE.metal_pairs:
        assert any(pair.metal.contains(v) for v in on_index), (pair.to_json(), sorted(on_index))


@pytest.mark.parametrize("python", sorted(KNOWLEDGE.wheels["tensorflow"]))
def test_tensorflow_has_no_arm64_wheel_where_tensorflow_macos_provides(
        live: dict[tuple[str, str], Live], python: str) -> None:
    """The provider rule: below 2.13 only tensorflow-macos is an arm64 TensorFlow."""
    macos_provider = [p for p in KNOWLEDGE.providers if p.distribution == "tensorflow-macos"]
    assert len(macos_provider) == 1
    plain = live[("tensorflow", python)].versions
    overlap = [v for v in plain if macos_provider[0].versions.contains(v)]
    assert overlap == [], f"tensorflow has macOS arm64 wheels for {overlap} (Python {python})"


def test_tensorflow_macos_provides_what_the_provider_rule_says(live: dict[tuple[str, str], Live]) -> None:
    """Where tensorflow-macos is the provider, it really has releases (for the older Pythons)."""
    macos_provider = next(p for p in KNOWLEDGE.providers if p.distribution == "tensorflow-macos")
    provided = [v for (package, _), item in live.items() if package == "tensorflow-macos"
                for v in item.versions if macos_provider.versions.contains(v)]
    assert provided
