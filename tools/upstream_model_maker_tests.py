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
report), with TEST_SRCDIR pointing at the checkout's model_maker folder for the test data and with
network access blocked (HTTP(S) proxies set to a closed local port; `--allow-network` lifts it).
Test-only pins (`--test-pin`, default `pillow<12`, see docs/upstream-tests.md) are installed into
an overlay folder put first on PYTHONPATH for the test run; the venv itself is never changed.

Each failure is classified: `install` (a module the install lacks, a feature the recipe patched
out, two Keras mixed), `environment` (network, the pillow of the test helper, a timeout) or
`unclassified` (read it). Exit codes: 0 no failure caused by the install and none unclassified;
1 some; 2 bad input (message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

CORE = "tensorflow_examples/lite/model_maker/core"

# The files run by default: they need no download (models, datasets) and no scann, relative to
# CORE. What each covers is in docs/upstream-tests.md.
SELECTED = (
    "data_util/dataloader_test.py",
    "data_util/text_dataloader_test.py",
    "data_util/recommendation_dataloader_test.py",
    "data_util/metadata_loader_test.py",
    "data_util/object_detector_dataloader_test.py",
    "data_util/object_detector_dataloader_util_test.py",
    "task/classification_model_test.py",
    "task/custom_model_test.py",
    "task/model_util_test.py",
    "task/text_classifier_test.py",
    "task/recommendation_test.py",
    "task/image_preprocessing_test.py",
    "task/model_spec/model_spec_test.py",
    "task/model_spec/text_spec_test.py",
    "task/model_spec/recommendation_spec_test.py",
    "task/model_spec/object_detector_spec_test.py",
)

# Excluded by default, with the reason (`--all` runs them too).
EXCLUDED = {
    "api/api_gen_test.py": "checks the API generator against golden files of the source tree, not the installed package",
    "api/api_util_test.py": "checks the API generator's helpers (source tree tooling), not the installed package",
    "data_util/audio_dataloader_test.py": "downloads the YAMNet model from a model hub",
    "data_util/image_dataloader_test.py": "downloads a dataset (tf_flowers) through tensorflow-datasets",
    "data_util/searcher_dataloader_test.py": "searcher: needs scann and tflite-support's task library, disabled by the recipe",
    "data_util/text_searcher_dataloader_test.py": "searcher: needs scann and tflite-support's task library, disabled by the recipe",
    "task/audio_classifier_test.py": "downloads the YAMNet / browser FFT models from a model hub",
    "task/hub_loader_test.py": "loads models from a model hub",
    "task/image_classifier_test.py": "downloads image backbones (EfficientNet-Lite, MobileNet) from a model hub",
    "task/image_classifier_v1_test.py": "TF1 variant of image_classifier_test (downloads)",
    "task/model_util_v1_test.py": "TF1 behaviour (tf.compat.v1 graph mode) of model_util_test; Model Maker runs TF2",
    "task/object_detector_test.py": "downloads the EfficientDet-Lite backbone from a model hub",
    "task/question_answer_test.py": "downloads MobileBERT / BERT from a model hub",
    "task/question_answer_v1_test.py": "TF1 variant of question_answer_test (downloads)",
    "task/searcher_test.py": "searcher: needs scann, disabled by the recipe",
    "task/text_classifier_v1_test.py": "TF1 variant of text_classifier_test",
    "task/model_spec/audio_spec_test.py": "downloads the YAMNet / browser FFT models from a model hub",
    "utils/ondevice_scann_builder_test.py": "needs scann, which the recipe drops",
    "utils/scann_converter_test.py": "needs scann, which the recipe drops",
}

DEFAULT_TEST_PINS = ("pillow<12",)
CLOSED_PROXY = "http://127.0.0.1:9"  # the discard port: connections are refused at once
INSTALL_MODULES = ("tensorflowjs", "tflite_support", "scann", "tensorflow_decision_forests",
                   "tensorflow_addons", "tf_keras", "pkg_resources", "mediapipe")
NETWORK = re.compile(r"URLError|ProxyError|ConnectionError|ConnectionRefused|Connection refused|"
                     r"Tunnel connection failed|Name or service not known|HTTP Error|tfhub\.dev|"
                     r"storage\.googleapis\.com|kaggle\.com|Failed to establish|Max retries exceeded|"
                     r"curl|Couldn't resolve|NetworkError|DownloadError")
PILLOW = re.compile(r"Cannot handle this data type|PIL[/.]Image|fromarray")
MISSING = re.compile(r"No module named '([\w.]+)'|cannot import name '(\w+)' from '([\w.]+)'")
KERAS_MIX = re.compile(r"tf_keras|not an instance of .*[Kk]eras|keras\.src.*keras\.src|"
                       r"Keras 3|keras 3|`keras\.\w+` is not")
PATCHED_OUT = re.compile(r"disabled in this install|pip-tfmac")


class BadInput(Exception):
    """A wrong argument: printed as one message, exit code 2."""


@dataclass
class Failure:
    test: str
    kind: str  # failure | error
    category: str  # install | environment | unclassified
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
        if top in INSTALL_MODULES or top.startswith("tensorflow"):
            return "install", f"missing module: {module}"
        return "unclassified", f"missing module: {module}"
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
        elif case.find("skipped") is not None or case.get("result") == "suppressed" or case.get("status") == "notrun":
            result.skipped += 1
        else:
            result.passed += 1
    return result


def _find_core(checkout: Path) -> Path:
    for candidate in (checkout / CORE, checkout / "core", checkout):
        if (candidate / "task" / "model_util_test.py").is_file():
            return candidate
    raise BadInput(f"{checkout} is not a tensorflow/examples checkout: no {CORE}/task/model_util_test.py")


def _check_python(python: str) -> str:
    code = ("import importlib.metadata as m, tensorflow_examples.lite.model_maker as p, sys;"
            "print(m.version('tflite-model-maker'), sys.version.split()[0])")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    except OSError as exc:
        raise BadInput(f"--python {python} cannot run: {exc.strerror}") from None
    if out.returncode != 0:
        raise BadInput(f"--python {python} has no importable tflite-model-maker: "
                       f"{_first_line(out.stderr)}")
    return out.stdout.strip()


def _overlay(python: str, pins: list[str], base: Path) -> Path | None:
    """Install the test-only pins the venv does not satisfy into an overlay folder."""
    needed = []
    for pin in pins:
        check = ("import sys, importlib.metadata as m\nfrom packaging.requirements import Requirement\n"
                 f"r = Requirement({pin!r})\n"
                 "try: v = m.version(r.name)\nexcept m.PackageNotFoundError: sys.exit(1)\n"
                 "sys.exit(0 if r.specifier.contains(v, prereleases=True) else 1)")
        if subprocess.run([python, "-c", check], capture_output=True).returncode != 0:
            needed.append(pin)
    if not needed:
        return None
    overlay = base / "overlay"
    cmd = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(overlay), *needed]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BadInput(f"cannot install the test pins {needed}: {_first_line(done.stderr)}")
    print(f"test-only pins in an overlay (the venv is unchanged): {', '.join(needed)}", file=sys.stderr)
    return overlay


