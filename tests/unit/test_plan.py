"""The pure planner (plan.py), offline, over a table of targets and requests.

Step 1 (`plan_request`) is fed requests as pipargs would hand them over; step 2
(`pair_with_resolution`) is fed a resolution the way pip's `--report` yields it: a mapping of
distribution name to the version pip chose, including unrelated dependencies.

Targets come from the two real seams: `cross_target(["macos-arm64"], X.Y)` (pip's cross-target
options) and `target_from_facts(...)` with the facts the probe would report on a Mac. The facts
are a test double: macOS, Rosetta and an Apple GPU cannot exist on this Linux machine.

Every expectation is an exact value taken from the knowledge files (a knowledge change that
moves a pair makes these tests fail on purpose: update the table with the new fact).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.knowledge import load
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import hash_pinned_changes, plan_request
from pip_tfmac.core.step2 import pair_with_resolution
from pip_tfmac.core.plan import (
    PLAN_JSON_VERSION,
    Plan,
    PlanOptions,
)
from pip_tfmac.core.target import Target, cross_target, target_from_facts

KNOWLEDGE: Knowledge = load()
ACCEPTANCE = Path(__file__).resolve().parents[1] / "acceptance"
METAL_ANYWHERE = "tensorflow-metal; sys_platform == 'darwin' and platform_machine == 'arm64'"


# -- targets ---------------------------------------------------------------------------------


def mac_facts(python_full: str = "3.11.9", mac_ver: str = "14.5", *, translated: bool = False,
              installed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What target.probe() reads inside a Python on a Mac (a test double: no macOS here).

    `translated=True` is an x86_64 Python under Rosetta on Apple Silicon: platform.machine()
    says x86_64 and sysctl.proc_translated says 1.
    """
    machine = "x86_64" if translated else "arm64"
    darwin = int(mac_ver.split(".")[0]) + 9
    return {
        "system": "Darwin",
        "machine": machine,
        "python_full": python_full,
        "mac_ver": mac_ver,
        "translated": translated,
        "executable": "/Users/dev/venv/bin/python",
        "installed": dict(installed or {}),
        "markers": {
            "implementation_name": "cpython",
            "implementation_version": python_full,
            "os_name": "posix",
            "platform_machine": machine,
            "platform_release": f"{darwin}.5.0",
            "platform_system": "Darwin",
            "platform_version": f"Darwin Kernel Version {darwin}.5.0",
            "python_full_version": python_full,
            "platform_python_implementation": "CPython",
            "python_version": ".".join(python_full.split(".")[:2]),
            "sys_platform": "darwin",
        },
    }


def probed_mac(python: str = "3.11", mac_ver: str = "14.5", **kwargs: Any) -> Target:
    return target_from_facts(mac_facts(f"{python}.7", mac_ver, **kwargs))


def mac(python: str, macos: str | None = None) -> Target:
    return cross_target(["macos-arm64"], python, macos)


def linux(python: str = "3.11") -> Target:
    return cross_target(["manylinux2014_x86_64"], python)


def windows(python: str = "3.11") -> Target:
    return cross_target(["win_amd64"], python)


def intel_mac(python: str = "3.11") -> Target:
    return cross_target(["macosx_14_0_x86_64"], python)


def rosetta(python: str = "3.11") -> Target:
    return probed_mac(python, translated=True)


# -- running the planner ---------------------------------------------------------------------


def requests(lines: Sequence[str], constraints: Sequence[str] = ()) -> list[Request]:
    return [Request(line) for line in lines] + [
        Request(line, origin="constraints.txt", constraint=True) for line in constraints
    ]


def step1(lines: Sequence[str], target: Target, constraints: Sequence[str] = (),
          **options: bool) -> Plan:
    return plan_request(requests(lines, constraints), target, KNOWLEDGE, PlanOptions(**options))


def step2(lines: Sequence[str], target: Target, resolved: Mapping[str, str],
          constraints: Sequence[str] = (), **options: bool) -> Plan:
    opts = PlanOptions(**options)
    first = plan_request(requests(lines, constraints), target, KNOWLEDGE, opts)
    assert first.errors == (), [e.to_json() for e in first.errors]
    return pair_with_resolution(first, resolved, KNOWLEDGE, opts)


def kinds(plan: Plan) -> list[str]:
    return [a.kind for a in plan.actions]


def action(plan: Plan, kind: str, package: str | None = None) -> Any:
    found = [a for a in plan.actions if a.kind == kind and (package is None or a.package == package)]
    assert len(found) == 1, (kind, package, [a.to_json() for a in plan.actions])
    return found[0]


def error_kinds(plan: Plan) -> list[str]:
    return [e.kind for e in plan.errors]


# Plausible extra packages of a real resolution: the planner must ignore them.
NOISE = {"numpy": "1.26.4", "absl-py": "2.1.0", "protobuf": "4.25.3", "six": "1.16.0"}


def report(**versions: str) -> dict[str, str]:
    """A resolution as read from pip's --report: name -> version, plus unrelated packages."""
    return {**NOISE, **{name.replace("_", "-"): v for name, v in versions.items()}}


# -- the acceptance sets (tests/acceptance/a*.txt), each header restated as exact values ----


@dataclass(frozen=True)
class Case:
    id: str
    python: str
    lines: tuple[str, ...]
    resolved: Mapping[str, str]  # what pip resolves from step 1's requirements
    requirements: tuple[str, ...] = ()  # after step 2
    constraints: tuple[str, ...] = ()
    action_kinds: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # a substring of each warning, in order
    errors: tuple[str, ...] = ()  # error kinds after step 1
    options: Mapping[str, bool] = field(default_factory=dict)


