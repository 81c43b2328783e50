"""Doctor's checks as a pure function of plain values: machine facts, installed
distributions, `pip check` lines, and the project's real knowledge files.

Environments here are described, not built: each MachineFacts stands in for a machine these
tests cannot run on (an Apple Silicon Mac, a Rosetta process, a conda env); the metal pairs and
Python wheel lists come from knowledge/*.toml through knowledge.py, as in production.
"""

from __future__ import annotations

import pytest
from packaging.tags import Tag

from pip_tfmac.commands import render_doctor
from pip_tfmac.core import doctor_model as doctor_fixes
from pip_tfmac.core import doctor_model
from pip_tfmac.core import doctor_rules
from pip_tfmac.core import wheel_tags
from pip_tfmac.core import knowledge
from pip_tfmac.knowledge import load as load_knowledge
from pip_tfmac.core.doctor_model import Distribution, Environment, Finding
from pip_tfmac.errors import ExitCode
from pip_tfmac.core.verify_report import MachineFacts

MAC = MachineFacts(
    sys_platform="darwin",
    machine="arm64",
    python_version="3.11.9",
    executable="/Users/me/venv/bin/python",
    macos_version="14.5",
    rosetta=False,
    arm64_hardware=True,
)
LINUX = MachineFacts(
    sys_platform="linux", machine="x86_64", python_version="3.11.7", executable="/v/bin/python"
)


def tf(version: str, name: str = "tensorflow", tag: str = "cp311-cp311-macosx_12_0_arm64"):
    return Distribution(name, version, (tag,), top_level=("tensorflow",))


def dist(name: str, version: str, *requires: str, tag: str = "py3-none-any") -> Distribution:
    return Distribution(name, version, (tag,), tuple(requires), (name.replace("-", "_"),))


def metal(version: str) -> Distribution:
    return dist("tensorflow-metal", version, tag="cp311-cp311-macosx_12_0_arm64")


def check(facts: MachineFacts, *dists: Distribution, pip_check: tuple[str, ...] = ()):
    return doctor_rules.diagnose(Environment(facts.executable, facts, dists), pip_check, load_knowledge())


def ids(findings: tuple[Finding, ...]) -> list[str]:
    return [f.id for f in findings]


def one(findings: tuple[Finding, ...], id_: str) -> Finding:
    found = [f for f in findings if f.id == id_]
    assert len(found) == 1, ids(findings)
    return found[0]


def test_healthy_mac_environment_has_no_findings() -> None:
    assert check(MAC, tf("2.15.1"), metal("1.1.0"), dist("numpy", "1.26.4")) == ()


def test_rosetta_python_is_an_error_with_the_arm64_fix() -> None:
    rosetta = MachineFacts(**{**MAC.__dict__, "machine": "x86_64", "rosetta": True})
    finding = one(check(rosetta, tf("2.15.1", tag="cp311-cp311-macosx_10_15_x86_64")), "rosetta")
    assert finding.severity == doctor_model.ERROR
    assert "sysctl.proc_translated" in finding.message
    assert "arm64 Python" in finding.fix
    assert finding.action is None  # an interpreter is never replaced for the user


def test_macos_too_old_for_the_plugin() -> None:
    old = MachineFacts(**{**MAC.__dict__, "macos_version": "12.0"})
    finding = one(check(old, tf("2.15.1"), metal("1.1.0")), "macos-too-old")
    assert finding.severity == doctor_model.ERROR
    assert "12.1" in finding.message  # the pair's own minimum, from the knowledge file
    assert (
        check(
            MachineFacts(**{**MAC.__dict__, "macos_version": "12.1"}), tf("2.15.1"), metal("1.1.0")
        )
        == ()
    )


def test_python_without_a_metal_wheel() -> None:
    py313 = MachineFacts(**{**MAC.__dict__, "python_version": "3.13.0"})
    finding = one(
        check(py313, tf("2.20.0", tag="cp313-cp313-macosx_12_0_arm64")), "python-without-metal"
    )
    assert finding.severity == doctor_model.WARNING
    assert "3.13" in finding.message
    assert "3.12" in finding.fix  # the newest Python the knowledge lists a metal wheel for


