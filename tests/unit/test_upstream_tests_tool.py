"""tools/upstream_model_maker_tests.py: how a test file that dies natively is counted.

The test files here are stand-ins for Model Maker's upstream tests, and the "oneDNN crash" is a
stand-in for TensorFlow's (an abort after printing a oneDNN stack, only while oneDNN is on):
TensorFlow itself cannot be made to crash on demand. The tool's own code runs for real: it copies
each file, runs it with this Python, reads the JUnit report, re-runs a oneDNN crash with oneDNN off.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A JUnit report as absltest writes it: one passing test, one error.
REPORT = """<?xml version="1.0"?><testsuites><testsuite name="T">
<testcase classname="__main__.T" name="test_ok"/>
<testcase classname="__main__.T" name="test_coco"><error message="ImportError: You must install
pycocotools (`pip install pycocotools`)"/></testcase></testsuite></testsuites>"""

# Writes the report when TF_ENABLE_ONEDNN_OPTS=0, else dies as TensorFlow 2.15.1 did in
# object_detector_spec_test (the frame names are those of that abort's stack).
CRASHES_WITH_ONEDNN = f"""
import os, sys
if os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
    sys.stderr.write("corrupted double-linked list\\n*** Begin stack trace ***\\n"
                     "  tensorflow::MklConvBwdFilterPrimitive<float>::~MklConvBwdFilterPrimitive()\\n"
                     "  File \\"/v/site-packages/tf_keras/src/engine/training.py\\", line 1\\n")
    sys.stderr.flush()
    os.abort()
report = [a for a in sys.argv if a.startswith("--xml_output_file=")][0].split("=", 1)[1]
open(report, "w").write({REPORT!r})
"""

# A native crash without TensorFlow on the stack: not re-run, it must be read.
CRASHES_ELSEWHERE = """
import os, sys
sys.stderr.write("Fatal Python error: Segmentation fault\\n  File tf_keras/src/x.py\\n")
sys.stderr.flush()
os.abort()
"""

# Heap corruption caught later, in TensorFlow's allocator (as with TF 2.18.1): no oneDNN frame,
# gone with oneDNN off. ALWAYS: it crashes with oneDNN off too.
CORRUPTS_LATER = """
import os, sys
if ALWAYS or os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
    sys.stderr.write("corrupted size vs. prev_size\\nFatal Python error: Aborted\\n"
                     "libtensorflow_framework.so.2(_ZN3tsl4port13AlignedMallocEmi+0x30)\\n")
    sys.stderr.flush()
    os.abort()
report = [a for a in sys.argv if a.startswith("--xml_output_file=")][0].split("=", 1)[1]
open(report, "w").write(REPORT)
"""


