"""The planner's use of every pair state (issue 12 part 3, part 7): verified first, link-checked
only when the request admits no verified pair (and the plan names the wheels' evidence),
link-broken never (a CPU plan naming a missing symbol, or exit 68 under --strict), unverified
only with --allow-unverified-metal, broken never.

The real knowledge (tensorflow.toml + links.toml) is used where it has the case; a few cases
need a link table it does not have (a Python 3.13 TensorFlow that links, an unverified pair
with no verdict): those swap Knowledge.links for a table parsed from a hand-written dict, the
same parser links.toml goes through.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from packaging.version import Version

from pip_tfmac.core.errors import ExitCode
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.links import parse_links
from pip_tfmac.core.plan import PlanOptions
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import plan_request
from pip_tfmac.core.step2 import pair_with_resolution
from pip_tfmac.core.target import cross_target
from pip_tfmac.knowledge import load

KNOWLEDGE = load()


def plan(lines: list[str], python: str, tf: str, knowledge: Knowledge = KNOWLEDGE, **options: Any):
    opts = PlanOptions(**options)
    target = cross_target(["macos-arm64"], python)
    first = plan_request([Request(line) for line in lines], target, knowledge, opts)
    return pair_with_resolution(first, {"tensorflow": tf, "numpy": "1.26.4"}, knowledge, opts)


def kinds(p) -> list[str]:
    return [a.kind for a in p.actions]


def record(tf: str, metal: str, state: str, missing: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"tensorflow": tf, "metal": metal, "state": state,
            "tensorflow_wheel": f"tensorflow-{tf}-cp313-cp313-macosx_12_0_arm64.whl",
            "tensorflow_sha256": "a" * 64,
            "metal_wheel": f"tensorflow_metal-{metal}-cp311-cp311-macosx_12_0_arm64.whl",
            "metal_sha256": "b" * 64, "checked_on": "2026-12-06",
            "min_macos": {"libmetal_plugin.dylib": "12.1"},
            "missing": [{"symbol": s, "library": None} for s in missing],
            "missing_count": len(missing)}


def with_links(*records: dict[str, Any]) -> Knowledge:
    return dataclasses.replace(KNOWLEDGE, links=parse_links({"pair": list(records)}))


# -- the states, from the real knowledge ---------------------------------------------------------

def test_load_attaches_the_link_table_and_stays_cached() -> None:
    from pip_tfmac.knowledge import load_links

    assert load() is KNOWLEDGE
    assert KNOWLEDGE.links is load_links() and len(KNOWLEDGE.links.records) == 85


def test_knowledge_combines_the_curated_state_with_the_link_verdict() -> None:
    state = lambda tf, m: KNOWLEDGE.pair_state(Version(tf), Version(m)).state  # noqa: E731
    assert state("2.18.1", "1.2.0") == "verified"  # curated verified, and it links
    assert state("2.18.0", "1.1.0") == "broken"  # curated broken (#81987) stays broken
    assert state("2.19.1", "1.2.0") == "link-checked"  # curated unverified, lifted by the wheels
    assert state("2.17.1", "1.2.0") == "link-checked"
    assert state("2.20.0", "1.2.0") == "link-broken"  # curated unverified, refused by the wheels
    assert state("2.19.1", "1.1.0") == "link-broken"  # no curated rule at all


def test_verified_first_when_the_request_admits_one() -> None:
    p = plan(["tensorflow"], "3.11", "2.18.1")
    assert p.constraints[0] == "tensorflow<2.19"  # 2.19.1 links, but 2.18 is verified
    assert p.requirements[-1] == "tensorflow-metal==1.2.0"
    assert "(verified)" in next(a for a in p.actions if a.kind == "add").reason
    assert p.warnings == ()


def test_a_verified_pair_wins_over_a_link_checked_one_for_the_same_tf() -> None:
    """2.17.1 links with 1.1.0 (verified) and 1.2.0 (link-checked): the verified one is planned,
    and a pin on the link-checked one is corrected to it (acceptance a11 for 2.15.1)."""
    p = plan(["tensorflow==2.17.1"], "3.11", "2.17.1")
    assert p.requirements[-1] == "tensorflow-metal==1.1.0"
    pinned = plan(["tensorflow==2.17.1", "tensorflow-metal==1.2.0"], "3.11", "2.17.1")
    correct = next(a for a in pinned.actions if a.kind == "correct")
    assert correct.to == "tensorflow-metal==1.1.0"


def test_link_checked_used_when_the_request_rules_out_every_verified_pair() -> None:
    p = plan(["tensorflow==2.19.*"], "3.11", "2.19.1")
    assert p.errors == ()
    assert p.requirements == ("tensorflow==2.19.*", "tensorflow-metal==1.2.0")
    add = next(a for a in p.actions if a.kind == "add")
    assert add.source == "knowledge/links.toml"
    assert "link-checked from the wheels, not run on a Mac" in add.reason
    assert "sha256 5fa7cee62703" in add.reason  # the plugin wheel checked
    assert "tensorflow-2.19.1-cp311-cp311-macosx_12_0_arm64.whl (sha256 " in add.reason
    (warning,) = p.warnings
    assert "not run on a Mac" in warning


def test_preference_falls_to_link_checked_when_the_request_starts_after_verified() -> None:
    """`tensorflow>=2.19`: 2.20/2.21 are link-broken, 2.19 link-checked: cap at 2.19, say why."""
    p = plan(["tensorflow>=2.19"], "3.11", "2.19.1")
    assert p.constraints[0] == "tensorflow<2.20"
    assert p.requirements == ("tensorflow>=2.19", "tensorflow-metal==1.2.0")
    prefer = next(a for a in p.actions if a.kind == "prefer")
    assert "(tensorflow-metal 1.2.0, link-checked)" in prefer.reason
    assert "evidence: link-checked from the wheels, not run on a Mac" in prefer.reason


def test_link_checked_pin_kept_when_no_verified_pair_exists() -> None:
    p = plan(["tensorflow==2.19.1", "tensorflow-metal==1.2.0"], "3.11", "2.19.1")
    assert p.errors == ()
    assert [a.kind for a in p.actions if a.package == "tensorflow-metal"] == ["pin"]


def test_py312_tf_216_plans_the_link_checked_plugin_no_verified_wheel_exists() -> None:
    p = plan(["tensorflow==2.16.*"], "3.12", "2.16.2")  # 1.1.0 has no cp312 wheel
    assert p.requirements[-1] == "tensorflow-metal==1.2.0"


def test_link_broken_is_refused_with_the_missing_symbol_named() -> None:
    p = plan(["tensorflow==2.20.*"], "3.11", "2.20.0")
    assert p.requirements == ("tensorflow==2.20.*",)
    assert kinds(p) == ["cpu-only", "pin"]
    assert "tensorflow-metal 1.2.0 with TensorFlow 2.20.0 is link-broken" in p.warnings[0]
    assert "60 missing symbol(s), e.g. _TF_DeleteStatus" in p.warnings[0]


def test_link_broken_is_refused_even_opted_in_to_unverified_pairs() -> None:
    p = plan(["tensorflow==2.21.*"], "3.11", "2.21.0", allow_unverified_metal=True)
    assert "tensorflow-metal==1.2.0" not in p.requirements
    assert "link-broken" in p.warnings[0]


def test_link_broken_under_strict_is_exit_68() -> None:
    p = plan(["tensorflow==2.20.*"], "3.11", "2.20.0", strict=True)
    assert [e.kind for e in p.errors] == ["StrictError"]
    assert "link-broken" in p.errors[0].message and "_TF_DeleteStatus" in p.errors[0].message
    assert ExitCode.STRICT == 68


def test_explicit_metal_with_a_link_broken_tf_is_an_error() -> None:
    p = plan_request([Request("tensorflow==2.20.*"), Request("tensorflow-metal")],
                     cross_target(["macos-arm64"], "3.11"), KNOWLEDGE, PlanOptions())
    assert [e.kind for e in p.errors] == ["NoConsistentSetError"]  # step 1: before any resolve
    assert "link-broken" in p.errors[0].message


def test_pin_on_a_link_broken_plugin_is_corrected_naming_the_symbol() -> None:
    p = plan(["tensorflow==2.19.1", "tensorflow-metal==1.1.0"], "3.11", "2.19.1")
    correct = next(a for a in p.actions if a.kind == "correct")
    assert correct.to == "tensorflow-metal==1.2.0"
    assert "the requested pair is link-broken" in correct.reason
    assert "__ZN3tsl8internal10LogMessageC1EPKcii" in correct.reason


# -- unverified: only opted in, and only without a link verdict -----------------------------------

def test_unverified_pair_without_a_verdict_needs_the_opt_in() -> None:
    no_links = dataclasses.replace(KNOWLEDGE, links=None)  # 1.2.0 x 2.19 as it was: unverified
    plain = plan(["tensorflow==2.19.*"], "3.11", "2.19.1", no_links)
    assert "tensorflow-metal==1.2.0" not in plain.requirements
    assert "--allow-unverified-metal opts in" in plain.warnings[0]
    opted = plan(["tensorflow==2.19.*"], "3.11", "2.19.1", no_links, allow_unverified_metal=True)
    assert opted.requirements[-1] == "tensorflow-metal==1.2.0"
    assert opted.warnings[0].endswith("Installed because --allow-unverified-metal was given.")


def test_link_checked_ranks_above_unverified_in_the_preference() -> None:
    """2.19.1 link-checked, 2.20.0 unverified (no verdict): with the flag and a request that rules
    out 2.18, the link-checked 2.19 is preferred over the newer unverified 2.20."""
    k = with_links(record("2.19.1", "1.2.0", "link-checked"))
    first = plan_request([Request("tensorflow>=2.19")], cross_target(["macos-arm64"], "3.11"), k,
                         PlanOptions(allow_unverified_metal=True))
    assert "tensorflow<2.20" in first.constraints


# -- part 7: a Python with no tensorflow-metal wheel ------------------------------------------

def test_py313_reason_rests_on_the_link_verdicts_none_links() -> None:
    p = plan(["tensorflow"], "3.13", "2.21.0")
    (warning,) = p.warnings
    assert ("No TensorFlow with a Python 3.13 wheel (2.21.0, 2.20.0) links with tensorflow-metal "
            "1.2.0, the newest plugin") in warning
    assert "re-tagged for Python 3.13 would not work either" in warning


def test_py313_reason_names_the_local_wheel_when_a_tf_links() -> None:
    k = with_links(record("2.21.0", "1.2.0", "link-broken", ("_TF_DeleteStatus",)),
                   record("2.20.0", "1.2.0", "link-checked"))
    p = plan(["tensorflow"], "3.13", "2.21.0", k)
    (warning,) = p.warnings
    assert "TensorFlow 2.20.0 (which has a Python 3.13 wheel) links with tensorflow-metal 1.2.0" in warning
    assert "a 1.2.0 wheel re-tagged for Python 3.13" in warning
    assert "with tensorflow==2.20.0" in warning
    explicit = plan_request([Request("tensorflow"), Request("tensorflow-metal")],
                            cross_target(["macos-arm64"], "3.13"), k, PlanOptions())
    assert [e.kind for e in explicit.errors] == ["UnsupportedTargetError"]
    assert "re-tagged for Python 3.13" in explicit.errors[0].message


def test_py313_without_verdicts_says_only_what_it_knows() -> None:
    p = plan(["tensorflow"], "3.13", "2.21.0", dataclasses.replace(KNOWLEDGE, links=None))
    assert p.warnings == ("tensorflow-metal has no build for Python 3.13 (it exists for Python 3.9, "
                          "3.10, 3.11, 3.12). TensorFlow will run on the CPU.",)
