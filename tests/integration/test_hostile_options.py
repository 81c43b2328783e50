"""Hostile input, second table (issue 13): option values, input files by URL, interpreters that are
no usable Python, targets that cannot be changed, a full temp disk, odd markers on the planned
path. Same contract as test_hostile_input.py (whose World, Case and checker this file reuses):
the exit code, the message's key words, one `pip-tfmac: error:` with a hint for our own errors,
pip's own output for what pip-tfmac hands to pip, no traceback, and the target's freeze, file list
and pip-check verdict unchanged.

The option cases install real local wheels (tinya 2.0 over the installed 1.0) when the value is
not refused first: a value checked only after the install would show as a changed environment.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import tool_command
from hostile_world import (  # noqa: F401  (world: the shared module fixture)
    MACS,
    NI,
    PIP,
    REPORT,
    Case,
    World,
    c,
    externally_managed_python,
    read_only_site_packages,
    check_case,
    world,
)

PY36 = "/root/.pyenv/versions/3.6.15/bin/python"
PY27 = "/root/.pyenv/versions/2.7.18/bin/python"
PY37 = "/root/.pyenv/versions/3.7.16/bin/python"
URL = "http://127.0.0.1:9"  # the discard port: connection refused at once
UPGRADE = f"install {NI} tinya==2.0"  # would change the target if the option were not refused first
NOT_PY = r"is not a Python interpreter"


def _files(world: World) -> None:
    files = world.files
    if (files / "prints-text").exists():
        return
    for name, body in (("prints-text", "echo hello text"), ("exits-3", "exit 3"), ("prints-list", "echo '[]'")):
        (files / name).write_text(f"#!/bin/sh\n{body}\n")
        (files / name).chmod(0o755)
    (files / "triple-eq.txt").write_text('tensorflow==2.12.0; os_name === "posix"\n')
    (files / "nested-url.txt").write_text(f"-r {URL}/nested.txt\ntensorflow\n")
    (files / "binary.txt").write_bytes(bytes(range(128, 256)) * 4)
    (files / "facts-bad.json").write_text("{not json")


def _py(path: str) -> None:
    if not os.path.exists(path):
        pytest.skip(f"{path} is not installed here (pyenv)")


CASES = [
    # option values: refused before pip runs (64), however the request is routed
    c("verify-timeout-nan-plain", f"{UPGRADE} --verify-timeout nan", 64, "not a number of seconds above zero",
      bug="install --verify-timeout nan went to pip (installed) and the value was never checked"),
    c("verify-timeout-negative-plain", f"{UPGRADE} --verify-timeout -5", 64, "above zero"),
    c("verify-timeout-inf-plain", f"{UPGRADE} --verify-timeout inf", 64, "above zero"),
    c("verify-timeout-minus-inf", f"{UPGRADE} --verify-timeout=-inf", 64, "above zero"),
    c("verify-timeout-zero", f"{UPGRADE} --verify-timeout 0", 64, "above zero"),
    c("verify-timeout-1e999", f"{UPGRADE} --verify-timeout 1e999", 64, "above zero"),
    c("verify-timeout-empty", f"{UPGRADE} --verify-timeout=", 64, "not a number of seconds"),
    c("verify-timeout-nan-family", "install --no-index tensorflow --verify-timeout nan", 64, "above zero"),
    c("verify-timeout-nan-plan", f"plan {MACS} tensorflow --verify-timeout NaN", 64, "above zero"),
    c("verify-timeout-nan-download", "download --no-index -d dl tinya --verify-timeout nan", 64, "above zero"),
    c("macos-version-abc-plain", f"{UPGRADE} --macos-version abc", 64, "'abc' is not a macOS version",
      bug="a bad --macos-version was ignored by a request that never plans, and pip installed"),
    c("macos-version-10-plain", f"{UPGRADE} --macos-version 10.15", 64, "not a macOS version"),
    c("macos-version-dotted-junk", f"plan {MACS} --macos-version 14.x tensorflow", 64, "not a macOS version"),
    c("macos-version-empty", f"plan {MACS} --macos-version= tensorflow", 64, "not a macOS version"),
    c("cache-dir-file-plain", f"{UPGRADE} --tfmac-cache-dir {{wheels}}/tinya-1.0-py3-none-any.whl", 69,
      "is a file, not a folder", bug="a cache dir that is a file was accepted when the request did not plan"),
    c("cache-dir-empty", f"{UPGRADE} --tfmac-cache-dir=", 64, "needs a folder"),
    c("verify-timeout-option-nan", "verify --timeout nan", 64, "must be positive",
      bug="verify --timeout nan was an internal error (75: cannot convert float NaN to integer)"),
    c("verify-timeout-option-inf", "verify --timeout inf", 64, "must be positive"),
    c("verify-timeout-option-negative", "verify --timeout=-1", 64, "must be positive"),
    c("doctor-timeout-nan", "doctor --timeout nan", 64, "must be positive"),
    c("probe-facts-missing", "plan --no-index tensorflow", 65, "PIP_TFMAC_PROBE_FACTS",
      env=(("PIP_TFMAC_PROBE_FACTS", "/nonexistent/facts.json"),)),
    c("probe-facts-not-json", "plan --no-index tensorflow", 65, "cannot be read",
      env=(("PIP_TFMAC_PROBE_FACTS", "facts-bad.json"),)),
    # requirement files by URL and odd files on the planned path: 65, never 75
    c("plan-r-unreachable-url", f"plan {MACS} -r {URL}/reqs.txt", 65, "cannot fetch requirements file",
      bug="-r of an unreachable URL was an internal error (75: ConnectionFailedError)"),
    c("plan-c-unreachable-url", f"plan {MACS} -c {URL}/c.txt tensorflow", 65, "cannot fetch"),
    c("install-r-unreachable-url-own", f"install --no-verify -r {URL}/reqs.txt", 65, "cannot fetch"),
    c("install-r-unreachable-url-pip", f"install -r {URL}/reqs.txt --retries 0", 1, "127.0.0.1", PIP),
    c("plan-nested-unreachable-url", f"plan {MACS} -r nested-url.txt", 65, "cannot fetch"),
    c("plan-binary-file", f"plan {MACS} -r binary.txt", 65, "not valid text"),
    c("plan-file-missing-own", "install --no-verify -r missing.txt", 65, "does not exist"),
    c("plan-triple-equals-marker-file", f"plan {MACS} -r triple-eq.txt", 65, "==="),
    c("plan-triple-equals-marker", f"plan {MACS} 'tensorflow; os_name === \"posix\"'", 65, "==="),
    c("install-triple-equals-own", "install --no-verify 'tinya==2.0; os_name === \"posix\"'", 65, "==="),
    c("plan-open-marker", f"plan {MACS} 'tensorflow==2.12.0; python_version >'", 65, "python_version >"),
    c("plan-open-extra", f"plan {MACS} 'tensorflow[and-cuda'", 65, "tensorflow\\[and-cuda"),
    c("plan-empty-url", f"plan {MACS} 'tensorflow @ '", 65, "tensorflow @"),
    c("python-version-junk", "plan --platform macos-arm64 --python-version 3.x tensorflow", 64, "python-version"),
    # interpreters that are no usable Python: one line, no embedded traceback
    c("plan-python-prints-text", "--python prints-text plan tensorflow-metal", 65, NOT_PY,
      bug="a --python that prints text was an internal error (75: JSONDecodeError)"),
    c("install-python-prints-text", "--python prints-text install --no-verify tensorflow", 65, NOT_PY),
    c("plan-python-exits-3", "--python exits-3 plan tensorflow-metal", 65, NOT_PY),
    c("plan-python-prints-list", "--python prints-list plan tensorflow", 65, NOT_PY),
    c("plan-python-dir-no-python", "--python adir plan tensorflow", 65, "no Python interpreter there"),
    c("verify-python-prints-text", "verify --python prints-text", 65, NOT_PY,
      bug="verify of a non-Python said 'the probe exited with status 0' (73)"),
    c("doctor-python-prints-text", "doctor --python prints-text", 65, NOT_PY),
    c("plan-python-3.6", f"--python {PY36} plan tensorflow-metal", 66, "is Python 3.6",
      bug="--python of a Python 3.6 embedded the probe's ImportError traceback in the message"),
    c("install-python-3.6", f"--python {PY36} install --no-index tensorflow", 66, "is Python 3.6"),
    c("verify-python-3.6", f"verify --python {PY36}", 66, "is Python 3.6"),
    c("doctor-python-3.6", f"doctor --python {PY36}", 66, "is Python 3.6",
      bug="doctor --python 3.6 showed a SyntaxError traceback and exit 73"),
    c("plan-python-2.7", f"--python {PY27} plan tensorflow", 66, "is Python 2.7"),
    c("verify-python-2.7", f"verify --python {PY27}", 66, "is Python 2.7"),
    # targets that cannot be changed: 74 before anything runs (README "Exit codes")
    c("managed-family", "--python {managed} install --no-index tensorflow", 74, "PEP 668",
      setup=externally_managed_python, managed=True),
    c("managed-own-option", "--python {managed} install --no-verify " + NI + " tinya", 74, "PEP 668",
      setup=externally_managed_python, managed=True),
    c("managed-dry-run", "--python {managed} install --dry-run " + NI + " tinya", 1,
      "externally-managed-environment", PIP, setup=externally_managed_python, managed=True),
    c("managed-any-road-off", "--python {managed} install " + NI + " tinya", 1,
      "externally-managed-environment", PIP, setup=externally_managed_python, managed=True,
      env=(("PIP_TFMAC_ANY_ROAD", "0"),)),
    c("read-only-family", "install --no-index tensorflow", 74, "is not writable", setup=read_only_site_packages),
    c("read-only-own-option", f"install --no-verify {NI} tinya==2.0", 74, "is not writable",
      setup=read_only_site_packages),
    c("read-only-dry-run", f"install --dry-run {NI} tinya==2.0", 0, "", PIP, setup=read_only_site_packages),
    # more of the same classes
    c("verify-timeout-option-empty", "verify --timeout=", 64, "invalid float value"),
    c("verify-timeout-abc-plan", f"plan {MACS} tensorflow --verify-timeout=abc", 64, "not a number of seconds"),
    c("macos-version-9-plain", f"{UPGRADE} --macos-version 9", 64, "not a macOS version"),
    c("macos-version-blank-plain", f"{UPGRADE} '--macos-version= '", 64, "not a macOS version"),
    c("macos-version-abc-download", "download --no-index -d dl tinya --macos-version abc", 64, "not a macOS version"),
    c("cache-dir-empty-plan", f"plan {MACS} tensorflow --tfmac-cache-dir=", 64, "needs a folder"),
    c("install-c-unreachable-url-own", f"install --no-verify -c {URL}/c.txt tinya", 65, "cannot fetch"),
    c("plan-file-url-missing", f"plan {MACS} -r file:///nonexistent/reqs.txt", 65, "does not exist|cannot read"),
    c("plan-python-3.7", f"--python {PY37} plan tensorflow-metal", 66, "is Python 3.7"),
    # (verify's probe itself runs on 3.7: its truthful verdict, no traceback)
    c("verify-python-3.7", f"verify --python {PY37}", 73, "TensorFlow is not installed", REPORT, remedy=r"Fix\s+\S"),
    c("doctor-python-3.7", f"doctor --python {PY37}", 66, "is Python 3.7"),
    c("install-python-2.7", f"--python {PY27} install --no-index tensorflow", 66, "is Python 2.7"),
    c("install-python-exits-3", "--python exits-3 install --no-verify tensorflow", 65, NOT_PY),
    c("managed-user", "--python {managed} install --no-verify --user " + NI + " tinya", 74, "PEP 668",
      setup=externally_managed_python, managed=True),
    # the wheelhouse named by the environment, and by the maintenance command
    c("cache-env-is-a-file", f"{UPGRADE} --no-verify", 69, "is a file, not a folder",
      env=(("PIP_TFMAC_CACHE_DIR", "{wheels}/tinya-1.0-py3-none-any.whl"),)),
    c("wheelhouse-list-cache-is-a-file", "wheelhouse list --tfmac-cache-dir {wheels}/tinya-1.0-py3-none-any.whl",
      69, "cannot be used|not a folder"),
]


@pytest.mark.parametrize("case", [pytest.param(x, id=x.id) for x in CASES])
def test_bad_option_or_target(world: World, case: Case) -> None:
    _files(world)
    for path in (PY27, PY36, PY37):
        if path in case.argv or any(path in a for a in case.argv):
            _py(path)
    setup = case.setup
    if case.env:
        # Values may name world paths ({tiny}): known only once the setup ran.
        @contextlib.contextmanager
        def formatted(w: World) -> Iterator[None]:
            with (setup(w) if setup else contextlib.nullcontext()):
                object.__setattr__(case_now, "env", tuple((k, w.fmt(v)) for k, v in case.env))
                yield
        case_now = replace(case, setup=formatted)
        check_case(world, case_now)
    else:
        check_case(world, case)


def test_the_second_table_is_large_enough() -> None:
    assert len(CASES) >= 40 and len({x.id for x in CASES}) == len(CASES)


# --- a closed output pipe: quiet, exit 141 ------------------------------------------------


@pytest.mark.parametrize("argv", [["doctor"], ["verify"], ["--help"], ["doctor", "--json"]])
def test_closed_pipe_ends_quietly(world: World, argv: list[str]) -> None:
    proc = subprocess.Popen([*tool_command(), *argv], env=world.env, cwd=world.files,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader goes away before the first line, as `| head -0` would
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = proc.wait(timeout=120)
    assert err == "" and code == 141, (code, err)


# --- leftovers of killed runs in the temp dir ---------------------------------------------


def test_stale_temp_entries_of_dead_runs_are_swept(world: World, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    dead = subprocess.run(["true"], check=True)  # noqa: F841  (a pid that is gone)
    old = 1_000_000_000  # 2001: older than any limit
    gone = tmp / "pip-tfmac-plan-p999999-abc"
    (gone / "sub").mkdir(parents=True)
    (gone / "sub" / "f").write_text("x")
    report = tmp / "pip-tfmac-report-p999999-x.json"
    report.write_text("{}")
    live = tmp / f"pip-tfmac-plan-p{os.getpid()}-live"  # this test's own pid: alive
    live.mkdir()
    fresh = tmp / "pip-tfmac-plan-p999998-fresh"  # dead but recent: maybe just created
    fresh.mkdir()
    other = tmp / "pip-tfmac-cache-keep"  # not one of ours by name
    other.mkdir()
    for path in (gone, report, live, other):
        os.utime(path, (old, old))
    env = {**world.env, "TMPDIR": str(tmp)}
    result = subprocess.run([*tool_command(), "verify", "--timeout", "0"], env=env, capture_output=True, text=True)
    assert result.returncode == 64
    assert sorted(p.name for p in tmp.iterdir()) == sorted([live.name, fresh.name, other.name])