ACCEPTANCE_CASES = [
    Case("a01", "3.11", ("tensorflow",),
         report(tensorflow="2.18.1", keras="3.6.0"),
         requirements=("tensorflow", "tensorflow-metal==1.2.0"),
         constraints=("tensorflow<2.19", "tensorflow==2.18.1"),
         action_kinds=("prefer", "alias", "pin", "add"),
         aliases=("2.12.0+tfmac.1",)),
    Case("a02", "3.10", ("tensorflow==2.11.*",),
         report(tensorflow_macos="2.11.0", keras="2.11.0"),
         requirements=("tensorflow-macos==2.11.*", "tensorflow-metal==0.7.1"),
         constraints=("tensorflow==2.11.*", "numpy<2", "tensorflow-macos==2.11.0"),
         action_kinds=("rewrite", "bound", "alias", "pin", "add"),
         aliases=("2.11.0+tfmac.1",)),
    Case("a03", "3.9", ("tensorflow-cpu==2.10.0",),
         report(tensorflow_macos="2.10.0"),
         requirements=("tensorflow-macos==2.10.0",),
         constraints=("tensorflow==2.10.0", "numpy<2", "tensorflow-macos==2.10.0"),
         action_kinds=("rewrite", "keep", "bound", "alias", "pin"),
         aliases=("2.10.0+tfmac.1",)),
    Case("a04", "3.11", ("tensorflow[and-cuda]==2.15.*",),
         report(tensorflow="2.15.1", keras="2.15.0"),
         requirements=("tensorflow==2.15.*", "tensorflow-metal==1.1.0"),
         constraints=("numpy<2", "tensorflow==2.15.1"),
         action_kinds=("drop-extra", "bound", "pin", "add")),
    Case("a05", "3.10", ("deepface[tensorflow]", "tensorflow-macos==2.12.0"),
         report(deepface="0.0.93", tensorflow="2.12.0+tfmac.1", tensorflow_macos="2.12.0"),
         requirements=("deepface[tensorflow]", "tensorflow-macos==2.12.0", "tensorflow-metal==0.8.0"),
         constraints=("tensorflow==2.12.0", "numpy<2", "tensorflow-macos==2.12.0"),
         action_kinds=("bound", "alias", "pin", "add"),
         aliases=("2.12.0+tfmac.1",)),
    Case("a06", "3.12", ("tensorflow==2.20.*",),
         report(tensorflow="2.20.0"),
         requirements=("tensorflow==2.20.*",),
         constraints=("tensorflow==2.20.0",),
         action_kinds=("cpu-only", "pin"),
         warnings=(("no TensorFlow admitted by the request has a tensorflow-metal plugin that works "
                   "for Python 3.12 (admitted: 2.20); TensorFlow will run on the CPU."),)),
    Case("a07", "3.13", ("tensorflow",),
         report(tensorflow="2.21.0"),
         requirements=("tensorflow",),
         constraints=("tensorflow==2.21.0",),
         action_kinds=("pin",),
         warnings=(("tensorflow-metal has no build for Python 3.13 (it exists for Python 3.9, "
                   "3.10, 3.11, 3.12). TensorFlow will run on the CPU."),)),
    Case("a08", "3.9", ("tensorflow-macos==2.9.2", "tensorflow-metal"),
         report(tensorflow_macos="2.9.2"),
         requirements=("tensorflow-macos==2.9.2", "tensorflow-metal==0.5.1"),
         constraints=("tensorflow==2.9.2", "numpy<2", "tensorflow-macos==2.9.2"),
         action_kinds=("bound", "alias", "pin", "pin"),
         aliases=("2.9.2+tfmac.1",)),
    Case("a09", "3.11", ("tensorflow-text==2.18.*",),
         report(tensorflow_text="2.18.1", tensorflow="2.18.1"),
         requirements=("tensorflow-text==2.18.*", "tensorflow-metal==1.2.0"),
         constraints=("tensorflow<2.19", "tensorflow==2.18.1"),
         action_kinds=("prefer", "alias", "pin", "add"),
         aliases=("2.12.0+tfmac.1",)),
    Case("a10", "3.10", ("tensorflow==2.14.*", "tensorflow-text==2.14.*"),
         {}, errors=("NoConsistentSetError",)),
    Case("a11", "3.11", ("tensorflow==2.15.1", "tensorflow-metal==1.2.0"),
         report(tensorflow="2.15.1"),
         requirements=("tensorflow==2.15.1", "tensorflow-metal==1.1.0"),
         constraints=("numpy<2", "tensorflow==2.15.1"),
         action_kinds=("bound", "pin", "correct"),
         warnings=("corrected tensorflow-metal==1.2.0 to tensorflow-metal==1.1.0",)),
]


@pytest.mark.parametrize("case", ACCEPTANCE_CASES, ids=lambda c: c.id)
def test_acceptance_set_plans_as_its_header_says(case: Case) -> None:
    first = step1(case.lines, mac(case.python), **case.options)
    assert error_kinds(first) == list(case.errors)
    if case.errors:
        return
    plan = pair_with_resolution(first, case.resolved, KNOWLEDGE, PlanOptions(**case.options))
    assert plan.errors == ()
    assert plan.requirements == case.requirements
    assert plan.constraints == case.constraints
    assert kinds(plan) == list(case.action_kinds)
    assert [a.version for a in plan.aliases] == list(case.aliases)
    assert len(plan.warnings) == len(case.warnings), plan.warnings
    for text, expected in zip(plan.warnings, case.warnings):
        assert expected in text


@pytest.mark.parametrize("case", ACCEPTANCE_CASES, ids=lambda c: c.id)
def test_acceptance_table_restates_the_shared_files(case: Case) -> None:
    """The table above restates tests/acceptance; it must not drift from it."""
    files = sorted(ACCEPTANCE.glob(f"{case.id}-*.txt"))
    if not files:
        pytest.fail(f"acceptance set {case.id} missing from {ACCEPTANCE}")
    text = files[0].read_text()
    assert re.search(rf"^# python: {re.escape(case.python)}$", text, re.MULTILINE)
    lines = tuple(l.strip() for l in text.splitlines() if l.strip() and not l.startswith("#"))
    assert lines == case.lines


def test_newest_tf_is_capped_at_the_newest_minor_with_a_verified_plugin() -> None:
    plan = step1(["tensorflow"], mac("3.11"))
    prefer = action(plan, "prefer")
    assert (prefer.from_, prefer.to) == ("tensorflow 2.21 (newest)", "tensorflow<2.19")
    assert prefer.reason.startswith("TensorFlow 2.21 has no tensorflow-metal known to work; 2.18 is "
                                    "the newest with one (tensorflow-metal 1.2.0, verified)")
    assert "--no-metal" in prefer.reason
    assert prefer.source == "https://github.com/tensorflow/tensorflow/issues/84167"
    assert plan.preference == "tensorflow<2.19"
    assert plan.wants_gpu is True


def test_cuda_extra_dropped_with_its_reason() -> None:
    plan = step1(["tensorflow[and-cuda]==2.15.*"], mac("3.11"))
    drop = action(plan, "drop-extra")
    assert (drop.package, drop.from_, drop.to) == ("tensorflow", "tensorflow[and-cuda]", "tensorflow")
    assert "CUDA" in drop.reason and "tensorflow-metal" in drop.reason
    assert drop.source == "https://www.tensorflow.org/install/pip#linux"


def test_alias_wheel_requires_the_same_tensorflow_macos_release() -> None:
    plan = step1(["deepface[tensorflow]", "tensorflow-macos==2.12.0"], mac("3.10"))
    assert [a.to_json()["requires"] for a in plan.aliases] == ["tensorflow-macos==2.12.0"]
    assert [(a.name, a.version, a.target_name, a.target_version) for a in plan.aliases] == [
        ("tensorflow", "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0")]
    assert "tensorflow==2.12.0" in plan.constraints  # dependents' `tensorflow` is the alias


def test_tf_220_without_plugin_is_an_error_under_strict() -> None:
    plan = step1(["tensorflow==2.20.*"], mac("3.12"), strict=True)
    assert error_kinds(plan) == ["StrictError"]
    assert plan.warnings == ()
    assert "cpu-only" not in kinds(plan)


