"""`download` of a planned set: every wheel of the plan into the wheelhouse, hash-checked.

With `--platform macos-arm64 --python-version X.Y` this builds, from any machine, every wheel a
Mac needs to install the plan offline: pip downloads the resolved set, and the wheels pip-tfmac
built (aliases, patched wheels) come along from the find-links folder; `-d DIR` gets a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pip_tfmac.flows.resolution import Resolved
from pip_tfmac.runners import pip as pip_runner


@dataclass(frozen=True)
class DownloadOutcome:
    names: tuple[str, ...] = ()
    where: str = ""
    pip_exit_code: Optional[int] = None  # set when plain `pip download` did the work


def download(resolved: Resolved, dest: Optional[str]) -> DownloadOutcome:
    if resolved.wheelhouse is None:
        argv = pip_runner.base_argv(resolved.python, resolved.args.general) + ["download"]
        argv += (["-d", dest] if dest else []) + resolved.pip_install_args()
        return DownloadOutcome(pip_exit_code=pip_runner.run(argv, capture=False).returncode)
    # Every wheel of the plan goes into the wheelhouse, hash-checked; -d DIR gets a copy.
    paths = resolved.wheelhouse.fetch_wheels(
        Path(resolved.requirements_file), resolved.pip_install_args(requirements=False),
        resolved.python, general=resolved.args.general,
    )
    names = sorted({p.name for p in paths} | {Path(b).name for b in resolved.built})
    if dest:
        resolved.wheelhouse.export(names, Path(dest))
    if not resolved.plan.target.cross and not dest:
        # Ready for `install --offline` here: unpacked, compiled trees make it the fast path.
        from pip_tfmac.wheelhouse.fastinstall import warm_trees

        warm_trees(resolved.wheelhouse, names, resolved.python)
    return DownloadOutcome(tuple(names), dest or str(resolved.wheelhouse.find_links_dir))