def test_both_tensorflow_and_tensorflow_macos_owning_the_package() -> None:
    findings = check(MAC, tf("2.15.1"), tf("2.15.1", name="tensorflow-macos"), metal("1.1.0"))
    finding = one(findings, "mixed-tensorflow")
    assert finding.severity == doctor_model.ERROR
    assert finding.action is not None
    assert set(finding.action.removes) == {"tensorflow", "tensorflow-macos"}
    assert finding.action.steps[-1] == ("install", "tensorflow==2.15.1")  # provider for >=2.13
    plan = render_doctor.render_plan(findings)
    assert "REMOVES tensorflow-macos (not reinstalled)" in plan
    assert "REMOVES tensorflow (step 2 installs it again)" in plan


def test_old_tensorflow_macos_is_reinstalled_as_tensorflow_macos() -> None:
    findings = check(MAC, tf("2.12.0", name="tensorflow-macos"), tf("2.12.0", name="tensorflow"))
    finding = one(findings, "mixed-tensorflow")
    assert finding.action is not None
    assert finding.action.steps[-1] == ("install", "tensorflow-macos==2.12.0")


def test_tensorflow_macos_redirect_without_files_is_not_a_mix() -> None:
    shim = Distribution("tensorflow-macos", "2.16.2", ("py3-none-any",), ("tensorflow==2.16.2",))
    assert "mixed-tensorflow" not in ids(check(MAC, tf("2.16.2"), shim, metal("1.1.0")))


@pytest.mark.parametrize(
    ("tf_version", "metal_version", "severity", "fixed_to"),
    [
        ("2.18.1", "1.1.0", doctor_model.ERROR, "1.2.0"),  # known broken (#81987)
        ("2.15.1", "1.0.1", doctor_model.ERROR, "1.1.0"),  # no rule pairs them; link-broken
        # Changed with the link verdicts (issue 12): 1.1.0 links with 2.13.1 (was "not a pair
        # it was built for", an error) and a verified 1.0.1 exists: a warning with the fix.
        ("2.13.1", "1.1.0", doctor_model.WARNING, "1.0.1"),
        # 1.2.0 with 2.19.0 was unverified (a warning); it is link-checked, the best evidence
        # for 2.19: said as info, nothing to fix.
        ("2.19.0", "1.2.0", doctor_model.INFO, None),
        ("2.20.0", "1.2.0", doctor_model.ERROR, None),  # link-broken, nothing links with 2.20
    ],
)
def test_metal_pairing(tf_version: str, metal_version: str, severity: str, fixed_to) -> None:
    finding = one(check(MAC, tf(tf_version), metal(metal_version)), "metal-pairing")
    assert finding.severity == severity
    if fixed_to:
        assert finding.action is not None
        assert finding.action.steps == (("install", f"tensorflow-metal=={fixed_to}"),)
    elif severity == doctor_model.INFO:
        assert finding.action is None and "link-checked from the wheels" in finding.message
    else:
        assert finding.action is None
        assert "uninstall tensorflow-metal" in finding.fix


def test_metal_pairing_comes_from_the_knowledge_files() -> None:
    """Doctor holds no version pairs: a different knowledge answer changes its verdict."""
    real = load_knowledge()
    verified = [
        knowledge.MetalPair(p.tensorflow, p.metal, p.min_macos, knowledge.VERIFIED, "", "", "")
        for p in real.metal_pairs
    ]
    # Without link verdicts too: a link-broken verdict overrides a curated `verified`.
    trusting = knowledge.Knowledge(**{**real.__dict__, "metal_pairs": tuple(verified), "links": None})
    env = Environment("py", MAC, (tf("2.18.1"), metal("1.1.0")))
    assert "metal-pairing" in ids(doctor_rules.diagnose(env, (), real))
    assert "metal-pairing" not in ids(doctor_rules.diagnose(env, (), trusting))