def _tool():
    spec = importlib.util.spec_from_file_location(
        "upstream_tool", ROOT / "tools" / "upstream_model_maker_tests.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["upstream_tool"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def core(tmp_path: Path) -> Path:
    core = tmp_path / "tensorflow_examples/lite/model_maker/core"
    (core / "task").mkdir(parents=True)
    (core / "task/onednn_test.py").write_text(textwrap.dedent(CRASHES_WITH_ONEDNN))
    (core / "task/segv_test.py").write_text(textwrap.dedent(CRASHES_ELSEWHERE))
    for name, always in (("later_test.py", False), ("always_test.py", True)):
        head = f"ALWAYS = {always}\nREPORT = {REPORT!r}\n"
        (core / "task" / name).write_text(head + textwrap.dedent(CORRUPTS_LATER))
    # TF 2.18.1 once printed only its signal handler's banner inside Python's fault handler output
    banner = textwrap.dedent(CORRUPTS_LATER).replace(
        "libtensorflow_framework.so.2(_ZN3tsl4port13AlignedMallocEmi+0x30)",
        '  File \\"/v/tensorflow/python/eager/execute.py\\", line 53 in *** Received signal 11 ***',
    )
    (core / "task/banner_test.py").write_text(f"ALWAYS = False\nREPORT = {REPORT!r}\n" + banner)
    # and once the two handlers' output interleaved: no glibc or "Segmentation fault" text left,
    # only the signal (the exit status) says it crashed
    garbled = (
        textwrap.dedent(CORRUPTS_LATER)
        .replace(
            "corrupted size vs. prev_size\\nFatal Python error: Aborted\\n", "Fatal Python error: "
        )
        .replace(
            "libtensorflow_framework.so.2(_ZN3tsl4port13AlignedMallocEmi+0x30)",
            "*** Received signal 11 ***",
        )
    )
    (core / "task/garbled_test.py").write_text(f"ALWAYS = False\nREPORT = {REPORT!r}\n" + garbled)
    return core


def _run(tool, core: Path, tmp_path: Path, rel: str):
    env = tool._env(core, tmp_path, None, allow_network=False)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    return tool.run_file(sys.executable, core, rel, tmp_path / "w", env, 60)


def test_a_onednn_crash_is_tensorflows_and_the_file_counts_from_a_rerun_with_onednn_off(
    core: Path, tmp_path: Path
):
    result = _run(_tool(), core, tmp_path, "task/onednn_test.py")
    assert (result.tests, result.passed, result.errors) == (2, 1, 1)
    crash, coco = result.failures
    assert crash.category == "tensorflow" and crash.kind == "crash"
    assert "in MklConvBwdFilterPrimitive" in crash.why and "TF_ENABLE_ONEDNN_OPTS=0" in crash.why
    assert crash.message == "corrupted double-linked list"
    assert coco.category == "upstream"  # the re-run's own failures are classified as usual
    assert (tmp_path / "w/onednn-off/task__onednn_test/report.xml").is_file()


def test_a_crash_with_onednn_already_off_is_not_rerun_and_stays_unclassified(
    core: Path, tmp_path: Path
):
    tool = _tool()
    env = dict(tool._env(core, tmp_path, None, allow_network=False), TF_ENABLE_ONEDNN_OPTS="0")
    # oneDNN off from the start: the stand-in passes, so force the crash through a fresh file
    (core / "task/onednn_test.py").write_text(
        textwrap.dedent(CRASHES_WITH_ONEDNN).replace('!= "0"', '!= "never"')
    )
    result = tool.run_file(sys.executable, core, "task/onednn_test.py", tmp_path / "w", env, 60)
    assert not (tmp_path / "w/onednn-off").exists()
    [failure] = result.failures
    assert failure.category == "unclassified" and failure.why.startswith("native crash")


def test_a_native_crash_outside_onednn_is_unclassified_not_a_keras_mixup(
    core: Path, tmp_path: Path
):
    tool = _tool()
    result = _run(tool, core, tmp_path, "task/segv_test.py")
    [failure] = result.failures
    # its Python traceback names tf_keras, which alone would read as the Keras mix-up
    assert failure.category == "unclassified"
    assert failure.why == "native crash: Fatal Python error: Segmentation fault"
    assert tool._summary([result], "x", None) == 1


def test_the_summary_does_not_count_tensorflows_crash_against_the_install(
    core: Path, tmp_path: Path, capsys
):
    tool = _tool()
    result = _run(tool, core, tmp_path, "task/onednn_test.py")
    assert tool._summary([result], "x", tmp_path / "r.json") == 0
    assert "tensorflow 1" in capsys.readouterr().out


def test_heap_corruption_caught_later_is_tensorflows_when_gone_with_onednn_off(
    core: Path, tmp_path: Path
):
    result = _run(_tool(), core, tmp_path, "task/later_test.py")
    assert (result.tests, result.passed) == (2, 1)
    crash = result.failures[0]
    assert crash.category == "tensorflow" and crash.message == "corrupted size vs. prev_size"
    assert crash.why.startswith(
        "native crash with TensorFlow's oneDNN kernels on; none in a re-run"
    )


def test_a_crash_that_stays_with_onednn_off_is_unclassified(core: Path, tmp_path: Path):
    tool = _tool()
    result = _run(tool, core, tmp_path, "task/always_test.py")
    assert (tmp_path / "w/onednn-off/task__always_test/stderr.txt").is_file()  # it was re-run
    [failure] = result.failures
    assert failure.category == "unclassified" and failure.why.startswith("native crash")
    assert tool._summary([result], "x", None) == 1


def test_a_crash_that_shows_only_tensorflows_signal_banner_is_rerun(core: Path, tmp_path: Path):
    result = _run(_tool(), core, tmp_path, "task/banner_test.py")
    assert result.failures[0].category == "tensorflow"
    assert (result.tests, result.passed) == (2, 1)


def test_a_crash_known_only_by_its_signal_is_rerun(core: Path, tmp_path: Path):
    tool = _tool()
    assert not tool.NATIVE_CRASH.search((core / "task/garbled_test.py").read_text())
    result = _run(tool, core, tmp_path, "task/garbled_test.py")
    crash = result.failures[0]
    assert crash.category == "tensorflow" and crash.message == "killed by SIGABRT"
    assert (result.tests, result.passed) == (2, 1)
