"""Train, evaluate and export a mediapipe-model-maker text classifier with no downloads.

Run inside a venv with mediapipe-model-maker installed: `python mp_train_text.py WORKDIR`.
The average word embedding classifier learns its embedding from a small generated CSV (two
classes with disjoint vocabularies); the exported model.tflite carries metadata, read back with
mediapipe's metadata library. Prints one line `RESULT:{json}` for the test.
"""

from __future__ import annotations

import json
import os
import sys

from mm_train_text import write_csv  # the script's folder is sys.path[0]


def main(workdir: str) -> dict[str, object]:
    os.makedirs(workdir, exist_ok=True)
    train_csv = os.path.join(workdir, "train.csv")
    test_csv = os.path.join(workdir, "test.csv")
    write_csv(train_csv, 400, seed=1)
    write_csv(test_csv, 100, seed=2)

    import tensorflow as tf
    from mediapipe.tasks.python.metadata import metadata as md
    from mediapipe_model_maker import text_classifier as tc

    # Seeds Python, NumPy and TF, and deterministic ops: the run is the same every time (an
    # unseeded CI run once ended at accuracy 0.76).
    tf.keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    params = tc.CSVParams(text_column="sentence", label_column="label")
    train = tc.Dataset.from_csv(filename=train_csv, csv_params=params)
    test = tc.Dataset.from_csv(filename=test_csv, csv_params=params)
    export_dir = os.path.join(workdir, "export")
    options = tc.TextClassifierOptions(
        supported_model=tc.SupportedModels.AVERAGE_WORD_EMBEDDING_CLASSIFIER,
        # Sentences have 4-8 words: with the default 256 the average over mostly padding
        # leaves little signal and training sometimes stalls below 0.8 (as tflite's script).
        model_options=tc.AverageWordEmbeddingModelOptions(seq_len=16),
        hparams=tc.AverageWordEmbeddingHParams(
            learning_rate=0.01, epochs=15, batch_size=16, export_dir=export_dir
        ),
    )
    model = tc.TextClassifier.create(train, test, options)
    metrics = model.evaluate(test)
    model.export_model()
    tflite_path = os.path.join(export_dir, "model.tflite")
    displayer = md.MetadataDisplayer.with_model_file(tflite_path)
    metadata = json.loads(displayer.get_metadata_json())
    return {
        "tensorflow": tf.__version__,
        "metrics": [float(m) for m in metrics],
        "tflite_bytes": os.path.getsize(tflite_path),
        "metadata_name": metadata.get("name"),
        "associated_files": sorted(displayer.get_packed_associated_file_list()),
    }


if __name__ == "__main__":
    print("RESULT:" + json.dumps(main(sys.argv[1]), sort_keys=True))