def test_metal_mismatch_is_an_error_under_strict() -> None:
    plan = step2(["tensorflow==2.15.1", "tensorflow-metal==1.2.0"], mac("3.11"),
                 report(tensorflow="2.15.1"), strict=True)
    assert error_kinds(plan) == ["StrictError"]
    assert plan.errors[0].message.startswith("corrected tensorflow-metal==1.2.0 to tensorflow-metal==1.1.0")
    assert plan.requirements == ("tensorflow==2.15.1", "tensorflow-metal==1.2.0")  # nothing changed behind the user's back
    assert "correct" not in kinds(plan)


def test_metal_pin_corrected_for_tf_215() -> None:
    plan = step2(["tensorflow==2.15.1", "tensorflow-metal==1.2.0"], mac("3.11"), report(tensorflow="2.15.1"))
    correct = action(plan, "correct", "tensorflow-metal")
    assert (correct.from_, correct.to) == ("tensorflow-metal==1.2.0", "tensorflow-metal==1.1.0")
    assert correct.reason == (
        "tensorflow-metal==1.2.0 does not match TensorFlow 2.15.1: tensorflow 2.15 goes with "
        "tensorflow-metal ==1.1.* (verified); 1.2.0 is built for TensorFlow ==2.18.*")


def test_metal_pin_corrected_for_tf_212() -> None:
    """The issue's own example: tensorflow-macos==2.12 with tensorflow-metal 1.0.0 (built for 2.13)."""
    plan = step2(["tensorflow-macos==2.12.0", "tensorflow-metal==1.0.0"], mac("3.10"),
                 report(tensorflow_macos="2.12.0"))
    correct = action(plan, "correct", "tensorflow-metal")
    assert correct.to == "tensorflow-metal==0.8.0"
    assert correct.reason.endswith("1.0.0 is built for TensorFlow ==2.13.*")
    assert plan.requirements == ("tensorflow-macos==2.12.0", "tensorflow-metal==0.8.0")
    assert plan.warnings == (f"corrected tensorflow-metal==1.0.0 to tensorflow-metal==0.8.0: {correct.reason}",)


def test_metal_pinned_with_broken_pair_says_it_is_known_broken() -> None:
    plan = step2(["tensorflow==2.18.0", "tensorflow-metal==1.1.0"], mac("3.11"), report(tensorflow="2.18.0"))
    correct = action(plan, "correct", "tensorflow-metal")
    assert correct.to == "tensorflow-metal==1.2.0"
    assert "the requested pair is known broken" in correct.reason
    assert "https://github.com/tensorflow/tensorflow/issues/81987" in correct.reason


def test_unpinned_metal_request_is_pinned_to_the_pair() -> None:
    plan = step2(["tensorflow==2.13.*", "tensorflow-metal"], mac("3.11"), report(tensorflow="2.13.1"))
    pin = action(plan, "pin", "tensorflow-metal")
    assert (pin.from_, pin.to) == ("tensorflow-metal", "tensorflow-metal==1.0.1")
    assert plan.warnings == ()


def test_metal_request_is_kept_as_written_until_tf_is_resolved() -> None:
    plan = step1(["tensorflow==2.15.*", "tensorflow-metal"], mac("3.11"))
    assert plan.requirements == ("tensorflow==2.15.*", "tensorflow-metal")
    assert plan.metal_requested == Request("tensorflow-metal")
    assert plan.metal_line == "tensorflow-metal"


def test_step1_predicts_the_metal_of_the_preferred_tf() -> None:
    plan = step1(["tensorflow"], mac("3.11"))
    assert plan.requirements == ("tensorflow", "tensorflow-metal==1.2.0")  # TF 2.18 is preferred
    assert plan.metal_line == "tensorflow-metal==1.2.0"


def test_right_metal_prediction_leaves_step2_requirements_unchanged() -> None:
    first = step1(["tensorflow"], mac("3.11"))
    second = pair_with_resolution(first, report(tensorflow="2.18.1", tensorflow_metal="1.2.0"), KNOWLEDGE)
    assert second.requirements == first.requirements  # so no second pip resolve is needed
    assert action(second, "add", "tensorflow-metal").to == "tensorflow-metal==1.2.0"


def test_wrong_metal_prediction_is_replaced_in_place() -> None:
    first = step1(["tensorflow"], mac("3.11"))
    second = pair_with_resolution(first, report(tensorflow="2.15.1", tensorflow_metal="1.2.0"), KNOWLEDGE)
    assert second.requirements == ("tensorflow", "tensorflow-metal==1.1.0")


def test_predicted_metal_is_dropped_when_no_tensorflow_is_resolved() -> None:
    first = step1(["tensorflow-text"], mac("3.11"))
    assert first.metal_line in first.requirements
    second = pair_with_resolution(first, report(tensorflow_text="2.18.1"), KNOWLEDGE)
    assert second.requirements == ("tensorflow-text",)


# -- names: tensorflow-cpu/-gpu/-macos -------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "python", "expected", "wants_gpu"),
    [
        ("tensorflow-cpu==2.15.*", "3.11", "tensorflow==2.15.*", False),
        ("tensorflow-cpu==2.10.0", "3.9", "tensorflow-macos==2.10.0", False),
        ("tensorflow-gpu==2.11.*", "3.10", "tensorflow-macos==2.11.*", True),
        ("tensorflow-gpu", "3.11", "tensorflow", True),
        ("tensorflow-macos>=2.13", "3.11", "tensorflow>=2.13", True),
        ("tensorflow-macos==2.16.2", "3.11", "tensorflow==2.16.2", True),
        ("tensorflow-macos", "3.11", "tensorflow", True),
        ("tensorflow<2.13", "3.10", "tensorflow-macos<2.13", True),
    ],
)
def test_tf_names_rewritten_to_the_arm64_distribution(line: str, python: str, expected: str,
                                                      wants_gpu: bool) -> None:
    plan = step1([line], mac(python))
    assert plan.errors == ()
    assert plan.requirements == (expected,) + ((plan.metal_line,) if plan.metal_line else ())
    assert (plan.metal_line is not None) is wants_gpu  # the predicted plugin, checked in step 2
    rewrite = action(plan, "rewrite")
    assert (rewrite.from_, rewrite.to) == (line, expected)
    assert plan.wants_gpu is wants_gpu


def test_tensorflow_cpu_gets_no_metal() -> None:
    plan = step2(["tensorflow-cpu==2.15.*"], mac("3.11"), report(tensorflow="2.15.1"))
    keep = action(plan, "keep")
    assert (keep.package, keep.to) == ("tensorflow-cpu", "no tensorflow-metal")
    assert plan.requirements == ("tensorflow==2.15.*",)
    assert not any("metal" in line for line in plan.requirements + plan.constraints)


def test_tensorflow_gpu_gets_metal() -> None:
    plan = step2(["tensorflow-gpu==2.11.*"], mac("3.10"), report(tensorflow_macos="2.11.0"))
    assert plan.requirements == ("tensorflow-macos==2.11.*", "tensorflow-metal==0.7.1")


def test_extras_kept_in_rewrite_and_marker_read_for_the_cross_target() -> None:
    line = 'tensorflow[foo]==2.11.* ; sys_platform == "darwin"'
    plan = step1([line], mac("3.10"))
    assert plan.requirements == ("tensorflow-macos[foo]==2.11.*", "tensorflow-metal==0.7.1")
    assert kinds(plan)[0] == "marker"


