"""Model Maker through its recipes, for real: build, resolve for the Mac, install, train.

For each case (recipe, Python): tflite-model-maker on 3.11 (the Linux searcher line, TF 2.13, with
scann and tflite-support), 3.12 (TF 2.18 line) and 3.13 (TF 2.20 line), mediapipe-model-maker on
3.11; the recipe line is the one the planner picks for Linux x86_64 and that Python:
- The original wheel is fetched from the index (`pip download`), checked against the recipe's
  sha256 and patched by pip_tfmac.wheelhouse.patching; the recipe's sdist-only dependencies are pre-built
  with `pip wheel --no-deps`. Together they form a local wheelhouse (find-links).
- The wheelhouse plus the recipe's macOS arm64 TensorFlow line resolves for macOS arm64 with
  plain pip (`--platform` tags of macOS 11-14); where the Linux line has no Mac target (the
  searcher line), the line the planner picks for the Mac is built and resolved instead.
- In a fresh venv of that Python on this machine, `pip-tfmac install NAME` installs the package
  through the recipe's Linux line (on 3.12 and 3.13 the Mac's TensorFlow and patched wheel; on
  3.11 the Linux searcher line);
  every module the recipe lists imports, after which tf.keras, tf.compat.v2.keras and
  tf.optimizers are one Keras; what it disables says why only when used (where the line keeps the
  searcher, a script builds, exports and queries a ScaNN image searcher instead), and a script trains,
  evaluates and exports a text classifier with metadata, then reads the metadata back. For
  tflite-model-maker the same venv also exports to TF.js (ExportFormat.TFJS) through the patched
  tensorflowjs the line brings: the set keeps the line's TensorFlow and one Keras as tf.keras, and
  the TF.js model, loaded back, predicts what the Keras model predicts. A case is skipped only
  when its Python is not on the machine.

pip runs isolated from this machine's pip configuration (no config file, no PIP_* variables
except the certificate bundle) with a cache of its own under the test's temporary folder, so
each install is a cold-cache one unless PIP_TFMAC_E2E_PIP_CACHE names a cache to reuse.
The install goes through `pip-tfmac install` (PIP_TFMAC_E2E_VIA=pip: plain pip, see
install_recipe).
"""

from __future__ import annotations

import json
import os
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

import helpers
from pip_tfmac import recipes
from pip_tfmac.core import recipes as recipe_model
from pip_tfmac.wheelhouse import patching
from pip_tfmac.wheelhouse import wheelfile as wheels

pytestmark = [pytest.mark.network]

HERE = Path(__file__).parent
TRAIN_SCRIPTS = {
    "tflite-model-maker": HERE / "mm_train_text.py",
    "mediapipe-model-maker": HERE / "mp_train_text.py",
}
MAC_PLATFORMS = [
    f"macosx_{v}_0_{arch}" for v in (11, 12, 13, 14) for arch in ("arm64", "universal2")
]
# (recipe, Python): one install per case; the newer Pythons run tflite-model-maker's newer lines.
CASES = [
    ("mediapipe-model-maker", "3.11"),
    ("tflite-model-maker", "3.11"),
    ("tflite-model-maker", "3.12"),
    ("tflite-model-maker", "3.13"),
]


def line_for(name: str, python: str, platform: str = "linux-x86_64") -> recipe_model.Recipe:
    """The recipe line the planner takes for this platform and Python."""
    for line in recipes.lines(name):
        if line.target(platform, python) is not None:
            return line
    raise AssertionError(f"no {name} recipe line for {platform} Python {python}")


def keeps_searcher(recipe: recipe_model.Recipe) -> bool:
    """The line keeps scann and tflite-support (Linux x86_64, Python 3.9-3.11)."""
    return recipe.name == "tflite-model-maker" and not any(
        d.module == "tflite_model_maker.searcher" for d in recipe.disabled)


def dependency_recipes(recipe: recipe_model.Recipe, python: str,
                       platform: str = "linux-x86_64") -> dict[str, recipe_model.Recipe]:
    """Requirement a line's target adds -> the recipe the planner applies to it (any recipe that
    admits it and has a target there: tensorflowjs==4.22.0 on every tflite-model-maker line,
    tf-keras==2.18.0 on mediapipe-model-maker's; tf-keras~=2.15.0 has none)."""
    line = recipe.target(platform, python)
    assert line is not None
    out = {}
    for text in line.requirements:
        req = Requirement(text)
        for dep in recipes.load_all():
            if (canonicalize_name(dep.name) == canonicalize_name(req.name)
                    and req.specifier.contains(dep.upstream_version, prereleases=True)
                    and dep.target(platform, python) is not None):
                out[text] = dep
                break
    return out


