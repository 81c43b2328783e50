"""Run Model Maker's own upstream tests, unedited, against an installed tflite-model-maker.

The tests live in the public tensorflow/examples repository
(tensorflow_examples/lite/model_maker/core/**/*_test.py); the tflite-model-maker wheel ships the
package they import (tensorflow_examples.lite.model_maker...) and their test_util.py, but not the
tests. This tool never copies upstream code into the project: it reads a checkout you fetched.

    git clone https://github.com/tensorflow/examples /tmp/tfexamples   # or any checkout
    python tools/upstream_model_maker_tests.py /tmp/tfexamples --python VENV/bin/python
    python tools/upstream_model_maker_tests.py CHECKOUT --python PY --all      # also the excluded
    python tools/upstream_model_maker_tests.py CHECKOUT --python PY --files task/model_util_test.py

How: each test file is copied into an empty temporary folder (so nothing shadows the installed
package) and run there by the venv's Python (`python FILE --xml_output_file=...`, absltest's JUnit
report; `-- -k PATTERN` selects tests), with TEST_SRCDIR pointing at the checkout's model_maker
folder for the test data and with network access blocked (HTTP(S) proxies set to a closed local
port; `--allow-network` lifts it).
Test-only pins (`--test-pin`, default `pillow<12`, see docs/upstream-tests.md) are installed into
an overlay folder put first on PYTHONPATH for the test run; the venv itself is never changed.

Each failure is classified: `install` (a module the install lacks, a feature the recipe patched
out, two Keras mixed), `environment` (network, the pillow of the test helper, the source tree's
layout, a timeout), `upstream` (a module the published package does not declare), `tensorflow`
(the process died natively inside TensorFlow and did not when the file was run again with
TF_ENABLE_ONEDNN_OPTS=0, whose tests then count) or `unclassified` (read it). Exit codes: 0 no
failure caused by the install and none unclassified; 1 some; 2 bad input (message on stderr, no
traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

CORE = "tensorflow_examples/lite/model_maker/core"

# fmt: off
# The files run by default, relative to CORE: they need no download (models, datasets) and no
# scann. A file maps to the `-k` patterns (unittest's test name filter) that select its tests, or
# to () for all of them; the tests a pattern leaves out download a model (EXCLUDED_TESTS). What
# each file covers is in docs/upstream-tests.md.
SELECTED = {
    "api/api_util_test.py": (),
    "data_util/dataloader_test.py": (),
    "data_util/text_dataloader_test.py": (),
    "data_util/recommendation_dataloader_test.py": (),
    "data_util/image_dataloader_test.py": (),
    "data_util/audio_dataloader_test.py": (
        "ExamplesHelperTest", "test_no_audio_files_found", "test_failed_librosa",
        "test_from_folder"),
    "data_util/metadata_loader_test.py": (),
    "data_util/object_detector_dataloader_test.py": (),
    "data_util/object_detector_dataloader_util_test.py": (),
    "task/classification_model_test.py": (),
    "task/custom_model_test.py": (),
    "task/model_util_test.py": (),
    "task/hub_loader_test.py": (),
    "task/text_classifier_test.py": ("test_average_wordvec",),
    "task/recommendation_test.py": (),
    "task/image_preprocessing_test.py": (),
    "task/model_spec/model_spec_test.py": (
        "*.ModelSpecTest.test_get", "*.ModelSpecTest.test_get_not_none[0-9]*",
        "test_get_not_none_recommendation", "test_get_raises"),
    "task/model_spec/text_spec_test.py": ("AverageWordVecModelSpecTest",),
    "task/model_spec/recommendation_spec_test.py": (),
    "task/model_spec/object_detector_spec_test.py": (),
}
EXCLUDED_TESTS = {
    "data_util/audio_dataloader_test.py":
        "test_from_esc50, LoadFromFolderTest.test_spec: the YAMNet spec downloads its model",
    "task/text_classifier_test.py":
        "test_bert_model, test_mobilebert_model*: download BERT / MobileBERT from a model hub",
    "task/model_spec/model_spec_test.py":
        "test_get_not_none_audio_models*: download the YAMNet / browser FFT models",
    "task/model_spec/text_spec_test.py":
        "BertClassifierModelSpecTest: downloads BERT from a model hub",
}

# Files excluded by default, with the reason (`--all` runs them too, every test of every file).
EXCLUDED = {
    "api/api_gen_test.py": "compares the generated API with the source tree's golden file; "
    "imports every task through the source tree's module names (tensorflow_lite_support)",
    "data_util/searcher_dataloader_test.py": "searcher: scann and tflite-support's task library; "
    "only the Linux x86_64 py3.9-3.11 line (tfmac.11) keeps them: run there with --files",
    "data_util/text_searcher_dataloader_test.py": "searcher: as searcher_dataloader_test",
    "task/audio_classifier_test.py": "downloads the YAMNet / browser FFT models",
    "task/image_classifier_test.py": "downloads EfficientNet-Lite, MobileNet, ResNet backbones",
    "task/image_classifier_v1_test.py": "imports image_classifier_test as a package module "
    "(source-tree layout) and downloads as it does",
    "task/model_util_v1_test.py": "imports model_util_test as a package module (source-tree "
    "layout: tests are not in the wheel)",
    "task/object_detector_test.py": "downloads the EfficientDet-Lite0 backbone",
    "task/question_answer_test.py": "downloads MobileBERT / BERT",
    "task/question_answer_v1_test.py": "imports question_answer_test as a package module and "
    "downloads as it does",
    "task/searcher_test.py": "searcher: as searcher_dataloader_test (tfmac.11 only)",
    "task/text_classifier_v1_test.py": "imports text_classifier_test as a package module "
    "(source-tree layout)",
    "task/model_spec/audio_spec_test.py": "downloads the YAMNet / browser FFT models",
    "utils/ondevice_scann_builder_test.py": "needs scann: tfmac.11 only",
    "utils/scann_converter_test.py": "needs scann and the source tree's tensorflow_lite_support",
}

# fmt: on
DEFAULT_TEST_PINS = ("pillow<12",)
CLOSED_PROXY = "http://127.0.0.1:9"  # the discard port: connections are refused at once
# Modules of the installed set (or that the recipes drop): missing one is the install's fault.
INSTALL_MODULES = {
    "tensorflowjs", "tflite_support", "scann", "tensorflow_decision_forests", "tensorflow_addons",
    "tf_keras", "pkg_resources", "mediapipe", "tensorflow", "tensorflow_hub", "tensorflow_datasets",
    "tflite_model_maker", "tensorflow_examples", "jax", "keras", "numpy", "librosa", "PIL",
    "official",
}  # fmt: skip
NETWORK = re.compile(
    r"URLError|ProxyError|ConnectionError|ConnectionRefused|Connection refused|"
    r"Tunnel connection failed|Name or service not known|HTTP Error|tfhub\.dev|"
    r"storage\.googleapis\.com|kaggle\.com|Failed to establish|Max retries exceeded|"
    r"Couldn't resolve|NetworkError|DownloadError"
)
PILLOW = re.compile(r"Cannot handle this data type|PIL[/.]Image|fromarray")
MISSING = re.compile(r"No module named '([\w.]+)'|cannot import name '(\w+)' from '([\w.]+)'")
# The Keras mix-up: tf.keras is keras while tf.compat.v2.keras and tf.optimizers are tf_keras, so
# a model of one fails the other's isinstance checks, and a tf.optimizers LearningRateSchedule is
# not recognised by a tf.keras optimizer, which then calls it as an initial value (no `step`).
# On a TF 2.16+ line, Keras 3 frames (keras/src/ops exists only in Keras 3) under Model Maker's
# Keras 2 code mean tf.keras was Keras 3 in that process.
KERAS_MIX = re.compile(
    r"tf_keras|not an instance of .*[Kk]eras|keras\.src.*keras\.src|"
    r"missing 1 required positional argument: 'step'|keras/src/ops/operation\.py"
)
# Modules Model Maker imports that its published requirements (wheel and requirements.txt) do not
# list: upstream fails the same way. The recipes add pycocotools from 0.4.3+tfmac.8, so this shows
# only against older builds (docs/upstream-tests.md).
UNDECLARED = re.compile(r"You must install (pycocotools)")
# A test process that dies natively (abort, segfault): glibc's heap checks, Python's fault handler
# and TensorFlow's own stack dump.
NATIVE_CRASH = re.compile(
    r"Fatal Python error: (Aborted|Segmentation fault|Bus error|Floating point exception)|"
    r"corrupted double-linked list|corrupted size vs\. prev_size|free\(\): invalid|"
    r"double free or corruption|\*\*\* Begin stack trace \*\*\*"
)
# A native frame of TensorFlow's oneDNN CPU kernels (on by default on Linux x86_64), named in the
# crash's reason when the stack shows one (tensorflow/tensorflow#117700: the same "corrupted
# double-linked list" from a oneDNN kernel with TensorFlow alone, gone with oneDNN off).
ONEDNN_FRAME = re.compile(r"tensorflow::(Mkl\w+)|\b(dnnl::impl::\w+)")
# The crash happened inside TensorFlow: its libraries or symbols in a native stack, its signal
# handler's banner (which may be all it prints when the handler itself dies), or Python's fault
# handler stopped in TensorFlow's op execution.
TF_STACK = re.compile(
    r"libtensorflow|tensorflow::|tsl::|\*\*\* Received signal \d+ \*\*\*|"
    r"tensorflow/python/eager/execute\.py"
)
PATCHED_OUT = re.compile(r"disabled in this install|pip-tfmac")


class BadInput(Exception):
    """A wrong argument: printed as one message, exit code 2."""


@dataclass
class Failure:
    test: str
    kind: str  # failure | error | crash (the file's process died; see run_file)
    category: str  # install | environment | upstream | tensorflow | unclassified
    why: str
    message: str


@dataclass
class FileResult:
    file: str
    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)


def classify(text: str) -> tuple[str, str]:
    """(category, why) for a failure's message and traceback."""
    if text.startswith("timeout"):
        return "environment", text
    if NETWORK.search(text):
        return "environment", "network (blocked, or unreachable)"
    if PILLOW.search(text):
        return "environment", "pillow: the test helper's Image.fromarray(float array, 'RGB')"
    if PATCHED_OUT.search(text):
        return "install", "a feature the recipe patched out"
    missing = MISSING.search(text)
    if missing:
        module = missing.group(1) or f"{missing.group(3)}.{missing.group(2)}"
        top = module.split(".")[0]
        if top == "tensorflow_lite_support" or module.endswith("_test"):
            return "environment", f"source-tree layout: {module} is in upstream's build, no wheel"
        if top in INSTALL_MODULES:
            return "install", f"missing module: {module}"
        return "unclassified", f"missing module: {module}"
    if UNDECLARED.search(text):
        return "upstream", "not declared by the published package: " + UNDECLARED.search(text)[1]
    if KERAS_MIX.search(text):
        return "install", "Keras mix-up (tf.keras and tf_keras in one process)"
    return "unclassified", _first_line(text)


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def parse_report(xml_text: str, file: str) -> FileResult:
    """A FileResult from absltest's JUnit XML report."""
    result = FileResult(file)
    root = ET.fromstring(xml_text)
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}.{case.get('name', '')}"
        result.tests += 1
        bad = case.find("failure")
        kind = "failure"
        if bad is None:
            bad, kind = case.find("error"), "error"
        if bad is not None:
            text = f"{bad.get('message', '')}\n{bad.text or ''}"
            category, why = classify(text)
            result.failures.append(Failure(name, kind, category, why, _first_line(text)))
            if kind == "failure":
                result.failed += 1
            else:
                result.errors += 1
        elif case.find("skipped") is not None or case.get("status") == "notrun":
            result.skipped += 1
        else:
            result.passed += 1
    return result