def test_tensorflow_without_metal_on_apple_silicon() -> None:
    finding = one(check(MAC, tf("2.15.1")), "metal-missing")
    assert finding.action is not None
    assert finding.action.steps == (("install", "tensorflow-metal==1.1.0"),)
    # tensorflow-cpu is a request for no GPU: nothing to say.
    assert check(MAC, tf("2.15.1", name="tensorflow-cpu")) == ()


def test_metal_without_tensorflow() -> None:
    assert ids(check(MAC, metal("1.1.0"))) == ["metal-without-tensorflow"]


def test_no_metal_findings_off_the_mac() -> None:
    assert check(LINUX, tf("2.15.1", tag="cp311-cp311-manylinux_2_17_x86_64")) == ()


@pytest.mark.parametrize(
    ("tag", "facts", "ok"),
    [
        ("cp311-cp311-macosx_11_0_arm64", MAC, True),
        ("cp311-cp311-macosx_10_9_universal2", MAC, True),
        ("cp311-cp311-macosx_10_9_x86_64", MAC, False),
        ("cp311-cp311-macosx_15_0_arm64", MAC, False),  # needs a newer macOS than 14.5
        ("cp310-cp310-macosx_11_0_arm64", MAC, False),  # another Python's extension
        ("cp37-abi3-macosx_11_0_arm64", MAC, True),
        ("py3-none-any", MAC, True),
        ("cp311-cp311-manylinux_2_17_x86_64", MAC, False),
        ("cp311-cp311-manylinux_2_17_x86_64", LINUX, True),
        ("cp311-cp311-manylinux_2_17_aarch64", LINUX, False),
        ("cp311-cp311-win_amd64", LINUX, False),
    ],
)
def test_tag_matches(tag: str, facts: MachineFacts, ok: bool) -> None:
    interpreter, abi, platform = tag.split("-")
    assert wheel_tags.tag_matches(Tag(interpreter, abi, platform), facts) is ok


def test_x86_64_wheel_in_an_arm64_env() -> None:
    numpy = dist("numpy", "1.26.4", tag="cp311-cp311-macosx_10_9_x86_64")
    finding = one(check(MAC, tf("2.15.1"), metal("1.1.0"), numpy), "foreign-wheel")
    assert "macosx_10_9_x86_64" in finding.message
    assert finding.action is not None
    assert finding.action.steps == (("install", "--force-reinstall", "--no-deps", "numpy==1.26.4"),)


def test_conda_env_with_tensorflow_deps() -> None:
    conda = MachineFacts(
        **{**MAC.__dict__, "conda": True, "conda_packages": ("python", "tensorflow-deps")}
    )
    finding = one(check(conda, tf("2.15.1"), metal("1.1.0")), "conda-tensorflow-deps")
    assert finding.severity == doctor_model.ERROR
    assert "conda remove tensorflow-deps" in finding.fix
    assert finding.action is None  # conda packages are never changed for the user


def test_keras3_with_a_package_that_needs_tf_keras() -> None:
    base = (
        tf("2.16.2"),
        metal("1.1.0"),
        dist("keras", "3.3.3"),
        dist("tf-models", "2.16.0", "tf-keras>=2.16"),
    )
    finding = one(check(MAC, *base), "keras3-needs-tf-keras")
    assert finding.severity == doctor_model.ERROR
    assert finding.action is not None
    assert finding.action.steps == (("install", "tf-keras==2.16.*"),)  # same minor (knowledge)
    # pip check says the same thing; it is not reported twice.
    twice = check(
        MAC, *base, pip_check=("tf-models 2.16.0 requires tf-keras, which is not installed.",)
    )
    assert ids(twice).count("keras3-needs-tf-keras") == 1 and "pip-check" not in ids(twice)


