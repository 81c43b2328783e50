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
    paths = fetched_by_uv_pins(resolved)
    if paths is None:
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


def fetched_by_uv_pins(resolved: Resolved) -> Optional[list[Path]]:
    """--backend uv: the set uv resolved, pinned with the sha256 uv read from the index, fetched
    by `pip download --no-deps` (uv has no download command): no second resolve by pip. None:
    the pip backend, or uv could not give the pins (pip's own dry run and download then)."""
    pins_of = getattr(resolved.backend, "pins_with_hashes", None)
    if pins_of is None or resolved.wheelhouse is None:
        return None
    from packaging.utils import canonicalize_name, parse_wheel_filename

    from pip_tfmac.flows.resolution import backend_call
    from pip_tfmac.wheelhouse.fetch import fetch_pinned

    text = pins_of(backend_call(resolved))
    if text is None:
        return None
    built = {parse_wheel_filename(Path(b).name)[0] for b in resolved.built}  # already here
    pins = [line for line in text.splitlines()
            if canonicalize_name(line.split("==")[0].split(" @ ")[0].split("[")[0]) not in built]
    return fetch_pinned(resolved.wheelhouse, pins, resolved.pip_install_args(requirements=False),
                        resolved.python, general=resolved.args.general)