def test_extras_and_markers_preserved_in_rewrite_on_a_probed_mac() -> None:
    line = 'tensorflow[foo]==2.15.* ; sys_platform == "darwin"'
    plan = step1([line], probed_mac("3.11"))
    assert plan.requirements[0] == line
    assert "marker" not in kinds(plan)


def test_cuda_extra_dropped_but_other_extras_and_marker_kept() -> None:
    plan = step1(['tensorflow[and-cuda,foo]==2.15.* ; python_version >= "3.9"'], mac("3.11"))
    assert plan.requirements == ("tensorflow[foo]==2.15.*", "tensorflow-metal==1.1.0")
    assert kinds(plan) == ["marker", "drop-extra", "bound"]


def test_line_options_kept_in_rewrite() -> None:
    req = Request("tensorflow==2.11.0", origin="requirements.txt", line_options=("--config-settings=x=y",))
    plan = plan_request([req], mac("3.10"), KNOWLEDGE)
    assert plan.requirements == ("tensorflow-macos==2.11.0 --config-settings=x=y", "tensorflow-metal==0.7.1")


def test_requirement_with_false_marker_on_the_cross_target_is_left_out() -> None:
    line = 'tensorflow==2.11.* ; sys_platform == "linux"'
    plan = step1([line], mac("3.10"))
    assert plan.requirements == ()
    assert kinds(plan) == ["marker"] and plan.actions[0].to == "(left out)"


def test_request_whose_only_tf_line_has_a_false_marker_is_plain_pip() -> None:
    line = 'tensorflow==2.11.* ; sys_platform == "linux"'
    plan = step1([line, "requests"], mac("3.10"))
    assert plan.intercepted is False
    assert plan.constraints == ()
    assert plan.aliases == ()


def test_constraint_rewritten() -> None:
    plan = step1(["tensorflow-text==2.17.*"], mac("3.10"), constraints=["tensorflow==2.11.*"])
    assert plan.constraints[0] == "tensorflow-macos==2.11.*"
    assert action(plan, "rewrite").to == "tensorflow-macos==2.11.*"


def test_constraint_admitting_no_arm64_release_is_not_dropped() -> None:
    plan = step1(["tensorflow"], mac("3.11"), constraints=["tensorflow==2.11.*"])
    assert "tensorflow==2.11.*" in plan.constraints or plan.errors


def test_constraint_excluding_every_release_is_named_in_the_error() -> None:
    plan = step1(["tensorflow"], mac("3.11"), constraints=["tensorflow==2.11.*"])
    assert error_kinds(plan) == ["NoConsistentSetError"]
    assert "==2.11.*" in plan.errors[0].message


def test_constraint_extra_dropped() -> None:
    plan = step1(["tensorflow"], mac("3.11"), constraints=["tensorflow[and-cuda]==2.15.*"])
    assert plan.constraints[0] == "tensorflow==2.15.*"
    assert plan.requirements == ("tensorflow", "tensorflow-metal==1.1.0")


def test_constraint_on_tf_binds_dependents_of_plain_tensorflow() -> None:
    plan = step1(["deepface[tensorflow]"], mac("3.10"), constraints=["tensorflow==2.11.*"])
    assert "prefer" not in kinds(plan)
    assert [a.version for a in plan.aliases] == ["2.11.0+tfmac.1"]
    assert "tensorflow==2.11.*" in plan.constraints


# -- aliases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "python", "expected"),
    [
        (["tensorflow==2.15.*"], "3.11", []),
        (["tensorflow-macos>=2.13"], "3.11", []),
        (["tensorflow==2.11.*"], "3.10", ["2.11.0+tfmac.1"]),
        (["tensorflow>=2.10,<2.13"], "3.10", ["2.10.0+tfmac.1", "2.11.0+tfmac.1", "2.12.0+tfmac.1"]),
        (["tensorflow==2.9.*"], "3.9", ["2.9.0+tfmac.1", "2.9.1+tfmac.1", "2.9.2+tfmac.1"]),
        (["tensorflow"], "3.11", ["2.12.0+tfmac.1"]),  # the request admits 2.12 (tensorflow-macos)
        (["tensorflow"], "3.12", []),  # tensorflow-macos < 2.13 has no cp312 wheel
    ],
)
def test_alias_wheels_only_for_admitted_tensorflow_macos_releases(lines: list[str], python: str,
                                                                  expected: list[str]) -> None:
    plan = step1(lines, mac(python))
    forward = [a for a in plan.aliases if a.name == "tensorflow"]  # reverse aliases: test_any_road_core
    assert [a.version for a in forward] == expected
    assert all(a.target_name == "tensorflow-macos" for a in forward)
    assert all(a.version == f"{a.target_version}+tfmac.1" for a in plan.aliases)
    assert ("alias" in kinds(plan)) is bool(plan.aliases)


# -- unsupported targets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "instead"),
    [
        (linux(), "tensorflow[and-cuda]"),
        (windows(), "WSL2"),
        (intel_mac(), "Intel Macs"),
    ],
    ids=["linux", "windows", "intel-mac"],
)
def test_metal_elsewhere_is_an_unsupported_target(target: Target, instead: str) -> None:
    plan = step1(["tensorflow", "tensorflow-metal"], target)
    assert error_kinds(plan) == ["UnsupportedTargetError"]
    problem = plan.errors[0]
    assert problem.message.startswith("tensorflow-metal is the GPU plugin for Apple Silicon Macs; it has no build for")
    assert instead in problem.remedy
    assert "platform_machine == 'arm64'" in problem.remedy  # how to keep one shared file
    assert plan.requirements == ("tensorflow",)


@pytest.mark.parametrize("target", [linux(), windows(), intel_mac()], ids=["linux", "windows", "intel-mac"])
def test_metal_with_a_marker_is_left_to_pip_elsewhere(target: Target) -> None:
    plan = step1(["tensorflow", METAL_ANYWHERE], target)
    assert plan.errors == ()
    assert plan.requirements == ("tensorflow",)  # the marker is false on the (cross) target
    assert [a.to for a in plan.actions if a.kind == "marker"] == ["(left out)"]


def test_rosetta_python_refused_for_tensorflow() -> None:
    plan = step1(["tensorflow"], rosetta())
    assert error_kinds(plan) == ["UnsupportedTargetError"]
    assert "Rosetta" in plan.errors[0].message and "AVX" in plan.errors[0].message
    assert "arm64 Python" in plan.errors[0].remedy
    assert plan.requirements == ()


def test_rosetta_python_refused_for_metal() -> None:
    plan = step1(["tensorflow-metal"], rosetta("3.10"))
    assert error_kinds(plan) == ["UnsupportedTargetError"]
    assert "Rosetta" in plan.errors[0].message