def test_keras3_with_tf_keras_installed_needs_the_legacy_switch() -> None:
    installed = (
        tf("2.16.2"),
        metal("1.1.0"),
        dist("keras", "3.3.3"),
        dist("tf-keras", "2.16.0"),
        dist("hub", "1.0", "keras<3"),
    )
    finding = one(check(MAC, *installed), "keras3-needs-tf-keras")
    assert finding.severity == doctor_model.WARNING and "TF_USE_LEGACY_KERAS=1" in finding.fix
    legacy = MachineFacts(**{**MAC.__dict__, "env": (("TF_USE_LEGACY_KERAS", "1"),)})
    assert check(legacy, *installed) == ()


def test_keras2_era_is_not_flagged() -> None:
    assert (
        check(MAC, tf("2.15.1"), metal("1.1.0"), dist("keras", "2.15.0"), dist("x", "1", "keras<3"))
        == ()
    )


def test_pip_check_lines_become_findings_with_a_pinned_fix() -> None:
    line = "tensorflow 2.15.1 has requirement numpy<2.0.0,>=1.23.5, but you have numpy 2.1.0."
    finding = one(check(MAC, tf("2.15.1"), metal("1.1.0"), pip_check=(line,)), "pip-check")
    assert line in finding.message
    assert finding.action is not None
    assert finding.action.steps == (("install", "numpy<2.0.0,>=1.23.5"),)


def test_pip_check_platform_line_is_not_repeated_for_a_foreign_wheel() -> None:
    numpy = dist("numpy", "1.26.4", tag="cp311-cp311-macosx_10_9_x86_64")
    findings = check(
        MAC,
        tf("2.15.1"),
        metal("1.1.0"),
        numpy,
        pip_check=("numpy 1.26.4 is not supported on this platform",),
    )
    assert ids(findings) == ["foreign-wheel"]


def test_exit_code_is_zero_only_without_problems() -> None:
    clean = doctor_model.DoctorReport("py", MAC, ())
    info = doctor_model.DoctorReport("py", MAC, (Finding("x", doctor_model.INFO, "fyi", ""),))
    warn = doctor_model.DoctorReport("py", MAC, (Finding("x", doctor_model.WARNING, "hm", ""),))
    assert clean.exit_code == info.exit_code == ExitCode.OK
    assert warn.exit_code == ExitCode.DOCTOR_FINDINGS == 71
    assert warn.to_json()["ok"] is False and warn.to_json()["version"] == 1


def test_plan_removes_first_and_installs_in_one_pip_run() -> None:
    findings = check(
        MAC,
        tf("2.15.1"),
        tf("2.15.1", name="tensorflow-macos"),
        dist("numpy", "1.26.4", tag="cp311-cp311-macosx_10_9_x86_64"),
        dist("h5py", "3.10.0", tag="cp311-cp311-macosx_10_9_x86_64"),
        pip_check=("a 1.0 requires b>=2, which is not installed.",),
    )
    steps = doctor_fixes.planned_steps(findings)
    assert steps[0].args[:2] == ("uninstall", "-y") and steps[0].removes
    plain = [s for s in steps if s.args[0] == "install" and "--force-reinstall" not in s.args]
    assert len(plain) == 1
    assert {"tensorflow==2.15.1", "tensorflow-metal==1.1.0", "b>=2"} <= set(plain[0].args)
    forced = [s for s in steps if "--force-reinstall" in s.args]
    assert len(forced) == 1 and {"numpy==1.26.4", "h5py==3.10.0"} <= set(forced[0].args)


def test_doctor_reports_the_shim_on_as_info_and_stale_with_its_repair() -> None:
    from pip_tfmac.core.doctor_rules import shim_findings

    assert shim_findings("off", "pip-tfmac shim off", "/v/bin/python") == []
    (on,) = shim_findings("on", "pip-tfmac shim on: bin/pip, python -m pip", "/v/bin/python")
    assert (on.id, on.severity, on.is_problem) == ("shim", "info", False)
    (stale,) = shim_findings("stale", "pip-tfmac shim stale: pip 23.3 is unsupported", "/v/bin/python")
    assert stale.is_problem and "shim enable --python /v/bin/python" in stale.fix
