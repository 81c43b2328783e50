"""Self-heal after an install (issue 12 part 6): when the verify probe finds that
`import tensorflow` fails because of the Metal plugin this very install added, the plugin is
removed and TensorFlow is checked again on the CPU.

Why only then: a plugin that does not link with the TensorFlow beside it breaks `import
tensorflow` itself (TensorFlow dlopens every library in tensorflow-plugins/ with RTLD_NOW), so
the user is left with an environment where nothing runs, although the install "succeeded".
Removing what the install just added restores a working (CPU) TensorFlow. What the user had
before is never removed: a plugin already installed at the same version is reported, not
touched. The decision and the wording are here (pure); flows/selfheal.py runs pip and the probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from packaging.utils import canonicalize_name

from pip_tfmac.core.errors import ExitCode
from pip_tfmac.core.verify_report import CRASHED, IMPORT_FAILED, PROBE_ERROR, TIMEOUT, VerifyReport

METAL = "tensorflow-metal"
# How a dyld or TensorFlow error names the plugin: the library, or the folder TF loads it from.
PLUGIN_MARKERS = ("libmetal_plugin", "tensorflow-plugins")


def plugin_broke_import(report: VerifyReport) -> bool:
    """Did `import tensorflow` raise an error that names the Metal plugin library?"""
    if report.status != IMPORT_FAILED:
        return False
    text = report.import_error.lower()
    return any(marker in text for marker in PLUGIN_MARKERS)


@dataclass(frozen=True)
class HealPlan:
    """What to do about a plugin that broke the import: remove it (this install added it, or
    changed its version), or leave it (the user had this very version before)."""

    remove: bool
    metal_version: Optional[str]
    before_version: Optional[str]

    def reason(self) -> str:
        now = f"tensorflow-metal {self.metal_version or '(unknown version)'}"
        if not self.remove:
            return (f"{now} was installed before this install, at this version: pip-tfmac leaves "
                    "it in place")
        if self.before_version is None:
            return f"{now} was added by this install"
        return f"{now} replaced tensorflow-metal {self.before_version} in this install"


def decide(report: VerifyReport, before: Mapping[str, str]) -> Optional[HealPlan]:
    """None unless the plugin broke `import tensorflow`; else whether to remove it.

    `before` maps the family distributions installed before the install (the target probe's
    `installed`) to their versions."""
    if not plugin_broke_import(report):
        return None
    had = {canonicalize_name(k): v for k, v in before.items()}.get(canonicalize_name(METAL))
    now = report.metal_version
    same = had is not None and (now is None or had == now)
    return HealPlan(remove=not same, metal_version=now, before_version=had)


def cpu_imports(report: VerifyReport) -> bool:
    """Does TensorFlow import (whatever the device)? The check after the plugin is removed."""
    return report.tensorflow_version is not None and report.status not in (
        IMPORT_FAILED, CRASHED, TIMEOUT, PROBE_ERROR)


@dataclass(frozen=True)
class HealOutcome:
    """What the self-heal did: the plan, pip's uninstall exit code, and the probe after it."""

    plan: HealPlan
    uninstall_code: Optional[int] = None  # None: nothing was uninstalled
    after: Optional[VerifyReport] = None

    @property
    def healed(self) -> bool:
        return self.uninstall_code == 0 and self.after is not None and cpu_imports(self.after)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.HEALED if self.healed else ExitCode.VERIFY_FAILED

    def message(self) -> str:
        """One paragraph: what broke, what pip-tfmac did, and what the user has now."""
        broke = "the Metal plugin broke `import tensorflow`"
        if not self.plan.remove:
            return (f"{broke}; {self.plan.reason()}. `pip uninstall tensorflow-metal` runs "
                    "TensorFlow on the CPU; `pip-tfmac doctor` names the plugin that matches.")
        if self.uninstall_code != 0:
            return (f"{broke}; {self.plan.reason()}, and `pip uninstall -y tensorflow-metal` "
                    f"failed (exit {self.uninstall_code}): remove it by hand.")
        restore = (f" (`pip install tensorflow-metal=={self.plan.before_version}` puts back the "
                   "one you had)" if self.plan.before_version else "")
        if self.after is None or not cpu_imports(self.after):
            return (f"{broke}; {self.plan.reason()} and was removed, but TensorFlow still does "
                    f"not import: run `pip-tfmac doctor`{restore}.")
        return (f"healed: {broke}; {self.plan.reason()} and was removed (pip uninstall -y "
                f"tensorflow-metal). TensorFlow {self.after.tensorflow_version} imports and runs "
                f"on the CPU{restore}; `pip-tfmac doctor` names the plugin that matches.")

    def to_json(self) -> dict[str, Any]:
        return {
            "removed": METAL if self.plan.remove and self.uninstall_code == 0 else None,
            "tensorflow_metal_version": self.plan.metal_version,
            "installed_before": self.plan.before_version,
            "uninstall_exit_code": self.uninstall_code,
            "healed": self.healed,
            "exit_code": int(self.exit_code),
            "message": self.message(),
            "after": self.after.to_json() if self.after is not None else None,
        }