def _env(core: Path, tmp: Path, overlay: Path | None, allow_network: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV")) and k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}
    env.update(TEST_SRCDIR=str(core.parent), TEST_TMPDIR=str(tmp), TF_CPP_MIN_LOG_LEVEL="2",
               CUDA_VISIBLE_DEVICES="-1", PYTHONDONTWRITEBYTECODE="1")
    if overlay is not None:
        env["PYTHONPATH"] = str(overlay)
    if not allow_network:
        for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            env[key] = CLOSED_PROXY
    return env


def run_file(python: str, core: Path, rel: str, base: Path, env: dict[str, str], timeout: float) -> FileResult:
    import time

    folder = base / rel.replace("/", "__").removesuffix(".py")
    (folder / "tmp").mkdir(parents=True)
    script = folder / Path(rel).name
    shutil.copyfile(core / rel, script)
    report = folder / "report.xml"
    env = dict(env, TEST_TMPDIR=str(folder / "tmp"))
    started = time.monotonic()
    try:
        done = subprocess.run([python, str(script), f"--xml_output_file={report}"], cwd=folder,
                              env=env, capture_output=True, text=True, timeout=timeout)
        stderr, code = done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        stderr, code = f"timeout after {timeout:.0f} s\n{exc.stderr or ''}", -1
    (folder / "stderr.txt").write_text(stderr if isinstance(stderr, str) else stderr.decode(errors="replace"))
    result = parse_report(report.read_text(), rel) if report.is_file() and report.stat().st_size else FileResult(rel)
    result.file, result.seconds = rel, round(time.monotonic() - started, 1)
    if code != 0 and not result.failures:  # died before or outside any test (import error, timeout)
        text = stderr if isinstance(stderr, str) else ""
        category, why = classify(text if not text.startswith("timeout") else text.splitlines()[0])
        result.errors += 1
        result.failures.append(Failure("(file)", "error", category, why, _first_line(text)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="tensorflow/examples checkout (or its model_maker/core)")
    parser.add_argument("--python", required=True, help="the Python of the venv pip-tfmac installed")
    parser.add_argument("--all", action="store_true", help="also run the excluded files")
    parser.add_argument("--files", help="comma-separated files relative to model_maker/core")
    parser.add_argument("--test-pin", action="append", dest="pins", help="test-only pin (default pillow<12)")
    parser.add_argument("--no-test-pins", action="store_true")
    parser.add_argument("--allow-network", action="store_true")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per file")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (reports, stderr)")
    args = parser.parse_args(argv)
    try:
        core = _find_core(args.checkout.resolve())
        files = [f.strip() for f in args.files.split(",")] if args.files else \
            list(SELECTED) + (sorted(EXCLUDED) if args.all else [])
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
            result = run_file(args.python, core, rel, base, env, args.timeout)
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
    return (f"{r.file:52} tests {r.tests:3}  pass {r.passed:3}  fail {r.failed:2}  error {r.errors:2}"
            f"  skip {r.skipped:2}  {r.seconds:7.1f} s")


def _summary(results: list[FileResult], installed: str, out: Path | None) -> int:
    totals = {k: sum(getattr(r, k) for r in results) for k in ("tests", "passed", "failed", "errors", "skipped")}
    by_category: dict[str, int] = {}
    for r in results:
        for f in r.failures:
            by_category[f.category] = by_category.get(f.category, 0) + 1
    print(f"total: {len(results)} files, " + ", ".join(f"{k} {v}" for k, v in totals.items())
          + "; failures by cause: " + (", ".join(f"{k} {v}" for k, v in sorted(by_category.items())) or "none"))
    if out is not None:
        out.write_text(json.dumps({"installed": installed, "totals": totals, "by_category": by_category,
                                   "files": [asdict(r) for r in results]}, indent=1) + "\n")
    return 1 if by_category.get("install") or by_category.get("unclassified") else 0


if __name__ == "__main__":
    sys.exit(main())
