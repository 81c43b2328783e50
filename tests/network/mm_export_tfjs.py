"""Train a tflite-model-maker text classifier and export it to TF.js, with no downloads.

Run inside the venv that `pip-tfmac install tflite-model-maker` made (the line brings pip-tfmac's
patched tensorflowjs):

    python mm_export_tfjs.py WORKDIR

It trains the AverageWordVec classifier on mm_train_text's generated CSV, exports it with
ExportFormat.TFLITE and ExportFormat.TFJS, loads the TF.js model back with tensorflowjs and
prints one JSON line (prefixed RESULT:): the Keras tf.keras is before and after importing
tensorflowjs and after the export, the installed versions, and how far the TF.js model's
predictions are from the Keras model's.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm_train_text import write_csv  # noqa: E402


def _keras(tf) -> list:
    return [tf.keras.Model.__module__, tf.compat.v2.keras.Model.__module__,
            tf.keras.Model is tf.compat.v2.keras.Model]


def main(work: str) -> None:
    os.makedirs(work, exist_ok=True)
    write_csv(os.path.join(work, "train.csv"), 300, seed=1)

    import numpy as np
    import tensorflow as tf

    from tflite_model_maker import model_spec, text_classifier
    from tflite_model_maker.config import ExportFormat
    from tflite_model_maker.text_classifier import DataLoader

    tf.random.set_seed(0)  # not tf.keras.utils.set_random_seed: unpatched tf-keras 2.18 fails on 3.12
    before = _keras(tf)
    import tensorflowjs
    from tensorflowjs.converters import keras_tfjs_loader, tf_saved_model_conversion_v2
    after_import = _keras(tf)

    spec = model_spec.get("average_word_vec")
    spec.num_words, spec.seq_len, spec.wordvec_dim = 200, 16, 8
    train = DataLoader.from_csv(filename=os.path.join(work, "train.csv"), text_column="sentence",
                                label_column="label", model_spec=spec, delimiter=",", is_training=True)
    model = text_classifier.create(train, model_spec=spec, epochs=3, batch_size=16)
    export_dir = os.path.join(work, "export")
    model.export(export_dir=export_dir, export_format=[ExportFormat.TFLITE, ExportFormat.TFJS])
    after_export = _keras(tf)

    ids = np.random.RandomState(0).randint(0, 20, size=(4, spec.seq_len)).astype("int32")
    loaded = keras_tfjs_loader.load_keras_model(os.path.join(export_dir, "tfjs", "model.json"),
                                                load_weights=True)
    versions = {}
    for name in ("tensorflow", "keras", "tf-keras", "tensorflowjs", "tflite-model-maker"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    print("RESULT:" + json.dumps({
        "tensorflowjs": tensorflowjs.__version__,
        "versions": versions,
        "keras": [before, after_import, after_export],
        "legacy_keras_env": os.environ.get("TF_USE_LEGACY_KERAS"),
        "decision_forests": tf_saved_model_conversion_v2.tensorflow_decision_forests is not None,
        "max_abs_diff": float(np.max(np.abs(model.model.predict(ids, verbose=0)
                                            - loaded.predict(ids, verbose=0)))),
        "files": sorted(os.listdir(os.path.join(export_dir, "tfjs"))),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