@pytest.mark.parametrize("line", ["tensorflow-text==2.18.*", "tf-keras"])
def test_rosetta_python_refused_for_companions(line: str) -> None:
    plan = step1([line], rosetta())
    assert error_kinds(plan) == ["UnsupportedTargetError"]
    assert "Rosetta" in plan.errors[0].message


def test_rosetta_target_is_not_macos_arm64() -> None:
    target = rosetta()
    assert (target.system, target.machine, target.rosetta) == ("macos", "x86_64", True)
    assert target.is_macos_arm64 is False and target.is_arm64_mac_hardware is True


def test_py313_explicit_metal_is_an_error() -> None:
    plan = step1(["tensorflow", "tensorflow-metal"], mac("3.13"))
    assert error_kinds(plan) == ["UnsupportedTargetError"]
    assert plan.errors[0].message.startswith(
        "tensorflow-metal has no build for Python 3.13 (it exists for Python 3.9, 3.10, 3.11, 3.12). "
        "No TensorFlow with a Python 3.13 wheel (2.21.0, 2.20.0) links with tensorflow-metal 1.2.0")
    assert "3.12" in plan.errors[0].remedy


def test_py313_implicit_metal_is_a_warning() -> None:
    plan = step2(["tensorflow"], mac("3.13"), report(tensorflow="2.21.0"))
    assert plan.errors == ()
    assert plan.wants_gpu is False
    (warning,) = plan.warnings
    assert warning.startswith("tensorflow-metal has no build for Python 3.13 (it exists for Python 3.9, "
                              "3.10, 3.11, 3.12). TensorFlow will run on the CPU. No TensorFlow with a "
                              "Python 3.13 wheel (2.21.0, 2.20.0) links with tensorflow-metal 1.2.0")
    assert plan.requirements == ("tensorflow",)


@pytest.mark.parametrize("target", [mac("3.11", "11"), probed_mac("3.11", "11.7")], ids=["cross", "probed"])
def test_old_macos_implicit_metal_is_a_warning(target: Target) -> None:
    plan = step2(["tensorflow"], target, report(tensorflow="2.21.0"))
    assert plan.errors == ()
    assert len(plan.warnings) == 1
    assert plan.warnings[0].startswith("tensorflow-metal needs macOS 12.0 or later; this target is macOS 11.")
    assert plan.requirements == ("tensorflow",)
    assert "prefer" not in kinds(plan)


@pytest.mark.parametrize("target", [mac("3.11", "11"), probed_mac("3.11", "11.7")], ids=["cross", "probed"])
def test_old_macos_explicit_metal_is_an_error(target: Target) -> None:
    plan = step1(["tensorflow", "tensorflow-metal"], target)
    assert error_kinds(plan) == ["UnsupportedTargetError"]
    assert plan.errors[0].remedy == "update macOS, or drop tensorflow-metal for a CPU-only TensorFlow"


def test_macos_12_0_is_below_the_12_1_that_current_plugins_need() -> None:
    plan = step1(["tensorflow==2.15.*"], mac("3.11", "12.0"))
    assert kinds(plan) == ["cpu-only", "bound"]
    assert plan.preference is None


@pytest.mark.parametrize("strict", [False, True])
def test_cpu_only_is_said_once(strict: bool) -> None:
    opts = PlanOptions(strict=strict)
    first = plan_request(requests(["tensorflow==2.15.*"]), mac("3.11", "12.0"), KNOWLEDGE, opts)
    plan = pair_with_resolution(first, report(tensorflow="2.15.1"), KNOWLEDGE, opts)
    assert len(plan.warnings) + len(plan.errors) == 1, (plan.warnings, plan.errors)


# -- options -----------------------------------------------------------------------------------


def test_no_metal_plans_newest_tf_without_plugin() -> None:
    plan = step2(["tensorflow"], mac("3.11"), report(tensorflow="2.21.0"), no_metal=True)
    assert plan.requirements == ("tensorflow",)
    assert plan.constraints == ("tensorflow==2.21.0",)
    assert kinds(plan) == ["alias", "pin"]
    assert plan.warnings == ()


def test_no_metal_with_explicit_metal_is_a_usage_error() -> None:
    plan = step1(["tensorflow", "tensorflow-metal"], mac("3.11"), no_metal=True)
    assert error_kinds(plan) == ["UsageError"]


# The pairs 1.2.0 x TF 2.16-2.17 and 2.19+ were `unverified` (usable only with
# --allow-unverified-metal) until knowledge/links.toml gave them link verdicts (issue 12):
# 2.16, 2.17 and 2.19 are link-checked, 2.20 and 2.21 link-broken. tests/unit/test_plan_link_states.py
# tests each state; these are the former unverified cases as they plan now.


def test_pinned_tf_219_gets_the_link_checked_plugin_without_opt_in() -> None:
    plan = step2(["tensorflow==2.19.*"], mac("3.11"), report(tensorflow="2.19.1"))
    assert plan.requirements == ("tensorflow==2.19.*", "tensorflow-metal==1.2.0")
    assert kinds(plan) == ["pin", "add"]
    assert "link-checked from the wheels, not run on a Mac" in action(plan, "add").reason


@pytest.mark.parametrize("allow", [False, True])
def test_tf_220_is_link_broken_with_every_plugin_even_opted_in(allow: bool) -> None:
    plan = step2(["tensorflow==2.20.*"], mac("3.11"), report(tensorflow="2.20.0"), allow_unverified_metal=allow)
    assert plan.requirements == ("tensorflow==2.20.*",)
    assert kinds(plan) == ["cpu-only", "pin"]
    assert "tensorflow-metal 1.2.0 with TensorFlow 2.20.0 is link-broken" in plan.warnings[0]
    assert "e.g. _TF_DeleteStatus" in plan.warnings[0]


def test_explicit_metal_with_tf_219_is_pinned_to_the_link_checked_plugin() -> None:
    plan = step2(["tensorflow==2.19.*", "tensorflow-metal"], mac("3.11"), report(tensorflow="2.19.1"))
    assert plan.errors == ()
    assert action(plan, "pin", "tensorflow-metal").to == "tensorflow-metal==1.2.0"


def test_allow_unverified_metal_keeps_the_verified_preference() -> None:
    """Verified pairs come first: the flag admits unverified pairs, it does not rank them above."""
    plan = step1(["tensorflow"], mac("3.11"), allow_unverified_metal=True)
    assert kinds(plan) == ["prefer", "alias"]
    assert plan.constraints == ("tensorflow<2.19",)


def test_py312_tf_216_gets_the_link_checked_plugin() -> None:
    """1.1.0 (the verified plugin of 2.16) has no cp312 wheel; 1.2.0 with 2.16.2 links."""
    plan = step2(["tensorflow==2.16.*"], mac("3.12"), report(tensorflow="2.16.2"))
    assert plan.requirements == ("tensorflow==2.16.*", "tensorflow-metal==1.2.0")


