"""`pip-tfmac check-pair tensorflow==X tensorflow-metal==Y [--json] [--tf-wheel/--metal-wheel P]`.

A static link check of the pair from its macOS arm64 wheels (fetched through pip, or given),
on any OS. Exit codes: 0 links; 76 (LINK_BROKEN) the plugin imports a symbol no TensorFlow
image exports; 64 bad usage; 65 a file that is not the wheel it should be; 69 pip could not
fetch a wheel.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn, Optional

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pip_tfmac.errors import ExitCode, UsageError
from pip_tfmac.flows.check_pair import (
    PYTHON_VERSION,
    PairSpec,
    check_in_wheelhouse,
    render,
)

_TF_NAMES = ("tensorflow", "tensorflow-macos")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="pip-tfmac check-pair",
        description="Check from the wheels that a tensorflow-metal release links against a "
        "TensorFlow release (the plugin's imports against TensorFlow's exports).",
    )
    p.add_argument("pins", nargs="*", metavar="NAME==VERSION",
                   help="tensorflow==X (or tensorflow-macos==X) and tensorflow-metal==Y")
    p.add_argument("--tf-wheel", metavar="PATH", help="a local TensorFlow wheel instead of pip")
    p.add_argument("--metal-wheel", metavar="PATH", help="a local tensorflow-metal wheel")
    p.add_argument("--python-version", default=PYTHON_VERSION, metavar="X.Y",
                   help=f"the wheels' Python tag to fetch (default {PYTHON_VERSION}; the plugin "
                   "library is the same in every Python's wheel)")
    p.add_argument("--two-level-only", action="store_true",
                   help="check only the imports bound to _pywrap_tensorflow_internal.so "
                   "(fast: libtensorflow_cc is not read; flat imports are not checked)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--tfmac-cache-dir", metavar="DIR", help="wheelhouse folder")
    p.add_argument("--no-tfmac-cache", action="store_true", help="use a temporary wheelhouse")
    return p


def spec_from(ns: argparse.Namespace) -> PairSpec:
    tf: Optional[str] = None
    metal: Optional[str] = None
    for pin in ns.pins:
        try:
            req = Requirement(pin)
        except InvalidRequirement:
            raise UsageError(f"{pin!r} is not NAME==VERSION") from None
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            raise UsageError(f"{pin!r}: give an exact version (NAME==VERSION)")
        name = canonicalize_name(req.name)
        if name in _TF_NAMES:
            tf = specs[0].version
        elif name == "tensorflow-metal":
            metal = specs[0].version
        else:
            raise UsageError(f"{pin!r}: only tensorflow(-macos) and tensorflow-metal are checked")
    if (tf is None) == (ns.tf_wheel is None):
        raise UsageError("give the TensorFlow release once: tensorflow==X or --tf-wheel PATH")
    if (metal is None) == (ns.metal_wheel is None):
        raise UsageError("give the plugin once: tensorflow-metal==Y or --metal-wheel PATH")
    return PairSpec(tensorflow=tf, metal=metal,
                    tf_wheel=Path(ns.tf_wheel) if ns.tf_wheel else None,
                    metal_wheel=Path(ns.metal_wheel) if ns.metal_wheel else None,
                    scope="two-level" if ns.two_level_only else "full")


def run(args: list[str], index: Optional[int]) -> int:
    rest = args[(index + 1) if index is not None else 0:]
    try:
        ns = parser().parse_args(rest)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    spec = spec_from(ns)
    report = check_in_wheelhouse(
        spec, cache_dir=ns.tfmac_cache_dir, no_cache=ns.no_tfmac_cache,
        python_version=ns.python_version,
        log=lambda line: print(f"pip-tfmac: {line}", file=sys.stderr, flush=True),
    )
    if ns.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render(report))
    return int(ExitCode.OK if report.verdict.links else ExitCode.LINK_BROKEN)