def _pins(recipe: recipe_model.Recipe, python: str, platform: str = "linux-x86_64") -> list[str]:
    """The line's requirements as the plan writes them: recipe projects as their patched builds."""
    line = recipe.target(platform, python)
    assert line is not None
    deps = dependency_recipes(recipe, python, platform)
    return [deps[r].requirement if r in deps else r for r in line.requirements]


def _holds(requirement: str, versions: Mapping[str, str]) -> bool:
    req = Requirement(requirement)
    # Canonical names on both sides: pip spells tf-keras as its METADATA does (tf_keras).
    version = {canonicalize_name(k): v for k, v in versions.items()}.get(canonicalize_name(req.name))
    return version is not None and SpecifierSet(str(req.specifier)).contains(version, prereleases=True)


@dataclass(frozen=True)
class Wheelhouse:
    recipe: recipe_model.Recipe
    python: str
    path: Path
    original: Path
    patched: Path
    env: Mapping[str, str]


def build_wheelhouse(recipe: recipe_model.Recipe, base: Path, python: str = "3.11",
                     platform: str = "linux-x86_64") -> Wheelhouse:
    """Original fetched by pip, patched by pip-tfmac, pre-built sdists beside it."""
    env = helpers.install_env(base)
    originals = base / "originals"
    spec = f"{recipe.name}=={recipe.upstream_version}"
    helpers.check(
        helpers.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            + ["-d", str(originals), spec],
            env,
        )
    )
    original = originals / recipe.filename
    built = patching.build_patched_wheel(original.read_bytes(), recipe)
    house = base / "wheelhouse"
    house.mkdir()
    (house / built.filename).write_bytes(built.data)
    for dep in dependency_recipes(recipe, python, platform).values():  # for PIP_TFMAC_E2E_VIA=pip, the Mac resolve
        dep_spec = f"{dep.name}=={dep.upstream_version}"
        helpers.check(helpers.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                            "-d", str(originals), dep_spec], env))
        dep_built = patching.build_patched_wheel((originals / dep.filename).read_bytes(), dep)
        (house / dep_built.filename).write_bytes(dep_built.data)
    for standin in patching.build_standin_wheels(recipe):
        (house / standin.filename).write_bytes(standin.data)
    for pre in recipe.prebuild:
        argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(house)]
        helpers.check(helpers.run([*argv, pre.requirement], env))
    return Wheelhouse(recipe, python, house, original, house / built.filename, env)


@pytest.fixture(scope="module", params=CASES, ids=[f"{n}-py{p}" for n, p in CASES])
def wheelhouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Wheelhouse:
    name, python = request.param
    recipe = line_for(name, python)
    base = tmp_path_factory.mktemp(f"wheelhouse-{recipe.name}-{python}")
    return build_wheelhouse(recipe, base, python)


def test_patched_wheel_is_reproducible_and_carries_provenance(wheelhouse: Wheelhouse) -> None:
    recipe = wheelhouse.recipe
    data = wheelhouse.patched.read_bytes()
    assert wheels.verify_record(data) == []
    assert wheels.read_wheel_metadata(data)["Version"] == recipe.version
    prov = wheels.read_wheel_provenance(data)
    assert prov is not None and prov.rule == recipe.id
    assert prov.made_from[0].sha256 == recipe.sha256
    again = patching.build_patched_wheel(wheelhouse.original.read_bytes(), recipe)
    assert again.data == data


def test_patched_requirements_leave_out_what_has_no_arm64_wheel(wheelhouse: Wheelhouse) -> None:
    meta = wheels.read_wheel_metadata(wheelhouse.patched.read_bytes())
    names = {canonicalize_name(Requirement(r).name) for r in meta.get_all("Requires-Dist") or []}
    edits = wheelhouse.recipe.requirement_edits
    assert not names & {e.name for e in edits if e.action in ("drop", "replace")}
    assert names >= {canonicalize_name(Requirement(t).name) for e in edits for t in e.to}


