"""Self-heal after an install (issue 12 part 6): a plugin this install added that breaks
`import tensorflow` is removed, TensorFlow is checked on the CPU, exit 77.

The decision is tested with plain values; the flow for real, with the fake-plugin seam of
test_verify_probe.py: a throwaway venv holding the stand-in `tensorflow` (FAKE_TF) whose import
fails with dyld's "Symbol not found" naming libmetal_plugin.dylib while the plugin file exists
(what a tensorflow-metal that does not link with its TensorFlow does on a Mac), and a
tensorflow-metal "install" (dist-info with a RECORD, so the real `pip uninstall` removes it).
macOS facts are injected through PIP_TFMAC_PROBE_FACTS. The uninstall is pip's own, run from
this suite's venv with `--python` aimed at the throwaway venv (runners/pip.base_argv).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from pip_tfmac.commands.render_verify import render_heal
from pip_tfmac.core import selfheal
from pip_tfmac.core.errors import ExitCode
from pip_tfmac.core.verify_report import IMPORT_FAILED, NO_GPU, Diagnosis, VerifyReport
from pip_tfmac.flows import verify
from pip_tfmac.flows.install import InstallOutcome, exit_code
from pip_tfmac.flows.selfheal import heal_after_install
from test_verify_probe import MAC, _site_packages, make_env

SYMBOL_ERROR = ("NotFoundError: dlopen(/env/lib/python3.11/site-packages/tensorflow-plugins/"
                "libmetal_plugin.dylib, 0x0006): Symbol not found: __ZN3tsl8internal10LogMessageC1EPKcii")


def report(status: str = IMPORT_FAILED, error: str = SYMBOL_ERROR, metal: str | None = "1.1.0",
           tf: str | None = None) -> VerifyReport:
    return VerifyReport("python", status, False, Diagnosis("x"), metal_version=metal,
                        tensorflow_version=tf, import_error=error if status == IMPORT_FAILED else "")


# -- the decision (pure) ---------------------------------------------------------------------

def test_only_an_import_error_naming_the_plugin_counts() -> None:
    assert selfheal.plugin_broke_import(report())
    assert not selfheal.plugin_broke_import(report(error="ImportError: numpy.core.multiarray failed"))
    assert not selfheal.plugin_broke_import(report(status=NO_GPU, tf="2.18.1"))


@pytest.mark.parametrize(("before", "remove"), [
    ({}, True),  # added by this install
    ({"tensorflow-metal": "1.0.1"}, True),  # this install changed its version
    ({"tensorflow_metal": "1.1.0"}, False),  # the user had this very plugin: never removed
])
def test_removes_only_what_this_install_added(before: dict[str, str], remove: bool) -> None:
    plan = selfheal.decide(report(), before)
    assert plan is not None and plan.remove is remove


def test_no_plan_when_the_plugin_is_not_the_cause() -> None:
    assert selfheal.decide(report(error="ImportError: something else"), {}) is None


def test_exit_codes() -> None:
    plan = selfheal.HealPlan(True, "1.1.0", None)
    healed = selfheal.HealOutcome(plan, 0, report(status=NO_GPU, tf="2.18.1"))
    assert healed.exit_code == ExitCode.HEALED == 77
    assert selfheal.HealOutcome(plan, 0, report()).exit_code == ExitCode.VERIFY_FAILED
    assert selfheal.HealOutcome(plan, 1, None).exit_code == ExitCode.VERIFY_FAILED
    kept = selfheal.HealOutcome(selfheal.HealPlan(False, "1.1.0", "1.1.0"))
    assert kept.exit_code == ExitCode.VERIFY_FAILED and "leaves it in place" in kept.message()
    outcome = InstallOutcome(0, verify=report(), heal=healed)
    assert exit_code(outcome) == 77
    assert exit_code(InstallOutcome(0, verify=report())) == 73


# -- the flow, for real: probe, pip uninstall, probe again ------------------------------------

def add_record(py: Path, version: str) -> Path:
    """Give the fake tensorflow-metal install a RECORD (pip uninstalls by it) and INSTALLER."""
    site = _site_packages(py.parent.parent)
    info = site / f"tensorflow_metal-{version}.dist-info"
    (info / "INSTALLER").write_text("pip\n")
    rows = []
    for path in [site / "tensorflow-plugins" / "libmetal_plugin.dylib", info / "METADATA",
                 info / "INSTALLER"]:
        digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=")
        rows.append(f"{path.relative_to(site).as_posix()},sha256={digest.decode()},{path.stat().st_size}")
    rows.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    return site


@pytest.fixture
def mac_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(MAC))
    monkeypatch.setenv("PIP_TFMAC_PROBE_FACTS", str(path))


def test_plugin_added_by_the_install_is_removed_and_tf_checked_on_the_cpu(
        tmp_path: Path, mac_facts: None) -> None:
    py = make_env(tmp_path, {"crash_at_import": "symbol-if-plugin", "version": "2.18.1"}, metal="1.1.0")
    site = add_record(py, "1.1.0")
    first = verify.verify(str(py), timeout=60)
    assert first.status == IMPORT_FAILED and first.metal_version == "1.1.0"
    heal = heal_after_install(str(py), [], first, {"tensorflow": "2.17.1"}, timeout=60,
                              stdout_to_stderr=True)
    assert heal is not None and heal.plan.remove
    assert heal.uninstall_code == 0
    assert not (site / "tensorflow-plugins" / "libmetal_plugin.dylib").exists()
    assert not (site / "tensorflow_metal-1.1.0.dist-info").exists()
    assert heal.after is not None and heal.after.tensorflow_version == "2.18.1"
    assert heal.healed and heal.exit_code == 77
    text = render_heal(heal)
    assert "healed: the Metal plugin broke `import tensorflow`" in text
    assert "tensorflow-metal 1.1.0 was added by this install and was removed" in text
    assert "TensorFlow 2.18.1 imports and runs on the CPU" in text
    data = heal.to_json()
    assert data["removed"] == "tensorflow-metal" and data["exit_code"] == 77


def test_plugin_the_user_had_before_is_reported_not_removed(tmp_path: Path, mac_facts: None) -> None:
    py = make_env(tmp_path, {"crash_at_import": "symbol-if-plugin"}, metal="1.1.0")
    site = add_record(py, "1.1.0")
    first = verify.verify(str(py), timeout=60)
    heal = heal_after_install(str(py), [], first, {"tensorflow-metal": "1.1.0"}, timeout=60)
    assert heal is not None and not heal.plan.remove and heal.uninstall_code is None
    assert (site / "tensorflow-plugins" / "libmetal_plugin.dylib").exists()
    assert heal.exit_code == ExitCode.VERIFY_FAILED
    assert "was installed before this install, at this version" in heal.message()


def test_an_import_that_works_needs_no_heal(tmp_path: Path, mac_facts: None) -> None:
    py = make_env(tmp_path, {"gpus": 0}, metal="1.1.0")
    first = verify.verify(str(py), timeout=60)
    assert heal_after_install(str(py), [], first, {}, timeout=60) is None


def test_install_flow_heals_after_verify_with_what_was_installed_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """flows/install.install wires verify -> self-heal, handing over the target's `installed`
    from before the install (the plan's target probe). The install itself and the two probes
    are doubles here; the heal's own processes are tested for real above."""
    from types import SimpleNamespace

    from pip_tfmac.flows import install as install_flow

    broken = report()
    seen: dict[str, object] = {}

    def fake_heal(python, general, rep, before, *, timeout, stdout_to_stderr):
        seen.update(python=python, general=general, report=rep, before=before, json=stdout_to_stderr)
        return selfheal.HealOutcome(selfheal.HealPlan(True, "1.1.0", None), 0,
                                    report(status=NO_GPU, tf="2.18.1"))

    monkeypatch.setattr(install_flow, "fast_reinstall", lambda resolved, args: 3)
    monkeypatch.setattr(install_flow, "should_verify", lambda resolved, args: True)
    monkeypatch.setattr(install_flow, "verify", lambda python, require_gpu, timeout: broken)
    monkeypatch.setattr(install_flow, "heal_after_install", fake_heal)
    target = SimpleNamespace(installed={"tensorflow": "2.17.1"})
    resolved = SimpleNamespace(python="/env/bin/python", plan=SimpleNamespace(target=target), backend=None)
    args = SimpleNamespace(dry_run=False, general=["-q"],
                           own=SimpleNamespace(require_gpu=False, verify_timeout=5.0, json=True))
    outcome = install_flow.install(resolved, args)  # type: ignore[arg-type]
    assert seen == {"python": "/env/bin/python", "general": ["-q"], "report": broken,
                    "before": {"tensorflow": "2.17.1"}, "json": True}
    assert outcome.heal is not None and exit_code(outcome) == 77
