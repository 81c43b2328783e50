"""Releases newer than the knowledge (issue 12 part 4), the pure rules and the verdict cache:
which request reaches past the knowledge, which pair a plan must link-check itself, how a
verdict computed here enters the knowledge and the plan (told apart from the knowledge's own),
the knowledge cut the tests use to play "newer", and the wheelhouse's verdicts/ folder.

Verdicts are real ones: the check runs on the symbol tables read from the real wheels
(tests/data/linkcheck, as test_linkcheck_data.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pip_tfmac.core.errors import BadInputError
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.knowledge_cut import cut, parse_cut
from pip_tfmac.core.linkcheck import ImageExports, PluginImports, check
from pip_tfmac.core.links import HERE, SOURCE_HERE, pair_of_verdict, parse_pair
from pip_tfmac.core.metal_evidence import metal_to_check, newer_than_known, with_verdicts
from pip_tfmac.core.plan import PlanOptions
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import plan_request
from pip_tfmac.core.step2 import pair_with_resolution
from pip_tfmac.core.target import cross_target
from pip_tfmac.knowledge import load
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.wheelhouse.symbols import read_json_gz
from pip_tfmac.wheelhouse.verdicts import VerdictCache

DATA = Path(__file__).resolve().parent.parent / "data" / "linkcheck"
LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"
KNOWLEDGE = load()
CUT = cut(KNOWLEDGE, *parse_cut("tensorflow<2.17 tensorflow-metal<1.2"))
V = Version


def verdict_pair(tf: str, metal: str) -> dict:
    plugin = PluginImports.from_json(read_json_gz(DATA / f"metal-{metal}.json.gz"))
    images = tuple(ImageExports.from_json(i) for i in read_json_gz(DATA / f"tensorflow-{tf}.json.gz")["images"])
    return pair_of_verdict(tf, metal, "tensorflow", check(plugin, images), None, "2026-12-06", "test")


def here(tf: str, metal: str):
    return parse_pair(verdict_pair(tf, metal), origin=HERE)


def plan(lines: list[str], tf: str, knowledge: Knowledge, resolved_extra: dict | None = None, **options):
    opts = PlanOptions(**options)
    target = cross_target(["macos-arm64"], "3.11")
    first = plan_request([Request(line) for line in lines], target, knowledge, opts)
    return first, pair_with_resolution(first, {"tensorflow": tf, **(resolved_extra or {})}, knowledge, opts)


# -- what reaches past the knowledge ----------------------------------------------------------

@pytest.mark.parametrize("spec, newer", [
    ("==2.22.0", "2.22.0"), (">=2.22", "2.22"), ("==2.22.*", "2.22"), ("~=2.21.1", "2.21.1"),
    (">2.21.0", "2.21.1"), ("", "2.21.1"), ("==2.21.0", None), ("<2.22", "2.21.1"),
    ("==2.19.0", None), ("<=2.21.0", None),
])
def test_newer_than_known(spec: str, newer: str | None) -> None:
    known = [V("2.21.0"), V("2.20.0"), V("2.12.0")]
    found = newer_than_known(SpecifierSet(spec), known)
    assert found == (V(newer) if newer else None)


# -- the cut knowledge: releases it lists play the part of newer ones --------------------------

def test_cut_forgets_wheels_verdicts_and_the_curated_rules_of_later_releases() -> None:
    assert V("2.17.1") in KNOWLEDGE.tf_versions("3.11") and V("2.17.1") not in CUT.tf_versions("3.11")
    assert max(CUT.arm64_versions("tensorflow-metal", "3.11")) == V("1.1.0")
    assert KNOWLEDGE.pair_state(V("2.17.1"), V("1.1.0")).state == "verified"
    assert CUT.pair_state(V("2.17.1"), V("1.1.0")) is None
    assert CUT.pair_state(V("2.16.2"), V("1.1.0")).state == "verified"
    assert all(r.tensorflow < V("2.17") and r.metal < V("1.2") for r in CUT.links.records)
    with pytest.raises(BadInputError):
        parse_cut("numpy<2")


# -- which pair a plan checks itself ------------------------------------------------------------

def test_metal_to_check() -> None:
    # The knowledge's own word: verified, curated broken, or a link verdict: nothing to check.
    assert metal_to_check(KNOWLEDGE, V("2.18.1"), "3.11") is None
    assert metal_to_check(KNOWLEDGE, V("2.18.0"), "3.11", SpecifierSet("==1.1.0")) is None
    assert metal_to_check(KNOWLEDGE, V("2.21.0"), "3.11") is None  # link-broken in links.toml
    # A TensorFlow newer than the knowledge: the curated ">=2.19" rule only guesses (unverified).
    assert metal_to_check(KNOWLEDGE, V("2.22.0"), "3.11") == V("1.2.0")
    # A plugin newer than the knowledge that pip resolved is the newest candidate.
    assert metal_to_check(KNOWLEDGE, V("2.22.0"), "3.11", None, V("1.3.0")) == V("1.3.0")
    assert metal_to_check(KNOWLEDGE, V("2.22.0"), "3.11", SpecifierSet("<1.3"), V("1.3.0")) == V("1.2.0")
    # The pair the resolution picked (a constraint held pip at 1.1.0) is the one checked.
    assert metal_to_check(KNOWLEDGE, V("2.22.0"), "3.11", None, V("1.1.0")) == V("1.1.0")
    # Verified first: a verified plugin the request admits needs no check of a newer one.
    assert metal_to_check(KNOWLEDGE, V("2.18.1"), "3.11", None, V("1.3.0")) is None
    assert metal_to_check(CUT, V("2.17.1"), "3.11") == V("1.1.0")
    assert metal_to_check(CUT, V("2.16.2"), "3.11") is None


# -- step 1 hands releases past the knowledge to pip --------------------------------------------

def test_step1_plans_a_tensorflow_pin_past_the_knowledge() -> None:
    first, _ = plan(["tensorflow==2.17.1"], "2.17.1", CUT)
    assert first.errors == () and "tensorflow==2.17.1" in first.requirements
    assert any("newer than the knowledge (its newest TensorFlow is 2.16.2)" in w for w in first.warnings)
    # pip is to pick the plugin too (step 2 pins or drops it after the link check).
    assert first.metal_line == "tensorflow-metal" and "tensorflow-metal" in first.requirements
    cpu, _ = plan(["tensorflow==2.17.1"], "2.17.1", CUT, no_metal=True)
    assert cpu.errors == () and not any(r.startswith("tensorflow-metal") for r in cpu.requirements)
    known, _ = plan(["tensorflow==2.12.*"], "2.12.0", CUT)  # a release it lists: as before
    assert known.errors == () and not any("newer than the knowledge" in w for w in known.warnings)
    old = plan_request([Request("tensorflow==2.12.*")], cross_target(["macos-arm64"], "3.12"), CUT)
    assert old.errors and "has no macOS arm64 build for Python 3.12" in old.errors[0].message


def test_step1_hands_a_plugin_pin_past_the_knowledge_to_pip() -> None:
    first, _ = plan(["tensorflow==2.16.2", "tensorflow-metal==1.2.0"], "2.16.2", CUT)
    assert "tensorflow-metal==1.2.0" in first.requirements
    unknown = plan_request([Request("tensorflow-metal==0.9.0")], cross_target(["macos-arm64"], "3.11"), CUT)
    assert "tensorflow-metal==0.9.0" not in unknown.requirements  # older, unknown: not a new release


# -- a verdict computed here, in the plan ---------------------------------------------------------

def test_a_pair_linked_here_is_planned_and_names_its_evidence() -> None:
    knowledge = with_verdicts(CUT, [here("2.17.1", "1.1.0")], "3.11")
    _, paired = plan(["tensorflow==2.17.1"], "2.17.1", knowledge)
    assert paired.requirements[-1] == "tensorflow-metal==1.1.0"
    (add,) = [a for a in paired.actions if a.kind == "add"]
    assert add.source == SOURCE_HERE
    assert "link-checked here from the wheels pip fetched" in add.reason and ": links" in add.reason
    assert "link-checked from the wheels, not run on a Mac: link check of" not in add.reason


def test_a_pair_broken_here_gives_a_cpu_plan_naming_the_symbol_or_68() -> None:
    knowledge = with_verdicts(CUT, [here("2.18.1", "1.1.0")], "3.11")
    _, paired = plan(["tensorflow==2.18.1"], "2.18.1", knowledge)
    assert not any(r.startswith("tensorflow-metal") for r in paired.requirements)
    (cpu,) = [a for a in paired.actions if a.kind == "cpu-only"]
    assert LOG_OLD in cpu.reason and "link-broken, 1 missing symbol(s)" in cpu.reason
    _, strict = plan(["tensorflow==2.18.1"], "2.18.1", knowledge, strict=True)
    assert strict.errors[0].kind == "StrictError" and LOG_OLD in strict.errors[0].message


def test_a_plugin_past_the_knowledge_joins_the_wheel_table_for_that_python() -> None:
    knowledge = with_verdicts(CUT, [here("2.17.1", "1.2.0")], "3.11")
    assert V("1.2.0") in knowledge.arm64_versions("tensorflow-metal", "3.11")
    assert V("1.2.0") not in (knowledge.arm64_versions("tensorflow-metal", "3.10") or ())
    _, paired = plan(["tensorflow==2.17.1", "tensorflow-metal"], "2.17.1", knowledge,
                     {"tensorflow-metal": "1.2.0"})
    assert "tensorflow-metal==1.2.0" in paired.requirements


def test_verdict_round_trip_keeps_both_wheels() -> None:
    pair = verdict_pair("2.18.1", "1.1.0")
    record = parse_pair(json.loads(json.dumps(pair)), origin=HERE)
    assert record.state == "link-broken" and record.missing[0].symbol == LOG_OLD
    assert record.tensorflow_wheel.sha256 == pair["tensorflow_sha256"] and record.source == SOURCE_HERE


# -- the wheelhouse's verdicts/ ------------------------------------------------------------------

A, B = "a" * 64, "b" * 64


def test_verdict_cache_computes_once_and_never_believes_a_damaged_file(tmp_path: Path) -> None:
    cache = VerdictCache(Wheelhouse(tmp_path / "wh"))
    calls = []

    def compute() -> dict:
        calls.append(1)
        return verdict_pair("2.18.1", "1.1.0")

    first, computed = cache.get_or_compute(A, B, compute)
    again, computed_again = cache.get_or_compute(A, B, compute)
    assert (computed, computed_again, len(calls)) == (True, False, 1) and again == first
    path = cache.path(A, B)
    assert path.name == f"{A}-{B}.json" and oct(path.stat().st_mode & 0o777) == "0o600"
    body = json.loads(path.read_text())
    body["pair"]["state"] = "link-checked"
    path.write_text(json.dumps(body))
    assert cache.get(A, B) is None
    assert [p.kind for p in cache.problems(repair=True)] == ["damaged-verdict"] and not path.exists()
    cache.get_or_compute(A, B, compute)
    assert len(calls) == 2 and cache.problems(repair=False) == []


def test_verdict_cache_two_runs_at_once_compute_once(tmp_path: Path) -> None:
    calls = []
    gate = threading.Event()

    def compute() -> dict:
        calls.append(1)
        gate.wait(2)
        return verdict_pair("2.17.1", "1.1.0")

    results = []

    def one() -> None:
        # Each run opens its own Wheelhouse, as two processes would (filelock: one holder).
        results.append(VerdictCache(Wheelhouse(tmp_path / "wh")).get_or_compute(A, B, compute)[1])

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and sorted(results) == [False, True]


def test_verdict_cache_does_not_follow_a_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    house = Wheelhouse(tmp_path / "wh")
    (house.root / "verdicts").symlink_to(elsewhere)
    cache = VerdictCache(house)
    warned = []
    house.warn = warned.append
    _, computed = cache.get_or_compute(A, B, lambda: verdict_pair("2.17.1", "1.1.0"))
    assert computed and list(elsewhere.iterdir()) == [] and warned
    assert [p.kind for p in cache.problems(repair=False)] == ["damaged-folder"]


def test_install_of_a_newer_tensorflow_on_a_mac_is_planned_not_passed_to_pip(tmp_path: Path) -> None:
    """On a Mac, `pip-tfmac install tensorflow==X` (X past the knowledge) changes no line in
    step 1 (no plugin can be predicted), but the plugin is paired after pip resolves: the
    install must not go to pip unchanged."""
    from pip_tfmac.core.target import target_from_facts
    from pip_tfmac.flows.plan import changes_nothing
    from pip_tfmac.flows.resolution import Resolved
    from pip_tfmac.runners.pipargs import parse_install

    facts = {"system": "Darwin", "machine": "arm64", "mac_ver": "14.5", "python_full": "3.11.7",
             "executable": "/Users/dev/venv/bin/python"}
    target = target_from_facts(facts)
    for line, nothing in (("tensorflow==2.17.1", False), ("numpy==1.26.4", True)):
        args = parse_install(["install", line], 0)
        first = plan_request([Request(line)], target, CUT, PlanOptions())
        resolved = Resolved(first, args, "/Users/dev/venv/bin/python", str(tmp_path))
        assert changes_nothing(resolved) is nothing, (line, first)


def test_a_missing_release_pip_reports_is_asked_by_the_request_not_by_its_versions() -> None:
    """A pin past the knowledge that the index lacks now reaches pip; its failure names the
    request as the asker (pip's "(from versions: ...)" is not a requester)."""
    from pip_tfmac.core.explain import USER, asks_from_pip_text

    text = ("ERROR: Could not find a version that satisfies the requirement tensorflow-metal==1.3.0 "
            "(from versions: 1.1.0, 1.2.0)\n")
    (ask,) = asks_from_pip_text(text)
    assert (ask.requirement, ask.by) == ("tensorflow-metal==1.3.0", USER)
    text = ("ERROR: Could not find a version that satisfies the requirement tf-keras>=9 "
            "(from needs-tf) (from versions: 2.18.0)\n")
    assert asks_from_pip_text(text)[0].by == "needs-tf"


def test_a_plugin_line_pinned_to_what_pip_resolved_needs_no_second_resolve() -> None:
    """Past the knowledge, step 1 asks pip for `tensorflow-metal`; step 2 pins the release pip
    chose once the pair is link-checked: the first resolution already holds that set."""
    from pip_tfmac.flows.resolution import changes_resolution

    first, paired = plan(["tensorflow==2.17.1"], "2.17.1", with_verdicts(CUT, [here("2.17.1", "1.1.0")], "3.11"),
                         {"tensorflow-metal": "1.1.0"})
    assert "tensorflow-metal" in first.requirements and "tensorflow-metal==1.1.0" in paired.requirements
    versions = {"tensorflow": "2.17.1", "tensorflow-metal": "1.1.0"}
    assert not changes_resolution(first, paired, versions)
    assert changes_resolution(first, paired, {**versions, "tensorflow-metal": "1.2.0"})
    _, dropped = plan(["tensorflow==2.18.1"], "2.18.1", with_verdicts(CUT, [here("2.18.1", "1.1.0")], "3.11"),
                      {"tensorflow-metal": "1.1.0"})
    assert not any(r.startswith("tensorflow-metal") for r in dropped.requirements)
    assert changes_resolution(first, dropped, versions)  # the plugin leaves the set: resolve again