def test_check_imports_cover_every_public_task(wheelhouse: Wheelhouse) -> None:
    """Each public task package of tflite_model_maker (not its internal `python` mirror)."""
    if wheelhouse.recipe.name != "tflite-model-maker":
        pytest.skip("mediapipe-model-maker's tasks are listed by hand in its recipe")
    with zipfile.ZipFile(wheelhouse.patched) as zf:
        tasks = {
            "tflite_model_maker." + n.split("/")[1]
            for n in zf.namelist()
            if n.startswith("tflite_model_maker/")
            and n.endswith("/__init__.py")
            and n.count("/") == 2
        }
    tasks.discard("tflite_model_maker.python")
    assert tasks and tasks <= set(wheelhouse.recipe.check_imports)


@pytest.mark.slow
# 3.9 and 3.11 are planned through the product and re-checked by plain pip in
# tests/network/test_acceptance.py (m01-m03); 3.10 completes the recipe's range.
@pytest.mark.parametrize("python", ["3.10"])
def test_recipe_resolves_for_macos_arm64(
    wheelhouse: Wheelhouse, python: str, tmp_path: Path
) -> None:
    """Plain pip, macOS 14 arm64 tags: the patched wheel + the Mac TensorFlow line resolve."""
    if wheelhouse.python != "3.11":
        pytest.skip("the 3.12/3.13 lines' Mac plans: tests/network/test_model_maker_lines.py")
    recipe = line_for(wheelhouse.recipe.name, python, "macos-arm64")
    if recipe is not wheelhouse.recipe:  # the Linux line has no Mac target: build the Mac's line
        wheelhouse = build_wheelhouse(recipe, tmp_path / "mac", python, "macos-arm64")
    line = recipe.target("macos-arm64", python)
    assert line is not None
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    argv += ["--report", str(tmp_path / "report.json"), "--only-binary=:all:"]
    argv += ["--python-version", python, "--target", str(tmp_path / "target")]
    argv += ["--find-links", str(wheelhouse.path), recipe.requirement, *_pins(recipe, python, "macos-arm64")]
    for tag in MAC_PLATFORMS:
        argv += ["--platform", tag]
    helpers.check(helpers.run(argv, wheelhouse.env, timeout=1200))
    report = json.loads((tmp_path / "report.json").read_text())
    # Canonical names: tf-keras's METADATA spells itself tf_keras.
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}
    assert resolved[recipe.name] == recipe.version
    for requirement in _pins(recipe, python, "macos-arm64"):
        assert _holds(requirement, resolved), (requirement, resolved.get(canonicalize_name(Requirement(requirement).name)))
    assert "scann" not in resolved and "tflite-support" not in resolved


# --------------------------------------------------------------------------- install and train


def install_recipe(python: Path, house: Wheelhouse) -> helpers.Result:
    """Install the recipe's package into the venv of `python`: the one switch of this test.

    By default through the product, `pip-tfmac --python PY install NAME`, with a cache of its
    own (cold: it fetches and patches the original, pre-builds the sdists, then runs pip).
    PIP_TFMAC_E2E_VIA=pip does by hand what that plan amounts to on Linux: plain pip with the
    patched wheel pinned, the recipe's Linux TensorFlow line and this test's wheelhouse.
    """
    recipe = house.recipe
    if os.environ.get("PIP_TFMAC_E2E_VIA", "pip-tfmac") == "pip":
        line = recipe.target("linux-x86_64", house.python)
        assert line is not None
        argv = [str(python), "-m", "pip", "install", "--find-links", str(house.path)]
        return helpers.run([*argv, recipe.requirement, *_pins(recipe, house.python)], house.env, timeout=3600)
    env = dict(house.env, PIP_TFMAC_CACHE_DIR=str(house.path.parent / "pip-tfmac-cache"))
    argv = [*helpers.tool_command(), "--python", str(python), "install", recipe.name]
    return helpers.run(argv, env, timeout=3600)


