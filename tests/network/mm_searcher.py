"""Build a ScaNN image searcher with tflite-model-maker, export it, and query it, no downloads.

Run inside a venv that pip-tfmac's Linux x86_64 searcher line (scann and tflite-support kept)
installed:

    python mm_searcher.py WORKDIR

Model Maker's searcher needs an image embedder: a .tflite model with image metadata. This script
makes one (a tiny Keras conv net converted to TFLite, metadata written with tflite-support's
metadata writers), draws a folder of PNGs that differ in colour, loads them with Model Maker's
ImageDataLoader (its embeddings come from tflite-support's task library, the part that needs
libusb-1.0), builds the index with Searcher.create_from_data (scann), exports it both as an
on-device ScaNN index file and as a TFLite model carrying the index, then queries the exported
model with tflite-support's ImageSearcher: each image's nearest neighbour must be itself. Prints
one JSON line (prefixed RESULT:) for the test to check.
"""

from __future__ import annotations

import json
import os
import sys


def build_embedder(path: str) -> None:
    import tensorflow as tf
    from tensorflow_lite_support.metadata import metadata_schema_py_generated as md_fb
    from tensorflow_lite_support.metadata.python.metadata_writers import (
        metadata_info,
        metadata_writer,
        writer_utils,
    )

    tf.keras.utils.set_random_seed(7)
    inputs = tf.keras.Input((32, 32, 3))
    x = tf.keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    # Mean colour as well as the learned features: images of different colours embed apart.
    colour = tf.keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = tf.keras.layers.Concatenate()([x, colour])
    model = tf.keras.Model(inputs, outputs)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    flatbuffer = converter.convert()
    writer = metadata_writer.MetadataWriter.create_from_metadata_info(
        model_buffer=bytearray(flatbuffer),
        general_md=metadata_info.GeneralMd(name="tiny image embedder", version="1"),
        input_md=[
            metadata_info.InputImageTensorMd(
                name="image",
                norm_mean=[127.5],
                norm_std=[127.5],
                color_space_type=md_fb.ColorSpaceType.RGB,
                tensor_type=writer_utils.get_input_tensor_types(flatbuffer)[0],
            )
        ],
        output_md=[metadata_info.TensorMd(name="embedding")],
    )
    with open(path, "wb") as f:
        f.write(writer.populate())


def draw_images(folder: str, count: int) -> list[str]:
    """PNG files, one colour each, spread around the colour cube."""
    import numpy as np
    import tensorflow as tf

    os.makedirs(folder, exist_ok=True)
    names = []
    for i in range(count):
        rgb = [(i * 97) % 256, (i * 57 + 40) % 256, (i * 31 + 200) % 256]
        image = np.zeros((32, 32, 3), dtype=np.uint8) + np.array(rgb, dtype=np.uint8)
        image[i % 32, :, :] = 255 - image[i % 32, :, :]  # a stripe, so no two are alike
        name = f"img{i:02d}.png"
        tf.io.write_file(os.path.join(folder, name), tf.io.encode_png(image))
        names.append(name)
    return names


def _text(value) -> str:
    """The task library hands metadata back as bytes or bytearray."""
    return bytes(value).decode() if isinstance(value, (bytes, bytearray)) else str(value)


def main(work: str) -> None:
    from tflite_model_maker import searcher
    from tflite_support import metadata as tflite_metadata
    from tflite_support.task import vision

    os.makedirs(work, exist_ok=True)
    embedder = os.path.join(work, "embedder.tflite")
    build_embedder(embedder)
    folder = os.path.join(work, "images")
    names = draw_images(folder, 24)

    data = searcher.ImageDataLoader.create(embedder)
    data.load_from_folder(folder)
    options = searcher.ScaNNOptions(
        distance_measure="squared_l2",
        tree=searcher.Tree(num_leaves=4, num_leaves_to_search=4),
        score_brute_force=searcher.ScoreBruteForce(),
    )
    model = searcher.Searcher.create_from_data(data, options)

    index_file = os.path.join(work, "index.ldb")
    model.export(export_filename=index_file, userinfo="", export_format=searcher.ExportFormat.SCANN_INDEX_FILE)
    exported = os.path.join(work, "searcher.tflite")
    model.export(export_filename=exported, userinfo="", export_format=searcher.ExportFormat.TFLITE)

    associated = tflite_metadata.MetadataDisplayer.with_model_file(exported).get_packed_associated_file_list()
    query = vision.ImageSearcher.create_from_file(exported)
    nearest = {}
    for name in names[:6]:
        image = vision.TensorImage.create_from_file(os.path.join(folder, name))
        result = query.search(image)
        nearest[name] = [_text(n.metadata) for n in result.nearest_neighbors]
    out = {
        "loaded": len(data.metadata),
        "embedding_size": int(data.dataset.shape[1]),
        "index_bytes": os.path.getsize(index_file),
        "associated_files": sorted(_text(a) for a in associated),
        "nearest": nearest,
    }
    print("RESULT:" + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