# -- companions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        (report(tensorflow="2.17.1", tensorflow_text="2.18.1"), "tensorflow-text==2.17.0"),
        (report(tensorflow="2.18.1", tf_keras="2.19.0"), "tf-keras==2.18.0"),
        (report(tensorflow="2.15.1", tensorflow_decision_forests="1.9.0"), "tensorflow-decision-forests==1.8.1"),
        (report(tensorflow="2.15.1", tensorflow_io="0.37.1"), "tensorflow-io==0.36.0"),
        (report(tensorflow="2.14.1", tensorflow_addons="0.21.0"), "tensorflow-addons==0.23.0"),
    ],
    ids=["text", "tf-keras", "decision-forests", "io", "addons"],
)
def test_companion_corrected_to_the_tf_minor(resolved: dict[str, str], expected: str) -> None:
    plan = step2(["tensorflow"], mac("3.11"), resolved)
    name = expected.split("==")[0]
    correct = action(plan, "correct", name)
    assert correct.from_ == f"{name}=={resolved[name]}"
    assert correct.to == expected
    assert plan.constraints[-1] == expected
    assert plan.warnings[-1].startswith(f"corrected {name} {resolved[name]} to {expected.split('==')[1]}")


def test_companion_on_the_right_minor_is_left_alone() -> None:
    plan = step2(["tensorflow"], mac("3.11"), report(tensorflow="2.18.1", tensorflow_text="2.18.1", tf_keras="2.18.0"))
    assert kinds(plan) == ["prefer", "alias", "pin", "add"]
    assert plan.warnings == ()


def test_tf_keras_before_its_first_minor_has_no_rule() -> None:
    plan = step2(["tensorflow==2.14.*"], mac("3.11"), report(tensorflow="2.14.1", tf_keras="2.15.0"))
    assert "correct" not in kinds(plan)


def test_companion_with_no_arm64_build_for_the_minor_names_what_exists() -> None:
    plan = step2(["tensorflow==2.15.*"], mac("3.11"), report(tensorflow="2.15.1", tensorflow_text="2.17.0"))
    assert error_kinds(plan) == ["NoConsistentSetError"]
    problem = plan.errors[0]
    assert problem.message == ("tensorflow-text for TensorFlow 2.15 (tensorflow-text==2.15.*) has no "
                               "macOS arm64 wheel for Python 3.11.")
    assert problem.remedy.startswith("tensorflow-text releases with macOS arm64 wheels for Python 3.11: "
                                     "2.21.1, 2.21.0, 2.20.1, 2.20.0, 2.19.0, 2.18.1, 2.18.0, 2.17.0;")


def test_companion_request_with_no_arm64_build_names_what_exists() -> None:
    plan = step1(["tensorflow==2.14.*", "tensorflow-text==2.14.*"], mac("3.10"))
    assert error_kinds(plan) == ["NoConsistentSetError"]
    problem = plan.errors[0]
    assert problem.message == ("tensorflow-text has no macOS arm64 wheel matching tensorflow-text==2.14.* "
                               "for Python 3.10; its macOS arm64 wheels start at 2.17.0.")
    assert problem.remedy == (
        "tensorflow-text releases with macOS arm64 wheels for Python 3.10: 2.21.1, 2.21.0, 2.20.1, 2.20.0, "
        "2.19.0, 2.18.1, 2.18.0, 2.17.0; each goes with the same TensorFlow minor, e.g. "
        "tensorflow-text==2.17.* with tensorflow==2.17.*")


def test_companion_with_no_wheel_for_the_python_at_all() -> None:
    plan = step1(["tensorflow-addons"], mac("3.12"))
    assert error_kinds(plan) == ["NoConsistentSetError"]
    assert plan.errors[0].remedy == "tensorflow-addons has no macOS arm64 wheel for Python 3.12 at all"


def test_companion_correction_is_an_error_under_strict() -> None:
    plan = step2(["tensorflow"], mac("3.11"), report(tensorflow="2.17.1", tensorflow_text="2.18.1"), strict=True)
    assert error_kinds(plan) == ["StrictError"]
    assert plan.errors[0].message == "corrected tensorflow-text 2.18.1 to 2.17.0 to match TensorFlow 2.17"


def test_tf_release_missing_for_python_names_releases_that_exist() -> None:
    plan = step1(["tensorflow==2.12.*"], mac("3.12"))
    assert error_kinds(plan) == ["NoConsistentSetError"]
    assert plan.errors[0].message == "tensorflow==2.12.* has no macOS arm64 build for Python 3.12."
    assert plan.errors[0].remedy.endswith("; tensorflow==2.12.* itself exists for Python 3.9, 3.10, 3.11")


# -- step 2 reads the resolution ---------------------------------------------------------------


def test_alias_in_resolution_is_not_taken_for_real_tensorflow() -> None:
    plan = step2(["deepface[tensorflow]", "tensorflow-macos==2.12.0"], mac("3.10"),
                 report(tensorflow="2.12.0+tfmac.1", tensorflow_macos="2.12.0"))
    assert action(plan, "pin", "tensorflow-macos").to == "tensorflow-macos==2.12.0"


def test_installed_tf_pairs_a_metal_only_request() -> None:
    target = probed_mac("3.11", installed={"tensorflow": "2.15.1"})
    plan = step2(["tensorflow-metal"], target, report(tensorflow_metal="1.2.0"))
    assert plan.requirements == ("tensorflow-metal==1.1.0",)
    assert plan.errors == ()


def test_second_tensorflow_next_to_an_installed_one_is_refused() -> None:
    target = probed_mac("3.11", installed={"tensorflow": "2.18.1"})
    first = step1(["tensorflow-macos==2.12.0"], target)
    plan = pair_with_resolution(first, report(tensorflow_macos="2.12.0"), KNOWLEDGE)
    assert any("2.18.1" in e.message for e in plan.errors), plan.to_json()


def test_metal_only_request_without_any_tf_is_an_error() -> None:
    plan = step2(["tensorflow-metal"], mac("3.11"), report(tensorflow_metal="1.2.0"))
    assert error_kinds(plan) == ["NoConsistentSetError"]
    assert plan.errors[0].remedy == "add tensorflow to the request (pip-tfmac pairs the plugin with it)"


def test_pin_already_in_constraints_is_not_repeated() -> None:
    plan = step2(["tensorflow"], mac("3.11"), report(tensorflow="2.18.1"), constraints=["tensorflow==2.18.1"])
    assert plan.constraints.count("tensorflow==2.18.1") == 1


def test_step2_elsewhere_changes_nothing() -> None:
    first = step1(["tensorflow-macos==2.12.0"], linux())
    plan = pair_with_resolution(first, report(tensorflow="2.12.0"), KNOWLEDGE)
    assert (plan.requirements, plan.constraints, plan.actions) == (first.requirements, first.constraints, first.actions)
    assert plan.paired is True


def test_metal_patch_pin_within_the_pair_is_kept() -> None:
    plan = step2(["tensorflow-macos==2.9.2", "tensorflow-metal==0.5.0"], mac("3.9"), report(tensorflow_macos="2.9.2"))
    assert plan.requirements == ("tensorflow-macos==2.9.2", "tensorflow-metal==0.5.0")
    assert plan.warnings == ()


