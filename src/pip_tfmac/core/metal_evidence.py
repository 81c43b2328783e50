"""How the planner weighs the evidence behind a TensorFlow/tensorflow-metal pair (issue 12).

Two rules kept apart from the step-1 planner so each reads on its own: which TensorFlow releases
the plan may prefer, by the evidence of their plugin (verified before link-checked before
unverified), and what a target Python without any plugin wheel is told, from the link verdicts.
Pure: Knowledge values in, values and text out.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from packaging.version import Version

from pip_tfmac.core.knowledge import USABLE_ORDER, Knowledge, MetalChoice


def best_evidence(usable: Sequence[Version],
                  capable: Callable[[Version], Optional[MetalChoice]]) -> list[Version]:
    """Keep the TensorFlow releases whose plugin has the best evidence: a verified pair wherever
    the request admits one; link-checked ones only when it admits no verified pair; unverified
    ones (opted in) only when it admits neither. Order is kept (newest first)."""
    states = {v: choice.pair.state for v in usable for choice in [capable(v)] if choice is not None}
    for state in USABLE_ORDER:
        best = [v for v in usable if states.get(v) == state]
        if best:
            return best
    return []


def newer_python_note(knowledge: Knowledge, python: str) -> str:
    """For a Python with no tensorflow-metal wheel: does any TensorFlow with a wheel for it link
    with the newest plugin? The plugin library links no libpython (it is byte-identical across the
    cp39-cp312 wheels of 1.2.0), so if one links, the only thing missing is a wheel tagged for
    this Python; if none links, a re-tagged wheel would break `import tensorflow` too.
    Empty when the link table says nothing about these releases."""
    newest = knowledge.newest_metal()
    tf_here = knowledge.tf_versions(python)
    if newest is None or not tf_here or knowledge.links is None:
        return ""
    records = {v: knowledge.link_record(v, newest) for v in tf_here}
    judged = {v: r for v, r in records.items() if r is not None}
    if not judged:
        return ""
    names = ", ".join(str(v) for v in sorted(judged, reverse=True))
    linking = sorted((v for v, r in judged.items() if r.links), reverse=True)
    if not linking:
        first = next(iter(judged.values()))
        symbol = first.missing[0].symbol if first.missing else "?"
        return (f" No TensorFlow with a Python {python} wheel ({names}) links with tensorflow-metal "
                f"{newest}, the newest plugin (knowledge/links.toml: e.g. {symbol} is missing), so a "
                f"plugin wheel re-tagged for Python {python} would not work either.")
    return (f" TensorFlow {linking[0]} (which has a Python {python} wheel) links with "
            f"tensorflow-metal {newest} (link-checked from the wheels, not run on a Mac): the plugin "
            f"library does not depend on the Python version, so a {newest} wheel re-tagged for "
            f"Python {python} (built locally, e.g. `wheel tags --python-tag "
            f"cp{python.replace('.', '')} --abi-tag cp{python.replace('.', '')}`) would be the "
            f"whole missing piece, with tensorflow=={linking[0]}.")
