"""tflite-model-maker's recipe lines, planned offline: which line (TensorFlow, Keras, plugin) each
platform and Python gets, and what every line does so that one process sees one Keras."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pip_tfmac import recipes
from pip_tfmac.core.plan import PlanOptions
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import plan_request
from pip_tfmac.core.target import cross_target
from pip_tfmac.knowledge import load

NAME = "tflite-model-maker"
KERAS_SWITCH = "patches/0005-keras-2-through-tf-keras.diff"
TFMOT = "recipe:tensorflow-model-optimization@0.8.1+tfmac.1"
TFJS = "recipe:tensorflowjs@4.22.0+tfmac.1"  # every line brings the patched tensorflowjs
TFJS_TF213 = "recipe:tensorflowjs@4.15.0+tfmac.1"  # the TF 2.13 searcher line's converter


def _plan(platform: str, python: str, no_metal: bool = False, names: tuple[str, ...] = (NAME,)):
    target = cross_target([platform], python)
    requests = [Request(n) for n in names]
    return plan_request(requests, target, load(), PlanOptions(no_metal=no_metal), recipes.load_all())


def _tf_minor(recipe_line) -> Version:
    tf = [Requirement(r) for t in recipe_line.targets for r in t.requirements if Requirement(r).name == "tensorflow"]
    versions = {Version(str(next(iter(r.specifier))).lstrip("=")) for r in tf}
    assert len(versions) == 1, versions  # one TensorFlow per line, on every platform
    v = versions.pop()
    return Version(f"{v.major}.{v.minor}")


def _line(label: str):
    return next(r for r in recipes.lines(NAME) if r.label == label)


def test_lines_are_the_default_then_tf213_linux_searcher_then_tf218_then_tf220() -> None:
    ids = [r.id for r in recipes.lines(NAME)]
    assert ids == [
        "recipe:tflite-model-maker@0.4.3+tfmac.8",
        "recipe:tflite-model-maker@0.4.3+tfmac.11",
        "recipe:tflite-model-maker@0.4.3+tfmac.9",
        "recipe:tflite-model-maker@0.4.3+tfmac.10",
    ]
    assert [str(_tf_minor(r)) for r in recipes.lines(NAME)] == ["2.15", "2.13", "2.18", "2.20"]
    assert len({r.sha256 for r in recipes.lines(NAME)}) == 1  # one upstream wheel patched four ways
    # Each platform and Python has exactly one line (the first that has it would win silently).
    seen = [(t.platform, py) for r in recipes.lines(NAME) for t in r.targets for py in t.python]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("platform", "python", "label", "added"),
    [
        ("macos-arm64", "3.9", "tfmac.8", ["tensorflow==2.15.1", "tensorflow-metal==1.1.0"]),
        ("macos-arm64", "3.11", "tfmac.8", ["tensorflow==2.15.1", "tensorflow-metal==1.1.0"]),
        ("macos-arm64", "3.12", "tfmac.9", ["tensorflow==2.18.1", "tensorflow-metal==1.2.0"]),
        ("macos-arm64", "3.13", "tfmac.10", ["tensorflow==2.20.0"]),
        ("manylinux2014_x86_64", "3.9", "tfmac.11", ["tensorflow==2.13.1"]),
        ("manylinux_2_28_x86_64", "3.11", "tfmac.11", ["tensorflow==2.13.1"]),
        ("manylinux2014_x86_64", "3.12", "tfmac.9", ["tensorflow==2.18.1"]),
        ("manylinux2014_x86_64", "3.13", "tfmac.10", ["tensorflow==2.20.0"]),
        ("manylinux2014_aarch64", "3.10", "tfmac.9", ["tensorflow==2.18.1"]),
        ("manylinux_2_28_aarch64", "3.11", "tfmac.9", ["tensorflow==2.18.1"]),
        ("manylinux_2_28_aarch64", "3.12", "tfmac.9", ["tensorflow==2.18.1"]),
    ],
)
def test_each_platform_and_python_gets_its_line(platform: str, python: str, label: str, added: list[str]) -> None:
    plan = _plan(platform, python)
    assert not plan.errors, plan.errors
    tfjs = TFJS_TF213 if label == "tfmac.11" else TFJS
    assert plan.recipes == (f"recipe:{NAME}@0.4.3+{label}",) + ((TFMOT,) if python == "3.13" else ()) + (tfjs,)
    assert f"{NAME}==0.4.3+{label}" in plan.requirements
    tf_family = sorted(r for r in plan.requirements if r.startswith(("tensorflow==", "tensorflow-metal")))
    assert tf_family == sorted(added)


def test_mac_python_313_is_cpu_only_and_the_plan_says_why() -> None:
    plan = _plan("macos-arm64", "3.13")
    assert not any("metal" in r for r in plan.requirements)
    why = " ".join(plan.warnings)
    assert "tensorflow-metal has no build for Python 3.13" in why and "CPU" in why


def test_mac_python_312_without_metal_when_asked() -> None:
    plan = _plan("macos-arm64", "3.12", no_metal=True)
    assert "tensorflow==2.18.1" in plan.requirements
    assert not any("metal" in r for r in plan.requirements)


@pytest.mark.parametrize(("platform", "python"), [("manylinux2014_aarch64", "3.9"), ("manylinux2014_aarch64", "3.13")])
def test_uncovered_aarch64_pythons_list_every_line(platform: str, python: str) -> None:
    plan = _plan(platform, python)
    assert plan.errors and not plan.recipes
    message = plan.errors[0].message
    assert "linux-aarch64 with Python 3.10, 3.11, 3.12" in message
    assert "macos-arm64 with Python 3.13" in message


def test_every_line_runs_one_keras() -> None:
    """TF 2.15: Keras 2 is tf.keras, and nothing may switch to tf-keras midway (tfmot 0.8 does).
    TF 2.16+: tf.keras is switched to tf-keras (patch 0005) and tf-keras matches the TF minor."""
    for line in recipes.lines(NAME):
        minor = _tf_minor(line)
        edits = {e.name: e for e in line.requirement_edits if e.name}
        added = [Requirement(t) for e in line.requirement_edits if e.action == "add" for t in e.to]
        patches = [p.file for p in line.patches]
        tfmot = Requirement(edits["tensorflow-model-optimization"].to[0]) if "tensorflow-model-optimization" in edits else None
        if minor < Version("2.16"):
            assert KERAS_SWITCH not in patches
            assert tfmot is not None and not tfmot.specifier.contains("0.8.0") and tfmot.specifier.contains("0.7.5")
            assert not any(r.name == "tf-keras" for r in added)
        else:
            assert KERAS_SWITCH in patches
            tf_keras = [r for r in added if r.name == "tf-keras"]
            assert len(tf_keras) == 1 and tf_keras[0].specifier.contains(f"{minor}.0")
            nxt = f"{minor.major}.{minor.minor + 1}.0"
            assert not tf_keras[0].specifier.contains(nxt)
            hub = Requirement(edits["tensorflow-hub"].to[0])
            assert hub.specifier.contains("0.16.1")  # hub.KerasLayer on tf-keras = tf.keras here


def test_stand_ins_are_pinned_by_their_line_and_raise_when_used() -> None:
    for line in recipes.lines(NAME)[1:]:
        edits = {e.name: e for e in line.requirement_edits if e.name}
        disabled = {d.module.split(".")[0] for d in line.disabled}
        for standin in line.standins:
            assert Version(standin.version).local == "tfmac.1"
            assert edits[standin.name].to == (f"{standin.name}=={standin.version}",)
            assert {m for m, _ in standin.modules} <= disabled
    assert recipes.lines(NAME)[0].standins == ()  # the TF 2.15 line installs the real ones


def test_python_313_installs_the_tfmot_recipe_not_a_stand_in() -> None:
    """tensorflow-model-optimization 0.8.1+tfmac.1 is one wheel: the dependency-only recipe's
    (the real 0.8.1 with absl-py 2 allowed), never a stand-in of the same name and version."""
    for line in recipes.lines(NAME):
        assert "tensorflow-model-optimization" not in {s.name for s in line.standins}
        assert not any(d.module.startswith("tensorflow_model_optimization") for d in line.disabled)
    tf220 = _line("tfmac.10")
    edits = {e.name for e in tf220.requirement_edits if e.name}
    assert "tensorflow-model-optimization" not in edits  # Model Maker's own >=0.5 admits 0.8.1
    for target in tf220.targets:
        assert "tensorflow-model-optimization==0.8.1" in target.requirements


@pytest.mark.parametrize("platform", ["macos-arm64", "manylinux2014_x86_64"])
def test_python_313_with_mediapipe_model_maker_plans_one_tfmot(platform: str) -> None:
    plan = _plan(platform, "3.13", names=(NAME, "mediapipe-model-maker"))
    assert not plan.errors, plan.errors
    tfmot = {r for r in plan.requirements if r.startswith("tensorflow-model-optimization")}
    assert tfmot == {"tensorflow-model-optimization==0.8.1+tfmac.1"}  # both lines pin it: one wheel
    assert TFMOT in plan.recipes and not any("standin" in r for r in plan.recipes)


def test_searcher_disabled_on_every_line_but_the_linux_one_with_scann_and_tflite_support() -> None:
    for line in recipes.lines(NAME):
        assert "tflite_model_maker.searcher" in line.check_imports
        edits = {e.name: e for e in line.requirement_edits if e.name}
        keeps = edits["scann"].action == "relax" and edits["tflite-support"].action == "relax"
        disabled = "tflite_model_maker.searcher" in [d.module for d in line.disabled]
        assert keeps != disabled, line.id
        if keeps:
            # Only Linux x86_64 targets, only Pythons both projects have wheels for.
            assert {t.platform for t in line.targets} == {"linux-x86_64"}
            assert {py for t in line.targets for py in t.python} <= {"3.9", "3.10", "3.11"}
            # Their task library links libusb-1.0.so.0: the line brings a copy and loads it.
            assert any(Requirement(t).name == "libusb-package" for e in line.requirement_edits for t in e.to)
            assert "patches/0010-libusb-from-libusb-package.diff" in [p.file for p in line.patches]
            assert {"scann", "tensorflow_lite_support.python.task.vision.image_embedder"} <= set(line.check_imports)


def test_newer_manylinux_tag_also_takes_older_wheels() -> None:
    """pip matches --platform tags exactly; a glibc 2.28 container runs manylinux2014 wheels
    (TensorFlow's aarch64 tag), so the target's tags run down to manylinux2014."""
    tags = cross_target(["manylinux_2_28_aarch64"], "3.11").pip_platforms
    assert tags[0] == "manylinux_2_28_aarch64" and tags[-1] == "manylinux2014_aarch64"
    assert "manylinux_2_17_aarch64" in tags and len(tags) == len(set(tags)) == 13
    # manylinux2014 is manylinux_2_17's old name: wheels tagged with either name are taken.
    assert cross_target(["manylinux2014_aarch64"], "3.11").pip_platforms == (
        "manylinux2014_aarch64", "manylinux_2_17_aarch64")
    assert cross_target(["manylinux_2_17_aarch64"], "3.11").pip_platforms == (
        "manylinux_2_17_aarch64", "manylinux2014_aarch64")
