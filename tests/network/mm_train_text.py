"""Train, evaluate and export a tflite-model-maker text classifier with no downloads.

Run inside the venv that pip-tfmac's tflite-model-maker recipe installed:

    python mm_train_text.py WORKDIR

It writes a small generated CSV (two classes told apart by their words), trains the
AverageWordVec classifier from scratch (its embedding is learned, nothing comes from a model
hub), evaluates it, exports model.tflite with metadata (tflite-support's metadata library on the
Linux searcher line, mediapipe's port of it on the others), reads the metadata back, runs the .tflite
model once, and prints one JSON line (prefixed RESULT:) for the test to check.
"""

from __future__ import annotations

import csv
import json
import os
import random
import sys
import zipfile


def write_csv(path: str, rows: int, seed: int) -> None:
    """Two separable classes: their sentences draw from disjoint vocabularies."""
    rng = random.Random(seed)
    words = {
        "pos": [
            "good",
            "great",
            "fine",
            "happy",
            "lovely",
            "superb",
            "nice",
            "bright",
            "warm",
            "joyful",
        ],
        "neg": [
            "bad",
            "awful",
            "poor",
            "sad",
            "ugly",
            "terrible",
            "nasty",
            "dark",
            "cold",
            "gloomy",
        ],
    }
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sentence", "label"])
        for i in range(rows):
            label = "pos" if i % 2 == 0 else "neg"
            sentence = " ".join(rng.choice(words[label]) for _ in range(rng.randint(4, 9)))
            writer.writerow([sentence, label])


def main(workdir: str) -> dict[str, object]:
    os.makedirs(workdir, exist_ok=True)
    train_csv = os.path.join(workdir, "train.csv")
    test_csv = os.path.join(workdir, "test.csv")
    write_csv(train_csv, 400, seed=1)
    write_csv(test_csv, 100, seed=2)

    import numpy as np
    import tensorflow as tf

    # Model Maker first: on TF 2.16+ lines importing it makes tf.keras tf-keras (Keras 2), and
    # it refuses to run once tf.keras has been used as Keras 3 in the process.
    import tflite_model_maker
    from tflite_model_maker import model_spec, text_classifier
    from tflite_model_maker.text_classifier import DataLoader

    # Python, NumPy and TF seeds: the same run every time. Not tf.keras.utils.set_random_seed:
    # with tf-keras 2.18.0 on Python 3.12+ it breaks layer creation (randint(1, 1e9), a float).
    random.seed(0)
    np.random.seed(0)
    tf.random.set_seed(0)
    tf.config.experimental.enable_op_determinism()

    spec = model_spec.get("average_word_vec")
    spec.num_words = 200
    spec.seq_len = 16
    spec.wordvec_dim = 8
    kwargs = {
        "text_column": "sentence",
        "label_column": "label",
        "model_spec": spec,
        "delimiter": ",",
    }
    train = DataLoader.from_csv(filename=train_csv, is_training=True, **kwargs)
    test = DataLoader.from_csv(filename=test_csv, is_training=False, **kwargs)

    model = text_classifier.create(train, model_spec=spec, epochs=15, batch_size=16)
    loss, accuracy = model.evaluate(test)

    export_dir = os.path.join(workdir, "export")
    model.export(export_dir=export_dir)
    tflite_path = os.path.join(export_dir, "model.tflite")

    try:  # the Linux x86_64 py3.9-3.11 line keeps tflite-support's own metadata library
        from tflite_support import metadata as md
    except ImportError:  # every other line: mediapipe's port of it
        from mediapipe.tasks.python.metadata import metadata as md

    displayer = md.MetadataDisplayer.with_model_file(tflite_path)
    metadata = json.loads(displayer.get_metadata_json())
    associated = sorted(displayer.get_packed_associated_file_list())
    with zipfile.ZipFile(tflite_path) as zf:  # associated files are packed as a zip tail
        labels = zf.read("labels.txt").decode("utf-8").split()

    interpreter = tf.lite.Interpreter(model_path=tflite_path)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], np.zeros(inp["shape"], dtype=inp["dtype"]))
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    return {
        "tflite_model_maker_file": tflite_model_maker.__file__,
        "tensorflow": tf.__version__,
        "keras_model_module": tf.keras.Model.__module__,
        "compat_v2_same_keras": tf.compat.v2.keras.Model is tf.keras.Model,
        "accuracy": float(accuracy),
        "loss": float(loss),
        "tflite_bytes": os.path.getsize(tflite_path),
        "metadata_name": metadata.get("name"),
        "min_parser_version": metadata.get("min_parser_version"),
        "subgraph_inputs": [
            t.get("name") for t in metadata["subgraph_metadata"][0]["input_tensor_metadata"]
        ],
        "associated_files": associated,
        "labels": labels,
        "output_shape": [int(d) for d in out.shape],
    }


if __name__ == "__main__":
    result = main(sys.argv[1])
    print("RESULT:" + json.dumps(result, sort_keys=True))
