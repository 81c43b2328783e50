"""Releases newer than the knowledge: the plan link-checks the pair from the wheels pip fetches.

Issue 12 part 4. When pip's resolution (the dry run of a plan) picks a TensorFlow release, or
the request a tensorflow-metal release, whose pair the knowledge does not judge (no verdict in
links.toml, no curated verified/broken rule: a release newer than the knowledge, or a curated
"unverified" guess), this runs the link check of flows/check_pair.py on the two wheels before
step 2 pairs the plugin, and hands step 2 the knowledge with that verdict added
(core.metal_evidence.with_verdicts): a pair that links is planned as link-checked, with its
evidence named; a pair that does not is refused, naming the missing symbols (a CPU plan, or
exit 68 under --strict), exactly as for the knowledge's own verdicts.

Why through pip: pip-tfmac opens no socket of its own. The TensorFlow wheel is the very file
the resolution chose, fetched with `pip download --no-deps` and the sha256 of pip's report
(`--require-hashes`), with the user's index options; the plugin wheel the same way by version.
Both go into the wheelhouse, where the install that follows finds them (--find-links), and
their symbol tables into its symbols/ folder.

Why once: the verdict is kept in the wheelhouse's verdicts/ folder keyed by both wheels'
sha256 (wheelhouse/verdicts.py). A later plan knows the TensorFlow sha256 from pip's report
and the plugin's from the wheelhouse index, so it reads the verdict without fetching or
checking anything (`link_checks[].computed` is false in its JSON).
"""

from __future__ import annotations

import datetime
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

import pip_tfmac
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.links import HERE, LinkRecord, pair_of_verdict, parse_pair
from pip_tfmac.core.metal_evidence import METAL, metal_to_check, with_verdicts
from pip_tfmac.core.plan import Plan
from pip_tfmac.core.step2 import resolved_tensorflow
from pip_tfmac.errors import CacheError, TfmacError
from pip_tfmac.flows.check_pair import PairSpec, check_pair, find_local, wheelhouse_fetcher
from pip_tfmac.flows.resolution import Resolved
from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.runners.pip import PipResult, ResolvedItem
from pip_tfmac.wheelhouse.fetch import download_args
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.wheelhouse.symbols import SymbolCache
from pip_tfmac.wheelhouse.verdicts import VerdictCache

Progress = Callable[[str], None]


def link_check_newer(resolved: Resolved, result: PipResult, versions: Mapping[str, str],
                     knowledge: Knowledge, progress: Progress) -> tuple[Plan, Knowledge]:
    """The plan (with a warning if the check could not run) and the knowledge step 2 pairs
    with: unchanged unless the resolved pair needed a link check here (module docstring)."""
    plan = resolved.plan
    target = plan.target
    if not target.is_macos_arm64 or not plan.intercepted or not (plan.wants_gpu or plan.metal_requested):
        return plan, knowledge
    found = resolved_tensorflow(versions, target.installed, knowledge)
    if found is None:
        return plan, knowledge
    distribution, tf_version = found
    requested = plan.metal_requested.requirement if plan.metal_requested else None
    resolved_metal = _version(versions.get(METAL))
    metal = metal_to_check(knowledge, tf_version, target.python_version,
                           requested.specifier if requested is not None else None, resolved_metal)
    if metal is None:
        return plan, knowledge
    tf_item = next((i for i in result.resolved() if canonicalize_name(i.name) == distribution), None)
    try:
        record, note = _verdict(resolved, tf_item, str(distribution), tf_version, metal, progress)
    except TfmacError as exc:
        why = exc.message.rstrip(".")
        warning = (f"tensorflow {tf_version} with tensorflow-metal {metal} is not judged by the "
                   f"knowledge and could not be link-checked here ({why}); the plan "
                   "treats the pair as untested")
        return replace(plan, warnings=(*plan.warnings, warning)), knowledge
    resolved.link_checks.append(note)
    return plan, with_verdicts(knowledge, [record], target.python_version)