def test_metal_pin_selects_the_tf_minor_it_was_built_for() -> None:
    plan = step1(["tensorflow", "tensorflow-metal==1.0.0"], mac("3.11"))
    assert plan.constraints == ("tensorflow<2.14", "tensorflow>=2.13", "numpy<2")


def test_metal_pin_selects_the_tf_minor_it_was_built_for_newest_patch() -> None:
    plan = step1(["tensorflow", "tensorflow-metal==1.1.0"], mac("3.11"))
    assert plan.constraints == ("tensorflow<2.18", "tensorflow>=2.17")
    assert action(plan, "prefer").reason == "the requested tensorflow-metal==1.1.0 is built for TensorFlow 2.17"


# -- one request over the table of targets -----------------------------------------------------


@pytest.mark.parametrize("via", ["cross", "probed"])
@pytest.mark.parametrize(
    ("python", "newest", "prefer", "metal"),
    [
        ("3.9", "2.20", "tensorflow<2.19", "tensorflow-metal==1.2.0"),
        ("3.10", "2.21", "tensorflow<2.19", "tensorflow-metal==1.2.0"),
        ("3.11", "2.21", "tensorflow<2.19", "tensorflow-metal==1.2.0"),
        ("3.12", "2.21", "tensorflow<2.19", "tensorflow-metal==1.2.0"),
        ("3.13", "2.21", None, None),
    ],
)
def test_plain_tensorflow_on_every_mac_python(via: str, python: str, newest: str,
                                              prefer: str | None, metal: str | None) -> None:
    target = mac(python) if via == "cross" else probed_mac(python)
    assert target.is_macos_arm64
    first = step1(["tensorflow"], target)
    assert first.errors == ()
    assert first.preference == prefer
    if prefer:
        assert action(first, "prefer").from_ == f"tensorflow {newest} (newest)"
    resolved_tf = "2.18.1" if prefer else f"{newest}.0"
    plan = pair_with_resolution(first, report(tensorflow=resolved_tf), KNOWLEDGE)
    expected = ("tensorflow",) + ((metal,) if metal else ())
    assert plan.requirements == expected
    assert plan.errors == ()


@pytest.mark.parametrize("target", [linux("3.11"), windows("3.12"), intel_mac("3.10")],
                         ids=["linux", "windows", "intel-mac"])
@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["tensorflow==2.15.*"], ["tensorflow==2.15.*"]),
        (["tensorflow[and-cuda]==2.15.*"], ["tensorflow[and-cuda]==2.15.*"]),
        (["tensorflow-cpu"], ["tensorflow-cpu"]),
        (["tensorflow-text==2.18.*", "numpy<2"], ["tensorflow-text==2.18.*", "numpy<2"]),
    ],
)
def test_elsewhere_tf_requests_pass_through_unchanged(target: Target, lines: list[str],
                                                      expected: list[str]) -> None:
    plan = step2(lines, target, report(tensorflow="2.15.1"))
    assert plan.requirements == tuple(expected)
    assert plan.actions == () and plan.warnings == () and plan.aliases == ()


@pytest.mark.parametrize("target", [linux(), windows()], ids=["linux", "windows"])
def test_tensorflow_macos_elsewhere_becomes_tensorflow(target: Target) -> None:
    plan = step1(['tensorflow-macos[foo]==2.12.0 ; python_version >= "3.9"'], target,
                 constraints=["tensorflow-macos<2.13"])
    assert plan.requirements == ("tensorflow[foo]==2.12.0",)
    assert plan.constraints == ("tensorflow<2.13",)
    assert kinds(plan) == ["marker", "rename", "rename"]
    rename = plan.actions[1]
    assert (rename.package, rename.to) == ("tensorflow-macos", plan.requirements[0])
    assert rename.source == "index:tensorflow-macos (file list: macosx wheels only)"


def test_tensorflow_macos_on_intel_mac_is_left_alone() -> None:
    plan = step1(["tensorflow-macos==2.12.0"], intel_mac())
    assert plan.requirements == ("tensorflow-macos==2.12.0",)
    assert plan.actions == ()


@pytest.mark.parametrize(
    "target",
    [mac("3.11"), probed_mac("3.12"), linux(), windows(), intel_mac(), rosetta()],
    ids=["mac-cross", "mac-probed", "linux", "windows", "intel-mac", "rosetta"],
)
def test_unrelated_requests_are_not_intercepted(target: Target) -> None:
    reqs = [
        Request("requests==2.32.3", origin="requirements.txt", line_options=("--hash=sha256:" + "0" * 64,)),
        Request("./local/project", editable=True),
        Request("numpy<2 ; python_version < '3.13'"),
        Request("https://example.invalid/pkg-1.0-py3-none-any.whl"),
        Request("urllib3<2", origin="constraints.txt", constraint=True),
    ]
    plan = plan_request(reqs, target, KNOWLEDGE)
    assert plan.intercepted is False
    assert plan.requirements == (
        "requests==2.32.3 --hash=sha256:" + "0" * 64,
        "-e ./local/project",
        "numpy<2" if target.cross else "numpy<2 ; python_version < '3.13'",  # read for a cross target
        "https://example.invalid/pkg-1.0-py3-none-any.whl",
    )
    assert plan.constraints == ("urllib3<2",)
    assert [a.kind for a in plan.actions] == (["marker"] if target.cross else [])
    assert (plan.warnings, plan.errors, plan.aliases) == ((), (), ())
    paired = pair_with_resolution(plan, report(requests="2.32.3"), KNOWLEDGE)
    assert paired.requirements == plan.requirements and paired.constraints == plan.constraints


# -- the JSON interface ------------------------------------------------------------------------


def test_plan_json_shape() -> None:
    plan = step2(["tensorflow==2.15.1", "tensorflow-metal==1.2.0"], mac("3.11"), report(tensorflow="2.15.1"))
    data = json.loads(json.dumps(plan.to_json()))
    assert set(data) == {"version", "target", "intercepted", "requirements", "constraints", "actions", "recipes",
                         "aliases", "warnings", "errors"}
    assert data["version"] == PLAN_JSON_VERSION == 1
    assert data["target"]["platform"] == "macos-arm64"
    assert data["target"]["python_version"] == "3.11"
    assert data["target"]["macos_version"] == "14.0"
    assert data["target"]["pip_platforms"][:2] == ["macosx_14_0_arm64", "macosx_14_0_universal2"]
    assert data["requirements"] == ["tensorflow==2.15.1", "tensorflow-metal==1.1.0"]
    assert data["constraints"] == ["numpy<2", "tensorflow==2.15.1"]
    for item in data["actions"]:
        assert set(item) == {"kind", "package", "from", "to", "reason", "source"}
        assert all(isinstance(v, str) for v in item.values())
        assert item["reason"] and item["source"]
    assert data["actions"][-1] == {
        "kind": "correct", "package": "tensorflow-metal", "from": "tensorflow-metal==1.2.0",
        "to": "tensorflow-metal==1.1.0",
        "reason": ("tensorflow-metal==1.2.0 does not match TensorFlow 2.15.1: tensorflow 2.15 goes with "
                   "tensorflow-metal ==1.1.* (verified); 1.2.0 is built for TensorFlow ==2.18.*"),
        "source": "https://github.com/tensorflow/tensorflow/issues/84167",
    }
    assert data["warnings"] == [
        "corrected tensorflow-metal==1.2.0 to tensorflow-metal==1.1.0: " + data["actions"][-1]["reason"]]
    assert data["errors"] == []


