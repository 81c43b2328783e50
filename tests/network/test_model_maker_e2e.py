"""tflite-model-maker through its recipe, for real: build, resolve for the Mac, install, train.

- The original 0.4.3 wheel is fetched from the index (`pip download`), checked against the
  recipe's sha256, and patched by pip_tfmac.patching; promise 2.3 (sdist only) is pre-built
  with `pip wheel --no-deps`. Together they form a local wheelhouse (find-links).
- The same wheelhouse plus the recipe's macOS arm64 TensorFlow line resolves for macOS arm64
  with plain pip (`--platform` tags of macOS 11-14, each Python the recipe claims).
- In a fresh Python 3.11 venv on this machine, Model Maker is installed through the recipe's
  Linux line (same TensorFlow as on the Mac, same patched wheel), every task module imports,
  the disabled searcher says why only when used, and mm_train_text.py trains, evaluates and
  exports an AverageWordVec text classifier with metadata, then reads the metadata back.

pip runs isolated from this machine's pip configuration (no config file, no PIP_* variables
except the certificate bundle) with a cache of its own under the test's temporary folder,
so the install is a cold-cache one unless PIP_TFMAC_E2E_PIP_CACHE names a cache to reuse.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers
from pip_tfmac import patching, recipes, wheels

pytestmark = [pytest.mark.network]

RECIPE = recipes.get("tflite-model-maker")
PYTHON = "3.11"
TRAIN_SCRIPT = Path(__file__).with_name("mm_train_text.py")
MAC_PLATFORMS = [
    f"macosx_{v}_0_{arch}" for v in (11, 12, 13, 14) for arch in ("arm64", "universal2")
]


def _python(version: str) -> str | None:
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found:
        return found
    pyenv = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python"))
    return str(pyenv[-1]) if pyenv else None


def _env(base: Path) -> dict[str, str]:
    env = helpers.isolated_env(base)
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_TFMAC_E2E_PIP_CACHE") or str(base / "pip-cache")
    return env


def _check(result: helpers.Result) -> helpers.Result:
    assert result.returncode == 0, result.describe()[-6000:]
    return result


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    patched: Path
    env: Mapping[str, str]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """Original fetched by pip, patched by pip-tfmac, pre-built sdists beside it."""
    base = tmp_path_factory.mktemp("mm-wheelhouse")
    env = _env(base)
    originals = base / "originals"
    _check(
        helpers.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                originals,
                f"{RECIPE.name}=={RECIPE.upstream_version}",
            ],
            env,
        )
    )
    original = (originals / RECIPE.filename).read_bytes()
    built = patching.build_patched_wheel(original, RECIPE)
    house = base / "wheelhouse"
    house.mkdir()
    (house / built.filename).write_bytes(built.data)
    for standin in patching.build_standin_wheels(RECIPE):
        (house / standin.filename).write_bytes(standin.data)
    for pre in RECIPE.prebuild:
        _check(
            helpers.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", house, pre.requirement],
                env,
            )
        )
    return Wheelhouse(house, house / built.filename, env)


def test_patched_wheel_is_reproducible_and_carries_provenance(wheelhouse: Wheelhouse) -> None:
    data = wheelhouse.patched.read_bytes()
    assert wheels.verify_record(data) == []
    meta = wheels.read_wheel_metadata(data)
    assert meta["Version"] == RECIPE.version
    requires = {r.split(";")[0] for r in meta.get_all("Requires-Dist") or []}
    assert not any(r.startswith(("scann", "tflite-support", "tensorflowjs")) for r in requires)
    prov = wheels.read_wheel_provenance(data)
    assert prov is not None and prov.rule == RECIPE.id
    assert prov.made_from[0].sha256 == RECIPE.sha256
    originals = wheelhouse.path.parent / "originals" / RECIPE.filename
    again = patching.build_patched_wheel(originals.read_bytes(), RECIPE)
    assert again.data == data


def test_check_imports_cover_every_public_task(wheelhouse: Wheelhouse) -> None:
    """Each public subpackage of tflite_model_maker (not the internal `python` mirror)."""
    with zipfile.ZipFile(wheelhouse.patched) as zf:
        tasks = {
            "tflite_model_maker." + n.split("/")[1]
            for n in zf.namelist()
            if n.startswith("tflite_model_maker/")
            and n.endswith("/__init__.py")
            and n.count("/") == 2
        }
    tasks.discard("tflite_model_maker.python")
    assert tasks and tasks <= set(RECIPE.check_imports)


@pytest.mark.slow
@pytest.mark.parametrize("python", sorted({p for t in RECIPE.targets for p in t.python}))
def test_recipe_resolves_for_macos_arm64(
    wheelhouse: Wheelhouse, python: str, tmp_path: Path
) -> None:
    """Plain pip, macOS 14 arm64 tags: the patched wheel + the Mac TensorFlow line resolve."""
    line = RECIPE.target("macos-arm64", python)
    assert line is not None
    argv: list[object] = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--report",
        tmp_path / "report.json",
        "--only-binary=:all:",
        "--python-version",
        python,
        "--target",
        tmp_path / "target",
        "--find-links",
        wheelhouse.path,
        RECIPE.requirement,
        *line.requirements,
    ]
    for tag in MAC_PLATFORMS:
        argv += ["--platform", tag]
    _check(helpers.run(argv, wheelhouse.env, timeout=900))
    report = json.loads((tmp_path / "report.json").read_text())
    resolved = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in report["install"]}
    assert resolved["tflite-model-maker"] == RECIPE.version
    assert resolved["tensorflow"] == "2.15.1"
    assert resolved["tensorflow-metal"] == "1.1.0"
    assert "scann" not in resolved and "tflite-support" not in resolved


# --------------------------------------------------------------------------- install and train


def install_model_maker(python: Path, house: Wheelhouse) -> helpers.Result:
    """Install tflite-model-maker into the venv of `python` through the recipe.

    Until `pip-tfmac install` plans recipes itself, this is what its plan amounts to on Linux:
    the patched wheel pinned, the recipe's Linux TensorFlow line, the wheelhouse as find-links.
    Switch to `[*helpers.tool_command(), "install", "--python", python, "tflite-model-maker"]`
    (with the wheelhouse as its cache) when that lands; the tests below stay the same.
    """
    line = RECIPE.target("linux-x86_64", PYTHON)
    assert line is not None
    return helpers.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--find-links",
            house.path,
            RECIPE.requirement,
            *line.requirements,
        ],
        house.env,
        timeout=3600,
    )


@dataclass(frozen=True)
class Installed:
    python: Path
    seconds: float
    venv_bytes: int
    env: Mapping[str, str]


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.fixture(scope="module")
def installed(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base_python = _python(PYTHON)
    if base_python is None:
        pytest.skip(f"no Python {PYTHON} on this machine")
    root = tmp_path_factory.mktemp("mm-venv")
    venv = root / "venv"
    _check(helpers.run([base_python, "-m", "venv", venv], wheelhouse.env))
    python = helpers.venv_bin(venv, "python")
    start = time.monotonic()
    _check(install_model_maker(python, wheelhouse))
    seconds = time.monotonic() - start
    size = _tree_size(venv)
    figures = {"install_seconds": round(seconds, 1), "venv_mb": round(size / 2**20)}
    print(f"\nModel Maker e2e install: {json.dumps(figures)}")
    env = dict(wheelhouse.env, TF_CPP_MIN_LOG_LEVEL="2")
    return Installed(python, seconds, size, env)


def _py(inst: Installed, code: str, timeout: float = 900) -> helpers.Result:
    return helpers.run([inst.python, "-c", code], inst.env, timeout=timeout)


@pytest.mark.slow
def test_installed_set_is_consistent_and_patched(installed: Installed) -> None:
    _check(helpers.run([installed.python, "-m", "pip", "check"], installed.env))
    result = _check(
        helpers.run([installed.python, "-m", "pip", "list", "--format=json"], installed.env)
    )
    versions = {p["name"].lower(): p["version"] for p in json.loads(result.stdout)}
    assert versions["tflite-model-maker"] == RECIPE.version
    assert versions["tensorflow"] == "2.15.1"
    assert "scann" not in versions and "tflite-support" not in versions


@pytest.mark.slow
def test_every_task_module_imports(installed: Installed) -> None:
    code = (
        "import importlib, json\n"
        f"mods = {list(RECIPE.check_imports)!r}\n"
        "for m in mods: importlib.import_module(m)\n"
        "from tensorflow_examples.lite.model_maker.third_party.recommendation.ml.configs "
        "import input_config_pb2 as p\n"
        "f = p.Feature(feature_name='x', feature_type=p.FeatureType.Value('INT'))\n"
        "print('IMPORTED:' + json.dumps([mods, p.FeatureType.Name(f.feature_type)]))\n"
    )
    result = _check(_py(installed, code))
    line = next(x for x in result.stdout.splitlines() if x.startswith("IMPORTED:"))
    mods, enum_name = json.loads(line.split(":", 1)[1])
    assert mods == list(RECIPE.check_imports) and "tflite_model_maker.searcher" in mods
    assert enum_name == "INT"  # the rebuilt old-protoc module works under protobuf 4


@pytest.mark.slow
@pytest.mark.parametrize("disabled", RECIPE.disabled, ids=lambda d: d.module)
def test_disabled_task_says_why_only_when_used(
    installed: Installed, disabled: recipes.Disabled
) -> None:
    code = (
        f"import {disabled.module} as m\nprint('IMPORT-OK')\ngetattr(m, {disabled.attribute!r})\n"
    )
    result = _py(installed, code)
    assert "IMPORT-OK" in result.stdout, result.describe()[-4000:]
    assert result.returncode != 0
    assert "ImportError: " + disabled.message in result.stderr
    for need in disabled.needs:
        assert need in result.stderr


@pytest.mark.slow
def test_train_evaluate_export_text_classifier(installed: Installed, tmp_path: Path) -> None:
    result = _check(
        helpers.run(
            [installed.python, TRAIN_SCRIPT, tmp_path / "work"], installed.env, timeout=1800
        )
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT:"))
    out = json.loads(line[len("RESULT:") :])
    assert out["tensorflow"] == "2.15.1"
    assert out["accuracy"] >= 0.9  # the two generated classes share no word
    assert out["labels"] == ["neg", "pos"]
    assert out["associated_files"] == ["labels.txt", "vocab.txt"]
    assert out["metadata_name"] == "AverageWordVec text classifier"
    assert out["subgraph_inputs"] == ["input_text"]
    assert out["output_shape"] == [1, 2]
    assert (tmp_path / "work" / "export" / "model.tflite").stat().st_size == out["tflite_bytes"]