def _version(text: Optional[str]) -> Optional[Version]:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _verdict(resolved: Resolved, tf_item: Optional[ResolvedItem], distribution: str,
             tf_version: Version, metal: Version, progress: Progress) -> tuple[LinkRecord, dict[str, Any]]:
    house = resolved.wheelhouse or Wheelhouse.from_options(resolved.args.own.cache_dir, resolved.args.own.no_cache)
    py = resolved.plan.target.python_version
    started = time.monotonic()
    metal_path = find_local(house.find_links_dir, "tensorflow-metal", str(metal), py)
    entry = house.entries().get(metal_path.name) if metal_path is not None else None
    if metal_path is None or entry is None:
        progress(f"fetching tensorflow-metal {metal} with pip, to link-check it with tensorflow {tf_version}")
        metal_path = fetch_with_pip(resolved, house, f"tensorflow-metal=={metal}", "")
        entry = house.entries().get(metal_path.name)
    metal_sha = entry.sha256 if entry is not None else ""
    tf_sha = (tf_item.sha256 or "").lower() if tf_item is not None else ""
    if not tf_sha:  # no hash in pip's report (an uncommon index): the wheel itself tells
        tf_path = _tf_wheel(resolved, house, tf_item, distribution, tf_version, progress)
        tf_entry = house.entries().get(tf_path.name)
        tf_sha = tf_entry.sha256 if tf_entry is not None else ""
    if not (tf_sha and metal_sha):
        raise CacheError("the wheelhouse did not record the sha256 of the wheels to check.",
                         "run `pip-tfmac wheelhouse verify`")

    def compute() -> dict[str, Any]:
        progress(f"link-checking tensorflow {tf_version} with tensorflow-metal {metal} from the "
                 "wheels (a pair the knowledge does not judge)")
        tf_path = _tf_wheel(resolved, house, tf_item, distribution, tf_version, progress)
        report = check_pair(PairSpec(tf_wheel=tf_path, metal_wheel=metal_path),
                            fetch=wheelhouse_fetcher(house, py), dest=house.find_links_dir,
                            cache=SymbolCache.in_wheelhouse(house.root), log=progress)
        return pair_of_verdict(str(tf_version), str(metal), report.tensorflow_distribution,
                               report.verdict, report.shim, datetime.date.today().isoformat(),
                               _tool())

    cache = VerdictCache(house)
    pair, computed = cache.get_or_compute(tf_sha, metal_sha, compute)
    record = parse_pair(pair, origin=HERE)
    if not computed:
        progress(f"tensorflow {tf_version} with tensorflow-metal {metal}: the link verdict "
                 "computed here before, from the wheelhouse")
    return record, _note(record, computed, time.monotonic() - started, cache.path(tf_sha, metal_sha))


def _note(record: LinkRecord, computed: bool, seconds: float, path: Path) -> dict[str, Any]:
    """What the plan's JSON (`link_checks`) and text say about one pair checked here."""
    state = "links" if record.links else "link-broken"
    missing = [m.symbol for m in record.missing]
    text = (f"tensorflow {record.tensorflow} with tensorflow-metal {record.metal}: "
            + ("links" if record.links else
               f"link-broken, {record.missing_count} missing symbol(s): {', '.join(missing[:5])}")
            + " (link-checked here from the wheels pip fetched; "
            + (f"computed now, {seconds:.1f} s)" if computed else "kept in the wheelhouse from an earlier plan)"))
    return {
        "tensorflow": str(record.tensorflow), "tensorflow_metal": str(record.metal),
        "state": record.state, "verdict": state, "origin": HERE, "computed": computed,
        "missing": missing, "missing_count": record.missing_count,
        "tensorflow_wheel": record.tensorflow_wheel.to_json(), "metal_wheel": record.metal_wheel.to_json(),
        "evidence": record.evidence(), "verdict_file": str(path), "seconds": round(seconds, 3),
        "text": text,
    }


def _tf_wheel(resolved: Resolved, house: Wheelhouse, item: Optional[ResolvedItem], distribution: str,
              tf_version: Version, progress: Progress) -> Path:
    """The TensorFlow wheel pip resolved, in the wheelhouse (fetched by pip with its sha256)."""
    if item is not None:
        have = house.entries().get(item.filename)
        if have is not None and (not item.sha256 or have.sha256 == item.sha256.lower()) \
                and house.check(item.filename, have) is None:
            return house.path_of(item.filename)
    progress(f"fetching {distribution} {tf_version} with pip (the wheel the resolution chose)")
    return fetch_with_pip(resolved, house, f"{distribution}=={tf_version}",
                          (item.sha256 or "") if item is not None else "")


def fetch_with_pip(resolved: Resolved, house: Wheelhouse, pin: str, sha256: str) -> Path:
    """`pip download --no-deps` of one pinned wheel for the plan's target into the wheelhouse,
    with the user's index options (and the sha256 pip reported, when there is one)."""
    args = resolved.args
    with house.incoming_dir() as incoming:
        req = incoming / "link-check.txt"
        lines = [*args.file_options, f"{pin} --hash=sha256:{sha256}" if sha256 else pin]
        req.write_text("\n".join(lines) + "\n", encoding="utf-8")
        argv = pip_runner.base_argv(resolved.python, args.general) + [
            "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off",
            "-d", str(incoming), "-r", str(req),
            *download_args([*args.passthrough, *resolved.cross_args()]),
        ]
        if args.own.offline:
            argv.append("--no-index")
        for link in resolved.find_links:
            argv += ["--find-links", link]
        fetched = pip_runner.run(argv)
        wheels = [p for p in incoming.glob("*.whl")]
        if not fetched.ok or len(wheels) != 1:
            raise CacheError(f"pip could not download {pin} for {resolved.plan.target.describe}.",
                             "check the index settings (pip config list) and the network",
                             details=fetched.summary())
        return Path(house.add_fetched(wheels[0], sha256, ""))


def _tool() -> str:
    try:
        import lief

        lief_version = str(lief.__version__).split("-")[0]  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - the check itself needs LIEF
        lief_version = "?"
    return f"pip-tfmac {pip_tfmac.__version__}, lief {lief_version}"


__all__ = ["fetch_with_pip", "link_check_newer"]