@dataclass(frozen=True)
class Installed:
    recipe: recipe_model.Recipe
    version: str  # the Python version of the venv
    python: Path
    seconds: float
    venv_bytes: int
    env: Mapping[str, str]


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.fixture(scope="module")
def installed(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base_python = helpers.find_python(wheelhouse.python)
    if base_python is None:
        pytest.skip(f"no Python {wheelhouse.python} interpreter on this machine")
    venv = tmp_path_factory.mktemp(f"venv-{wheelhouse.recipe.name}-{wheelhouse.python}") / "venv"
    helpers.check(helpers.run([base_python, "-m", "venv", str(venv)], wheelhouse.env))
    python = helpers.venv_bin(venv, "python")
    start = time.monotonic()
    helpers.check(install_recipe(python, wheelhouse))
    seconds = time.monotonic() - start
    size = _tree_size(venv)
    figures = {
        "recipe": wheelhouse.recipe.id,
        "python": wheelhouse.python,
        "via": os.environ.get("PIP_TFMAC_E2E_VIA", "pip-tfmac"),
        "install_s": round(seconds, 1),
        "venv_mb": size >> 20,
    }
    print(f"\nModel Maker e2e install: {json.dumps(figures)}")
    env = dict(wheelhouse.env, TF_CPP_MIN_LOG_LEVEL="2")
    return Installed(wheelhouse.recipe, wheelhouse.python, python, seconds, size, env)


def _tf_minor(inst: Installed) -> tuple[int, int]:
    line = inst.recipe.target("linux-x86_64", inst.version)
    assert line is not None
    tf = next(r for r in line.requirements if r.startswith("tensorflow=="))
    major, minor = tf.split("==")[1].split(".")[:2]
    return int(major), int(minor)


def _py(inst: Installed, code: str, timeout: float = 900) -> helpers.Result:
    return helpers.run([str(inst.python), "-c", code], inst.env, timeout=timeout)


@pytest.mark.slow
def test_installed_set_is_consistent_and_patched(installed: Installed) -> None:
    check = helpers.run([str(installed.python), "-m", "pip", "check"], installed.env)
    # mediapipe 0.10.30's wheel is named py3-none-manylinux_2_28_x86_64 but its WHEEL file says
    # cp39-cp39-linux_x86_64, so pip check calls it unsupported on 3.13; requirements are all met.
    mislabelled = "mediapipe 0.10.30 is not supported on this platform"
    problems = [x for x in check.stdout.splitlines()
                if x.strip() and x.strip() not in (mislabelled, "No broken requirements found.")]
    assert not problems and (check.returncode == 0 or mislabelled in check.stdout), check.describe()
    listing = helpers.run(
        [str(installed.python), "-m", "pip", "list", "--format=json"], installed.env
    )
    versions = {p["name"].lower(): p["version"] for p in json.loads(helpers.check(listing).stdout)}
    assert versions[installed.recipe.name] == installed.recipe.version
    for requirement in _pins(installed.recipe, installed.version):
        assert _holds(requirement, versions), (requirement, versions.get(Requirement(requirement).name))
    if keeps_searcher(installed.recipe):
        edits = {e.name: e for e in installed.recipe.requirement_edits if e.name}
        for name in ("scann", "tflite-support"):
            assert _holds(edits[name].to[0], versions), (name, versions.get(name))
    else:
        assert "scann" not in versions and "tflite-support" not in versions


@pytest.mark.slow
def test_every_listed_module_imports(installed: Installed) -> None:
    recipe = installed.recipe
    pb2 = [f[: -len(".py")].replace("/", ".") for p in recipe.protobuf for f in p.files]
    code = (
        "import importlib, json\n"
        f"mods = {list(recipe.check_imports)!r}\n"
        "for m in mods: importlib.import_module(m)\n"
        f"pb2 = [importlib.import_module(m).DESCRIPTOR.name for m in {pb2!r}]\n"
        "print('IMPORTED:' + json.dumps([mods, pb2]))\n"
        "import tensorflow as tf\n"
        "keras = [tf.keras.Model, tf.compat.v2.keras.Model, tf.optimizers.Adam, tf.compat.v2.optimizers.Adam]\n"
        "print('KERAS:' + json.dumps([k.__module__ for k in keras] + [tf.keras.Model is tf.compat.v2.keras.Model]))\n"
    )
    result = helpers.check(_py(installed, code))
    line = next(x for x in result.stdout.splitlines() if x.startswith("IMPORTED:"))
    mods, descriptors = json.loads(line.split(":", 1)[1])
    assert mods == list(recipe.check_imports) and mods
    assert len(descriptors) == len(pb2)  # rebuilt old-protoc modules load under protobuf 4
    # One Keras per process, after every task module (tensorflow-model-optimization included):
    # tf.keras, tf.compat.v2.keras and tf.optimizers come from the same Keras package.
    keras = json.loads(next(x for x in result.stdout.splitlines() if x.startswith("KERAS:"))[6:])
    modules, same = keras[:-1], keras[-1]
    assert same is True and len({m.split(".")[0] for m in modules}) == 1, modules
    assert modules[0].split(".")[0] == ("keras" if _tf_minor(installed) < (2, 16) else "tf_keras")


@pytest.mark.slow
def test_model_optimization_runs_on_the_one_keras(installed: Installed, tmp_path: Path) -> None:
    """Pruning and quantization-aware training (EfficientDet's optimisation options) use
    tensorflow-model-optimization: the real one on every line, on the Keras tf.keras is, also
    when TensorFlow was imported first and a hub.KerasLayer (its `import tensorflow.keras...`)
    loaded a SavedModel, as in the object detector."""
    if installed.recipe.name != "tflite-model-maker":
        pytest.skip("tflite-model-maker's object detector options")
    code = (
        "import json, sys, tensorflow as tf\n"
        "import tflite_model_maker.object_detector, tensorflow_hub as hub\n"
        "class M(tf.Module):\n"
        "  @tf.function(input_signature=[tf.TensorSpec([None, 4])])\n"
        "  def __call__(self, x): return x\n"
        "tf.saved_model.save(M(), sys.argv[1])\n"
        "hub.KerasLayer(sys.argv[1])\n"
        "from tensorflow_examples.lite.model_maker.third_party.efficientdet.keras import tfmot as et\n"
        "import tensorflow_model_optimization as tfmot\n"
        "m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])\n"
        "pruned = tfmot.sparsity.keras.prune_low_magnitude(m)\n"
        "qat = tfmot.quantization.keras.quantize_model(m)\n"
        "wrapped = et.quantize(tf.keras.layers.Dense(3))\n"
        "print('TFMOT:' + json.dumps([tfmot.__file__, type(pruned).__module__, type(qat).__module__,\n"
        "      type(wrapped).__name__, isinstance(pruned, tf.keras.Model), isinstance(qat, tf.keras.Model)]))\n"
    )
    result = helpers.check(helpers.run([str(installed.python), "-c", code, str(tmp_path / "sm")], installed.env))
    out = json.loads(next(x for x in result.stdout.splitlines() if x.startswith("TFMOT:"))[6:])
    path, pruned_mod, qat_mod, wrapped, pruned_is_model, qat_is_model = out
    assert "site-packages/tensorflow_model_optimization/" in path  # the package, no stand-in
    root = "keras" if _tf_minor(installed) < (2, 16) else "tf_keras"
    assert pruned_mod.split(".")[0] == qat_mod.split(".")[0] == root, out
    assert wrapped.startswith("QuantizeWrapper") and pruned_is_model and qat_is_model


@pytest.mark.slow
def test_disabled_parts_say_why_only_when_used(installed: Installed) -> None:
    for disabled in installed.recipe.disabled:
        code = (
            f"import {disabled.module} as m\nprint('IMPORT-OK')\n"
            f"getattr(m, {disabled.attribute!r})\n"
        )
        result = _py(installed, code)
        assert "IMPORT-OK" in result.stdout, result.describe()[-4000:]
        assert result.returncode != 0
        assert "ImportError: " + disabled.message in result.stderr
        for need in disabled.needs:
            assert need in result.stderr
    if installed.recipe.name == "tflite-model-maker" and not keeps_searcher(installed.recipe):
        assert installed.recipe.disabled[0].module == "tflite_model_maker.searcher"


# Model Maker's COCO evaluation (what an object detector's evaluate(), and its training with
# validation data, run): two images, their ground truth, and detections that match it exactly or
# are shifted off it. Rows as update_state takes them: ground truth [y1, x1, y2, x2, is_crowd,
# area, class], detections [image_id, x, y, width, height, score, class].
COCO_EVAL = """
import json, numpy as np
from tensorflow_examples.lite.model_maker.third_party.efficientdet import coco_metric
gt = np.array([[[10, 10, 50, 60, 0, 0, 1], [20, 70, 90, 120, 0, 0, 2]],
               [[5, 5, 40, 40, 0, 0, 1], [-1, -1, -1, -1, -1, -1, -1]]], dtype=np.float32)
def detections(shift):
    out = []
    for i, rows in enumerate(gt):
        out.append([[i + 1, x1 + shift, y1, x2 - x1, y2 - y1, 0.9, c]
                    for y1, x1, y2, x2, _, _, c in rows if c > 0] + [[-1] * 7])
    return np.array([np.array(d[:2], dtype=np.float32) for d in out])
aps = []
for shift in (0, 30):
    metric = coco_metric.EvaluationMetric(label_map={1: "a", 2: "b"})
    metric.update_state(gt, detections(shift))
    aps.append(float(metric.result()[0]))
print("AP:" + json.dumps(aps))
"""


@pytest.mark.slow
def test_object_detector_coco_evaluation_runs(installed: Installed) -> None:
    """pycocotools comes with every tflite-model-maker line (upstream does not declare it)."""
    if installed.recipe.name != "tflite-model-maker":
        pytest.skip("tflite-model-maker's EfficientDet evaluation")
    result = helpers.check(_py(installed, COCO_EVAL))
    line = next(x for x in result.stdout.splitlines() if x.startswith("AP:"))
    exact, shifted = json.loads(line[3:])
    assert exact == pytest.approx(1.0) and 0 <= shifted < 0.5, (exact, shifted)


@pytest.mark.slow
def test_train_evaluate_export_text_classifier(installed: Installed, tmp_path: Path) -> None:
    script = TRAIN_SCRIPTS[installed.recipe.name]
    work = tmp_path / "work"
    result = helpers.check(
        helpers.run([str(installed.python), str(script), str(work)], installed.env, timeout=1800)
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT:"))
    out = json.loads(line[len("RESULT:") :])
    line_tf = installed.recipe.target("linux-x86_64", installed.version)
    assert line_tf is not None and f"tensorflow=={out['tensorflow']}" in line_tf.requirements
    assert out["associated_files"] == ["labels.txt", "vocab.txt"]
    assert (work / "export" / "model.tflite").stat().st_size == out["tflite_bytes"]
    if installed.recipe.name == "tflite-model-maker":
        assert out["accuracy"] >= 0.9  # the two generated classes share no word
        assert out["labels"] == ["neg", "pos"]
        assert out["metadata_name"] == "AverageWordVec text classifier"
        assert out["subgraph_inputs"] == ["input_text"]
        assert out["output_shape"] == [1, 2]
        assert out["min_parser_version"] == "1.2.1"  # tokenizer + vocabulary (on 3.13: patch 0009)
        assert out["compat_v2_same_keras"] is True
        root = "keras" if _tf_minor(installed) < (2, 16) else "tf_keras"
        assert out["keras_model_module"].split(".")[0] == root
    else:
        loss, accuracy = out["metrics"][:2]
        assert accuracy >= 0.9 and loss < 0.1  # seeded: 1.0 and 0.0035 on Linux, TF 2.18.1
        assert out["metadata_name"] == "TextClassifier"


@pytest.mark.slow
def test_text_classifier_exports_to_tfjs(installed: Installed, tmp_path: Path) -> None:
    """`pip-tfmac install tflite-model-maker` alone brings the patched tensorflowjs: TF.js export
    works, the line's TensorFlow and its one Keras hold (TF 2.15: keras 2.15 stays tf.keras beside
    the converter's tf-keras 2.15), and the TF.js model predicts what the Keras model predicts."""
    if installed.recipe.name != "tflite-model-maker":
        pytest.skip("tflite-model-maker's ExportFormat.TFJS")
    work = tmp_path / "work"
    result = helpers.check(helpers.run([str(installed.python), str(HERE / "mm_export_tfjs.py"), str(work)],
                                installed.env, timeout=1800))
    out = json.loads(next(x for x in result.stdout.splitlines() if x.startswith("RESULT:"))[7:])
    tfjs = next(d for d in dependency_recipes(installed.recipe, installed.version).values()
                if d.name == "tensorflowjs")  # 4.22.0, or 4.15.0 on the TF 2.13 searcher line
    versions = out["versions"]
    assert versions["tensorflowjs"] == tfjs.version and out["tensorflowjs"] == tfjs.upstream_version
    assert versions["tflite-model-maker"] == installed.recipe.version
    line = installed.recipe.target("linux-x86_64", installed.version)
    assert line is not None and f"tensorflow=={versions['tensorflow']}" in line.requirements
    minor = ".".join(versions["tensorflow"].split(".")[:2])
    if Version(tfjs.upstream_version) >= Version("4.16"):
        assert versions["tf-keras"].startswith(minor + ".")  # the converter's tf_keras, the TF minor
    else:
        assert versions["tf-keras"] is None  # 4.15.0 converts through tf.keras
    root = "keras" if _tf_minor(installed) < (2, 16) else "tf_keras"
    before, after_import, after_export = out["keras"]
    assert before == after_import == after_export and before[2] is True, out["keras"]
    assert before[0].split(".")[0] == root  # one Keras as tf.keras, before and after the export
    if root == "keras":
        assert versions["keras"].startswith(minor + ".") and out["legacy_keras_env"] is None
    assert out["decision_forests"] is False

    listing = helpers.run([str(installed.python), "-m", "pip", "list", "--format=json"], installed.env)
    names = {canonicalize_name(p["name"]) for p in json.loads(helpers.check(listing).stdout)}
    # What the patched tensorflowjs drops (jax and jaxlib may stay: mediapipe 0.10.14 requires them).
    assert not names & {"tensorflow-decision-forests", "flax"}

    folder = work / "export" / "tfjs"
    model = json.loads((folder / "model.json").read_text())
    assert model["format"] == "layers-model"
    assert model["convertedBy"].startswith(f"TensorFlow.js Converter v{tfjs.upstream_version}")
    layers = model["modelTopology"]["model_config"]["config"]["layers"]
    assert [x["class_name"] for x in layers][1:] == [
        "Embedding", "GlobalAveragePooling1D", "Dense", "Dropout", "Dense"]
    assert model["userDefinedMetadata"]["name"] == "AverageWordVec text classifier"
    manifest = model["weightsManifest"]
    shards = [p for group in manifest for p in group["paths"]]
    assert shards and sorted(out["files"]) == sorted(["model.json", *shards])
    weights = [w for group in manifest for w in group["weights"]]
    assert {"embedding/embeddings", "dense/kernel", "dense_1/kernel"} <= {w["name"] for w in weights}
    expected = 0
    for w in weights:
        assert w["dtype"] == "float32"
        size = 4
        for d in w["shape"]:
            size *= d
        expected += size
    assert sum((folder / p).stat().st_size for p in shards) == expected
    assert out["max_abs_diff"] < 1e-5  # the TF.js model, loaded back, predicts what Keras predicts


@pytest.mark.slow
def test_searcher_builds_exports_and_queries_a_scann_index(installed: Installed, tmp_path: Path) -> None:
    """Where the line keeps scann and tflite-support (Linux x86_64, 3.9-3.11): Model Maker's
    ImageDataLoader embeds a folder of images with tflite-support's task library (which links
    libusb-1.0: patch 0010 loads libusb-package's copy where the system has none, as here and in
    CI), Searcher.create_from_data builds the ScaNN index, both export formats are written, and
    tflite-support's ImageSearcher, reading the exported model, finds each image first."""
    if not keeps_searcher(installed.recipe):
        pytest.skip("this line disables the searcher (test_disabled_parts_say_why_only_when_used)")
    work = tmp_path / "work"
    result = helpers.check(helpers.run([str(installed.python), str(HERE / "mm_searcher.py"), str(work)],
                                       installed.env, timeout=1800))
    out = json.loads(next(x for x in result.stdout.splitlines() if x.startswith("RESULT:"))[7:])
    assert out["loaded"] == 24 and out["embedding_size"] == 11  # 8 conv features + 3 mean colours
    assert out["index_bytes"] > 0 and out["associated_files"] == ["on_device_scann_index.ldb"]
    assert len(out["nearest"]) == 6
    for image, neighbours in out["nearest"].items():
        assert len(neighbours) == 5 and neighbours[0] == image[: -len(".png")], (image, neighbours)
