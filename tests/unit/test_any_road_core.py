"""The pure parts of "TensorFlow by any road" (issue 18): markers read for the target, family
packages found in a resolution or in a failed one, failures explained from the knowledge, and
reverse aliases so that a dependent of tensorflow-macos shares the one TensorFlow."""

from __future__ import annotations

import pytest

from pip_tfmac.core.detect import Resolved, arrivals_in_failure, arrivals_in_resolution, named_in, watched
from pip_tfmac.core.explain import USER, Ask, asks_from_pip_text, explain_unavailable
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import evaluate_markers, plan_request
from pip_tfmac.core.target import cross_target
from pip_tfmac.knowledge import load

KNOWLEDGE = load()
MAC311 = cross_target(["macos-arm64"], "3.11")
LINUX311 = cross_target(["manylinux2014_x86_64"], "3.11")


def test_markers_are_read_for_the_cross_target_not_for_this_machine() -> None:
    requests = [Request('tensorflow-macos==2.12.0; sys_platform == "darwin"'),
                Request('tensorflow==2.12.0; sys_platform != "darwin"'), Request("numpy")]
    kept, actions = evaluate_markers(requests, cross_target(["macos-arm64"], "3.10"))
    assert [r.text for r in kept] == ["tensorflow-macos==2.12.0", "numpy"]
    assert [(a.kind, a.to) for a in actions] == [("marker", "tensorflow-macos==2.12.0"), ("marker", "(left out)")]
    kept, _ = evaluate_markers(requests, LINUX311)
    assert [r.text for r in kept] == ["tensorflow==2.12.0", "numpy"]


def test_python_and_machine_markers_take_the_target_values() -> None:
    requests = [Request('a; python_version >= "3.12"'), Request('b; platform_machine == "arm64"'),
                Request('c; python_full_version < "3.11.1" and os_name == "posix"')]
    kept, _ = evaluate_markers(requests, MAC311)
    assert [r.text for r in kept] == ["b", "c"]


def test_a_probed_target_keeps_its_lines_as_written() -> None:
    from dataclasses import replace

    real = replace(MAC311, cross=False)
    requests = [Request('tensorflow; sys_platform == "linux"')]
    assert evaluate_markers(requests, real) == (requests, [])


def test_marker_branched_file_plans_the_darwin_branch_with_its_plugin() -> None:
    requests = [Request('tensorflow-macos==2.12.0; sys_platform == "darwin"'),
                Request('tensorflow==2.12.0; sys_platform != "darwin"')]
    plan = plan_request(requests, cross_target(["macos-arm64"], "3.10"), KNOWLEDGE)
    assert plan.requirements == ("tensorflow-macos==2.12.0", "tensorflow-metal==0.8.0")


def test_a_family_package_deep_in_the_resolution_is_an_arrival_with_its_parents() -> None:
    items = [Resolved("tensorflowjs", "4.22.0", ("tensorflow<3,>=2.13.0", "tf-keras>=2.13")),
             Resolved("tensorflow", "2.19.0", ("numpy>=1.26",)),
             Resolved("tf_keras", "2.19.0", ("tensorflow<2.20,>=2.19",)),
             Resolved("requests", "2.32.0")]
    found = arrivals_in_resolution(items, watched(KNOWLEDGE, MAC311), named_in([Request("tensorflowjs")]))
    by_name = {a.name: a for a in found}
    assert set(by_name) == {"tensorflow", "tf-keras"}
    assert by_name["tensorflow"].parents == ("tensorflowjs 4.22.0", "tf_keras 2.19.0")
    assert by_name["tensorflow"].request().origin == "dependency of tensorflowjs 4.22.0, tf_keras 2.19.0"


def test_what_the_user_named_is_not_an_arrival() -> None:
    items = [Resolved("tensorflow", "2.18.1")]
    assert arrivals_in_resolution(items, watched(KNOWLEDGE, MAC311), named_in([Request("tensorflow>=2")])) == ()


def test_off_the_mac_plain_tensorflow_changes_nothing_and_is_not_watched() -> None:
    watch = watched(KNOWLEDGE, LINUX311)
    assert "tensorflow" not in watch and "tensorflow-macos" in watch and "tensorflow-metal" in watch


PIP_FAILURE = """\
ERROR: Could not find a version that satisfies the requirement tensorflow-text~=2.15.0 (from tf-models-official) (from versions: 2.16.1, 2.17.0)
ERROR: No matching distribution found for tensorflow-text~=2.15.0
"""

PIP_CONFLICT = """\
The conflict is caused by:
    The user requested tensorflow==2.11.0
    keras-cv 0.9.0 depends on tensorflow>=2.13
"""


def test_asks_are_read_from_pips_failure_text() -> None:
    assert asks_from_pip_text(PIP_FAILURE) == (Ask("tensorflow-text~=2.15.0", "tf-models-official"),)
    assert asks_from_pip_text(PIP_CONFLICT) == (Ask("tensorflow>=2.13", "keras-cv 0.9.0"),
                                                Ask("tensorflow==2.11.0", USER))


def test_a_failed_resolution_names_the_family_package_a_dependent_asked_for() -> None:
    found = arrivals_in_failure(asks_from_pip_text(PIP_FAILURE), watched(KNOWLEDGE, MAC311), set())
    assert [(a.requirement, a.parents) for a in found] == [("tensorflow-text~=2.15.0", ("tf-models-official",))]


def test_a_companion_without_arm64_build_is_explained_with_who_asked_and_what_exists() -> None:
    problem = explain_unavailable(asks_from_pip_text(PIP_FAILURE), MAC311, KNOWLEDGE)
    assert problem is not None and problem.kind == "NoConsistentSetError"
    assert "tensorflow-text~=2.15.0" in problem.message and "tf-models-official" in problem.message
    assert "2.18.1" in problem.remedy


def test_nothing_to_explain_when_a_build_exists_or_off_the_mac() -> None:
    fine = (Ask("tensorflow-text~=2.18.0", "x 1"),)
    assert explain_unavailable(fine, MAC311, KNOWLEDGE) is None
    assert explain_unavailable(asks_from_pip_text(PIP_FAILURE), LINUX311, KNOWLEDGE) is None


def test_a_dependents_companion_pin_without_build_says_who_asked() -> None:
    request = Request("tensorflow-text~=2.15.0", origin="dependency of tf-models-official 2.15.0")
    plan = plan_request([request], MAC311, KNOWLEDGE)
    assert plan.errors and "asked by tf-models-official 2.15.0" in plan.errors[0].message


@pytest.mark.parametrize("spec, expected", [
    ("tensorflow-macos<2.15.1,>=2.4.1", []),               # tensorflow 2.13-2.15.0 are shims of it
    ("tensorflow-macos~=2.15.0", ["2.15.1+tfmac.1"]),        # 2.15.1 is a real tensorflow build
    ("tensorflow-macos==2.16.2", []),                            # a redirect already
])
def test_a_dependent_of_tensorflow_macos_gets_a_reverse_alias(spec: str, expected: list[str]) -> None:
    plan = plan_request([Request(spec, origin="dependency of basic-pitch 0.4.0")], MAC311, KNOWLEDGE)
    reverse = [a.version for a in plan.aliases if a.name == "tensorflow-macos"]
    assert reverse == expected
    for alias in plan.aliases:
        if alias.name == "tensorflow-macos":
            assert alias.target_name == "tensorflow" and alias.target_version == alias.version.split("+")[0]