def _find_core(checkout: Path) -> Path:
    for candidate in (checkout / CORE, checkout / "core", checkout):
        if (candidate / "task" / "model_util_test.py").is_file():
            return candidate
    raise BadInput(
        f"{checkout} is not a tensorflow/examples checkout: no {CORE}/task/model_util_test.py"
    )


def _check_python(python: str) -> str:
    code = (
        "import importlib.metadata as m, tensorflow_examples.lite.model_maker as p, sys;"
        "print(m.version('tflite-model-maker'), sys.version.split()[0])"
    )
    try:
        out = subprocess.run(
            [python, "-c", code], check=False, capture_output=True, text=True, timeout=300
        )
    except OSError as exc:
        raise BadInput(f"--python {python} cannot run: {exc.strerror}") from None
    if out.returncode != 0:
        raise BadInput(
            f"--python {python} has no importable tflite-model-maker: {_first_line(out.stderr)}"
        )
    return out.stdout.strip()


def _overlay(python: str, pins: list[str], base: Path) -> Path | None:
    """Install the test-only pins the venv does not satisfy into an overlay folder."""
    needed = []
    for pin in pins:
        check = (
            "import sys, importlib.metadata as m\nfrom packaging.requirements import Requirement\n"
            f"r = Requirement({pin!r})\n"
            "try: v = m.version(r.name)\nexcept m.PackageNotFoundError: sys.exit(1)\n"
            "sys.exit(0 if r.specifier.contains(v, prereleases=True) else 1)"
        )
        if subprocess.run([python, "-c", check], check=False, capture_output=True).returncode != 0:
            needed.append(pin)
    if not needed:
        return None
    overlay = base / "overlay"
    cmd = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(overlay)]
    cmd += needed
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BadInput(f"cannot install the test pins {needed}: {_first_line(done.stderr)}")
    print(f"test-only pins in an overlay (the venv is unchanged): {needed}", file=sys.stderr)
    return overlay