def test_plan_json_errors_and_aliases_shape() -> None:
    errors = step1(["tensorflow", "tensorflow-metal"], linux()).to_json()["errors"]
    assert len(errors) == 1 and set(errors[0]) == {"kind", "message", "remedy"}
    assert errors[0]["kind"] == "UnsupportedTargetError"
    aliases = step1(["tensorflow==2.11.*"], mac("3.10")).to_json()["aliases"]
    assert aliases == [{
        "name": "tensorflow", "version": "2.11.0+tfmac.1", "requires": "tensorflow-macos==2.11.0",
        "reason": aliases[0]["reason"], "source": "index:tensorflow, index:tensorflow-macos (file lists, read 2026-11-24)",
    }]
    assert aliases[0]["reason"].startswith("packages that require plain tensorflow get a metadata-only alias")


def test_every_action_names_a_source() -> None:
    plans = [
        step2(case.lines, mac(case.python), case.resolved)
        for case in ACCEPTANCE_CASES if not case.errors
    ]
    for plan in plans:
        for item in plan.actions:
            assert item.source, item
            assert item.reason, item


def test_without_preference_drops_the_cap_and_says_why() -> None:
    plan = step1(["tensorflow"], mac("3.11"))
    relaxed = plan.without_preference("conflicts with the rest of the request")
    assert relaxed.constraints == ()
    assert "prefer" not in kinds(relaxed)
    assert relaxed.warnings == ("conflicts with the rest of the request",)
    assert relaxed.preference is None
    assert relaxed.without_preference("again") is relaxed


def test_metal_pin_without_a_wheel_for_the_python_is_held_back_for_step2() -> None:
    plan = step1(["tensorflow==2.18.*", "tensorflow-metal==1.0.0"], mac("3.12"))
    assert plan.requirements == ("tensorflow==2.18.*",)  # pip would stop on 1.0.0 (no cp312 wheel)
    paired = pair_with_resolution(plan, report(tensorflow="2.18.1"), KNOWLEDGE)
    assert paired.requirements == ("tensorflow==2.18.*", "tensorflow-metal==1.2.0")
    assert action(paired, "correct", "tensorflow-metal").from_ == "tensorflow-metal==1.0.0"


# -- bounds TensorFlow does not declare (numpy<2 before 2.16) ------------------------------------


def test_numpy_bound_is_added_in_step_1_when_every_admitted_tf_needs_it() -> None:
    plan = step1(["tensorflow==2.11.*"], mac("3.10"))
    assert "numpy<2" in plan.constraints
    bound = action(plan, "bound", "numpy")
    assert bound.to == "numpy<2" and "NumPy 1.x" in bound.reason and bound.source.startswith("https://")


def test_numpy_bound_waits_for_step_2_when_a_numpy_2_tf_is_admitted() -> None:
    plan = step1(["tensorflow>=2.14"], mac("3.11"), no_metal=True)
    assert "numpy<2" not in plan.constraints
    assert "bound" not in kinds(plan)


def test_step_2_adds_the_numpy_bound_when_pip_picked_numpy_2_for_an_old_tf() -> None:
    plan = step2(["tensorflow>=2.14"], mac("3.11"), {**report(tensorflow="2.14.1"), "numpy": "2.0.2"},
                 no_metal=True)
    assert plan.constraints.count("numpy<2") == 1
    assert action(plan, "pin", "numpy").from_ == "numpy==2.0.2"


def test_step_2_does_not_repeat_a_bound_step_1_set() -> None:
    plan = step2(["tensorflow==2.11.*"], mac("3.10"), {**report(tensorflow_macos="2.11.0"), "numpy": "2.0.2"})
    assert plan.constraints.count("numpy<2") == 1
    assert kinds(plan).count("bound") == 1 and not [a for a in plan.actions if a.package == "numpy" and a.kind == "pin"]


def test_the_metal_preference_cap_decides_whether_the_bound_applies() -> None:
    # Python 3.11: newest TF 2.21 has no plugin, the preference caps at 2.19 -> 2.18 (numpy 2 capable).
    assert "numpy<2" not in step1(["tensorflow"], mac("3.11")).constraints
    # A metal pin built for 2.13 caps TF below 2.14: every admitted release needs numpy 1.x.
    assert "numpy<2" in step1(["tensorflow", "tensorflow-metal==1.0.0"], mac("3.11")).constraints
    # metal 1.1.0 is built for 2.17: 2.16 and 2.17 (numpy 2 capable) stay admitted.
    assert "numpy<2" not in step1(["tensorflow", "tensorflow-metal==1.1.0"], mac("3.11")).constraints


# -- hash-checking mode --------------------------------------------------------------------------


def test_hash_pinned_request_that_must_be_rewritten_is_refused_with_what_changes() -> None:
    pinned = [Request("tensorflow==2.12.0", line_options=("--hash=sha256:" + "a" * 64,))]
    plan = plan_request(pinned, mac("3.10"), KNOWLEDGE)
    problem = hash_pinned_changes(pinned, plan)
    assert problem is not None and problem.kind == "BadInputError"
    assert "tensorflow==2.12.0 becomes tensorflow-macos==2.12.0" in problem.message
    assert "tensorflow-metal==0.8.0 is added" in problem.message
    assert "pip-tfmac plan --json" in problem.remedy


def test_hash_pinned_lock_already_right_for_the_target_is_left_alone() -> None:
    digest = ("--hash=sha256:" + "b" * 64,)
    pinned = [Request("tensorflow-macos==2.12.0", line_options=digest),
              Request("tensorflow-metal==0.8.0", line_options=digest)]
    plan = plan_request(pinned, mac("3.10"), KNOWLEDGE)
    assert plan.errors == ()
    assert hash_pinned_changes(pinned, plan) is None
    # A hashed tensorflow line on Linux needs no change: plain pip's business.
    on_linux = [Request("tensorflow==2.15.0", line_options=digest)]
    assert hash_pinned_changes(on_linux, plan_request(on_linux, linux("3.10"), KNOWLEDGE)) is None


def test_hash_pinned_lock_without_the_plugin_passes_with_no_metal() -> None:
    pinned = [Request("tensorflow-macos==2.12.0", line_options=("--hash=sha256:" + "d" * 64,))]
    with_metal = plan_request(pinned, mac("3.10"), KNOWLEDGE)
    problem = hash_pinned_changes(pinned, with_metal)
    assert problem is not None and "tensorflow-metal==0.8.0 is added" in problem.message
    assert "--no-metal" in problem.remedy
    without = plan_request(pinned, mac("3.10"), KNOWLEDGE, PlanOptions(no_metal=True))
    assert hash_pinned_changes(pinned, without) is None
