"""doctor's rule for the link check of the installed files (issue 12 part 5).

The knowledge says how a TensorFlow/tensorflow-metal pair was judged from the wheels; the link
check of the installed environment (flows/doctor.py gathers it, wheelhouse/installed_link.py
reads the files) says what dyld will find on this machine. When the installed plugin imports a
symbol no installed TensorFlow image exports, `import tensorflow` fails while it is installed
(TensorFlow dlopens plugins with RTLD_NOW), so the finding is an error that names the symbols,
whatever the knowledge says. Pure: the verdict is a value in the Environment.
"""

from __future__ import annotations

from typing import Optional

from packaging.version import Version

from pip_tfmac.core.doctor_model import ERROR, Distribution, Environment, Finding, FixAction
from pip_tfmac.core.knowledge import MetalChoice

SHOWN = 3  # symbols named in the message; the rest are counted


def link_finding(env: Environment, tf: Version, metal: Distribution,
                 choice: Optional[MetalChoice]) -> Optional[Finding]:
    """An error finding when the installed plugin does not link; None when it links or the
    check did not run (doctor then judges from the knowledge alone)."""
    verdict = env.metal_link
    if verdict is None or verdict.links:
        return None
    fatal = verdict.fatal()
    names = ", ".join(m.symbol for m in fatal[:SHOWN])
    if len(fatal) > SHOWN:
        names += f" and {len(fatal) - SHOWN} more"
    message = (
        f"tensorflow-metal {metal.version} with TensorFlow {tf}: the installed plugin does not "
        f"link: {len(fatal)} symbol(s) it imports are exported by no installed TensorFlow image "
        f"({names}; first: {fatal[0].describe()}), so `import tensorflow` fails while it is "
        "installed (link check of the installed files)"
    )
    if choice is not None and str(choice.version) != metal.version:
        fix = f"`pip install tensorflow-metal=={choice.version}` ({choice.pair.state} with TF {tf})"
        action = FixAction((("install", f"tensorflow-metal=={choice.version}"),))
    else:
        fix = ("`pip uninstall tensorflow-metal` to run on the CPU, or install a TensorFlow with "
               "a plugin that links (`pip-tfmac plan tensorflow` shows it)")
        action = FixAction((("uninstall", "-y", "tensorflow-metal"),), removes=("tensorflow-metal",))
    return Finding("metal-pairing", ERROR, message, fix, action)