def _env(core: Path, tmp: Path, overlay: Path | None, allow_network: bool) -> dict[str, str]:
    proxies = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV")) and k.lower() not in proxies}
    env.update(TEST_SRCDIR=str(core.parent), TEST_TMPDIR=str(tmp), TF_CPP_MIN_LOG_LEVEL="2",
               CUDA_VISIBLE_DEVICES="-1", PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
    if overlay is not None:
        env["PYTHONPATH"] = str(overlay)
    if not allow_network:
        for key in proxies[:3]:
            env[key] = env[key.upper()] = CLOSED_PROXY
    return env


def run_file(python: str, core: Path, rel: str, base: Path, env: dict[str, str], timeout: float,
             patterns: tuple[str, ...] = (), rerun: bool = True) -> FileResult:  # fmt: skip
    """Run one test file in a folder of its own; its results from absltest's XML report."""
    folder = base / rel.replace("/", "__").removesuffix(".py")
    (folder / "tmp").mkdir(parents=True)
    script = folder / Path(rel).name
    shutil.copyfile(core / rel, script)
    report = folder / "report.xml"
    env = dict(env, TEST_TMPDIR=str(folder / "tmp"))
    started = time.monotonic()
    try:
        argv = [python, str(script), f"--xml_output_file={report}"]
        if patterns:  # after `--`: absl's flag parser passes the rest to unittest
            argv.append("--")
            for pattern in patterns:
                argv += ["-k", pattern]
        done = subprocess.run(
            argv, check=False, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout
        )
        stderr, code = done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        stderr, code = f"timeout after {timeout:.0f} s\n{exc.stderr or ''}", -1
    stderr = stderr if isinstance(stderr, str) else stderr.decode(errors="replace")
    (folder / "stderr.txt").write_text(stderr)
    has_report = report.is_file() and report.stat().st_size
    result = parse_report(report.read_text(), rel) if has_report else FileResult(rel)
    result.file, result.seconds = rel, round(time.monotonic() - started, 1)
    # Killed by a signal (Python's fault handler re-raises it), or glibc/Python said so; the text
    # alone can be garbled when TensorFlow's signal handler writes into Python's report.
    timed_out = stderr.startswith("timeout")
    crashed = (code < 0 and not timed_out) or (code != 0 and bool(NATIVE_CRASH.search(stderr)))
    if crashed and rerun and TF_STACK.search(stderr) and env.get("TF_ENABLE_ONEDNN_OPTS") != "0":
        # The process died natively inside TensorFlow, and its XML report died with it. Heap
        # corruption is often caught later, in another allocation, so the stack alone does not
        # name the culprit: run the file again with TensorFlow's oneDNN kernels off. No crash
        # then: the crash is oneDNN's (TensorFlow's), and that run's tests count, so a failure
        # the install causes still shows. A crash again: not oneDNN's, read it.
        off = dict(env, TF_ENABLE_ONEDNN_OPTS="0")
        again = run_file(python, core, rel, base / "onednn-off", off, timeout, patterns, rerun=False)
        if not any(f.why.startswith("native crash") for f in again.failures):
            frame = ONEDNN_FRAME.search(stderr)
            where = f" in {frame.group(1) or frame.group(2)}" if frame else ""
            why = (f"native crash with TensorFlow's oneDNN kernels on{where}; none in a re-run with "
                   f"TF_ENABLE_ONEDNN_OPTS=0, whose results are counted")  # fmt: skip
            crash = _crash_line(stderr, code)
            again.failures.insert(0, Failure("(file)", "crash", "tensorflow", why, crash))
            again.seconds = round(time.monotonic() - started, 1)
            return again
    if code != 0 and not result.failures:  # died before or outside any test (import error, timeout)
        if crashed:  # a Python traceback under a native crash names modules, not the cause
            category, why = "unclassified", "native crash: " + _crash_line(stderr, code)
        else:
            first = stderr.splitlines()[0] if timed_out else stderr
            category, why = classify(first)
        result.errors += 1
        result.failures.append(Failure("(file)", "error", category, why, _first_line(stderr)))
    return result


def _crash_line(stderr: str, code: int) -> str:
    found = NATIVE_CRASH.search(stderr)
    if found:
        return found.group(0)
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return _first_line(stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="tensorflow/examples checkout")
    parser.add_argument("--python", required=True, help="the venv's Python (pip-tfmac installed)")
    parser.add_argument("--all", action="store_true", help="also run the excluded files")
    parser.add_argument("--files", help="comma-separated files relative to model_maker/core")
    parser.add_argument("--test-pin", action="append", dest="pins", help="default: pillow<12")
    parser.add_argument("--no-test-pins", action="store_true")
    parser.add_argument("--allow-network", action="store_true")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per file")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    try:
        core = _find_core(args.checkout.resolve())
        default = list(SELECTED) + (sorted(EXCLUDED) if args.all else [])
        files = [f.strip() for f in args.files.split(",")] if args.files else default
        for rel in files:
            if not (core / rel).is_file():
                raise BadInput(f"no test file {rel} under {core}")
        installed = _check_python(args.python)
    except BadInput as exc:
        print(f"upstream_model_maker_tests: error: {exc}", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="mm-upstream-"))
    print(f"tflite-model-maker {installed} ({args.python}); work folder {base}", file=sys.stderr)
    try:
        pins = [] if args.no_test_pins else (args.pins or list(DEFAULT_TEST_PINS))
        overlay = _overlay(args.python, pins, base)
        env = _env(core, base, overlay, args.allow_network)
        results = []
        for rel in files:
            patterns = () if args.all else SELECTED.get(rel, ())
            result = run_file(args.python, core, rel, base, env, args.timeout, patterns)
            results.append(result)
            print(_line(result), flush=True)
            for f in result.failures:
                print(f"    {f.category:12} {f.test}: {f.why} | {f.message[:160]}", flush=True)
    except BadInput as exc:
        print(f"upstream_model_maker_tests: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return _summary(results, installed, args.json)


def _line(r: FileResult) -> str:
    return (
        f"{r.file:52} tests {r.tests:3}  pass {r.passed:3}  fail {r.failed:2}  error {r.errors:2}"
        f"  skip {r.skipped:2}  {r.seconds:7.1f} s"
    )


def _summary(results: list[FileResult], installed: str, out: Path | None) -> int:
    keys = ("tests", "passed", "failed", "errors", "skipped")
    totals = {k: sum(getattr(r, k) for r in results) for k in keys}
    by_category: dict[str, int] = {}
    for r in results:
        for f in r.failures:
            by_category[f.category] = by_category.get(f.category, 0) + 1
    causes = ", ".join(f"{k} {v}" for k, v in sorted(by_category.items())) or "none"
    counts = ", ".join(f"{k} {v}" for k, v in totals.items())
    print(f"total: {len(results)} files, {counts}; failures by cause: {causes}")
    if out is not None:
        data = {"installed": installed, "totals": totals, "by_category": by_category,
                "files": [asdict(r) for r in results]}  # fmt: skip
        out.write_text(json.dumps(data, indent=1) + "\n")
    return 1 if by_category.get("install") or by_category.get("unclassified") else 0


if __name__ == "__main__":
    sys.exit(main())
