"""TF.js export of a Model Maker model, for real: pip-tfmac's tensorflowjs recipe with Model Maker.

In a fresh Python 3.11 venv, `pip-tfmac install tflite-model-maker tensorflowjs` applies both
recipes in one plan: Model Maker's line pins its TensorFlow, the tensorflowjs recipe (the converter
without tensorflow-decision-forests, jax and flax) adds only a TensorFlow range that admits it, so
the set keeps Model Maker's TensorFlow, Keras 2 and protobuf (plain pip, asked for tensorflowjs in
that venv, would move to a Keras 3 TensorFlow). Then a script trains the AverageWordVec text
classifier from a generated CSV (no download) and exports it with ExportFormat.TFLITE and
ExportFormat.TFJS: the TF.js folder must hold model.json and its weight shards, model.json must
name the layers and carry the TFLite metadata, the shards must hold every weight the manifest
lists, and the TF.js model, loaded back by tensorflowjs, must predict what the Keras model
predicts. Importing tensorflowjs must not switch tf.keras to another Keras.

pip runs isolated from this machine's pip configuration; PIP_TFMAC_E2E_PIP_CACHE names a pip
cache to reuse (otherwise a cold one under the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers
from pip_tfmac import recipes

pytestmark = [pytest.mark.network, pytest.mark.slow]

PYTHON = "3.11"
HERE = Path(__file__).parent

SCRIPT = r"""
import json, os, sys
sys.path.insert(0, sys.argv[2])
from mm_train_text import write_csv

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
write_csv(os.path.join(work, "train.csv"), 300, seed=1)

import numpy as np
import tensorflow as tf

tf.keras.utils.set_random_seed(0)
from tflite_model_maker import model_spec, text_classifier
from tflite_model_maker.config import ExportFormat
from tflite_model_maker.text_classifier import DataLoader


def keras_pair():
    return [tf.keras.Model.__module__, tf.compat.v2.keras.Model.__module__]


before = keras_pair()
import tensorflowjs
from tensorflowjs.converters import keras_tfjs_loader, tf_saved_model_conversion_v2
after = keras_pair()

spec = model_spec.get("average_word_vec")
spec.num_words, spec.seq_len, spec.wordvec_dim = 200, 16, 8
train = DataLoader.from_csv(filename=os.path.join(work, "train.csv"), text_column="sentence",
                            label_column="label", model_spec=spec, delimiter=",", is_training=True)
model = text_classifier.create(train, model_spec=spec, epochs=3, batch_size=16)
export_dir = os.path.join(work, "export")
model.export(export_dir=export_dir, export_format=[ExportFormat.TFLITE, ExportFormat.TFJS])

ids = np.random.RandomState(0).randint(0, 20, size=(4, spec.seq_len)).astype("int32")
loaded = keras_tfjs_loader.load_keras_model(os.path.join(export_dir, "tfjs", "model.json"),
                                            load_weights=True)
print("RESULT:" + json.dumps({
    "tensorflowjs": tensorflowjs.__version__,
    "keras_before": before,
    "keras_after": after,
    "decision_forests": tf_saved_model_conversion_v2.tensorflow_decision_forests is not None,
    "max_abs_diff": float(np.max(np.abs(model.model.predict(ids, verbose=0)
                                        - loaded.predict(ids, verbose=0)))),
    "files": sorted(os.listdir(os.path.join(export_dir, "tfjs"))),
}))
"""


@dataclass(frozen=True)
class Venv:
    python: Path
    env: dict[str, str]
    versions: dict[str, str]


def _check(result: helpers.Result) -> helpers.Result:
    assert result.returncode == 0, result.describe()[-6000:]
    return result


def _python(version: str) -> str | None:
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found:
        return found
    pyenv = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python"))
    return str(pyenv[-1]) if pyenv else None


def _versions(python: Path, env: dict[str, str]) -> dict[str, str]:
    listing = _check(helpers.run([str(python), "-m", "pip", "list", "--format=json"], env))
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(listing.stdout)}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    base_python = _python(PYTHON)
    if base_python is None:
        pytest.skip(f"no Python {PYTHON} on this machine")
    base = tmp_path_factory.mktemp("tfjs")
    env = helpers.isolated_env(base)
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_TFMAC_E2E_PIP_CACHE") or str(base / "pip-cache")
    env["PIP_TFMAC_CACHE_DIR"] = str(base / "pip-tfmac-cache")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    _check(helpers.run([base_python, "-m", "venv", str(base / "venv")], env))
    python = helpers.venv_bin(base / "venv", "python")
    tool = [*helpers.tool_command(), "--python", str(python), "install"]
    _check(helpers.run([*tool, "tflite-model-maker", "tensorflowjs"], env, timeout=3600))
    return Venv(python, env, _versions(python, env))


def test_tensorflowjs_installs_on_model_makers_tensorflow(venv: Venv) -> None:
    tfjs = recipes.get("tensorflowjs")
    assert venv.versions["tensorflowjs"] == tfjs.version
    model_maker = recipes.get("tflite-model-maker")
    assert venv.versions["tflite-model-maker"].startswith(model_maker.upstream_version + "+tfmac.")
    line = model_maker.target("linux-x86_64", PYTHON)
    assert line is not None and "tensorflow==2.15.1" in line.requirements
    assert venv.versions["tensorflow"] == "2.15.1"  # the line's TensorFlow, not the newest
    assert venv.versions["keras"].startswith("2.15.")  # tf.keras stays Keras 2
    assert venv.versions["tf-keras"].startswith("2.15.")  # the converter's tf_keras matches it
    assert "tensorflow-decision-forests" not in venv.versions and "flax" not in venv.versions
    _check(helpers.run([str(venv.python), "-m", "pip", "check"], venv.env))


def test_text_classifier_exports_to_tfjs(venv: Venv, tmp_path: Path) -> None:
    script = tmp_path / "export_tfjs.py"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    result = _check(
        helpers.run([str(venv.python), str(script), str(work), str(HERE)], venv.env, timeout=1800)
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT:"))
    out = json.loads(line[len("RESULT:") :])
    assert out["tensorflowjs"] == recipes.get("tensorflowjs").upstream_version
    assert (
        out["keras_before"] == out["keras_after"]
    )  # importing tensorflowjs adds no second tf.keras
    assert out["decision_forests"] is False

    tfjs = work / "export" / "tfjs"
    model = json.loads((tfjs / "model.json").read_text())
    assert model["format"] == "layers-model"
    assert model["convertedBy"].startswith("TensorFlow.js Converter v4.22.0")
    layers = model["modelTopology"]["model_config"]["config"]["layers"]
    classes = [layer["class_name"] for layer in layers]
    assert classes[1:] == ["Embedding", "GlobalAveragePooling1D", "Dense", "Dropout", "Dense"]
    assert model["userDefinedMetadata"]["name"] == "AverageWordVec text classifier"

    manifest = model["weightsManifest"]
    shards = [p for group in manifest for p in group["paths"]]
    assert shards and all((tfjs / p).is_file() for p in shards)
    assert sorted(out["files"]) == sorted(["model.json", *shards])
    weights = [w for group in manifest for w in group["weights"]]
    names = {w["name"] for w in weights}
    assert {"embedding/embeddings", "dense/kernel", "dense_1/kernel"} <= names
    assert all(w["dtype"] == "float32" for w in weights)
    expected = sum(4 * _product(w["shape"]) for w in weights)
    assert sum((tfjs / p).stat().st_size for p in shards) == expected

    assert out["max_abs_diff"] < 1e-5  # the TF.js model, loaded back, predicts what Keras predicts


def _product(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
