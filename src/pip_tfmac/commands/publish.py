"""`pip-tfmac wheelhouse publish URL [--simple-url URL] [--tfmac-cache-dir DIR] [--json]`.

Uploads the wheels pip-tfmac built (alias, patched, stand-in and prebuilt wheels: wheelhouse
entries of kind `built`) to an index that accepts uploads, so that a team's other machines use
them instead of building them (see wheelhouse/publish.py for the protocol and credentials).

Exit codes: 0 (every built wheel is on the index now); 64 bad usage (a URL with credentials
in it among them); 78 the index cannot be reached, refused the upload or the credentials, or
already holds one of the files with other bytes (then nothing was uploaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn, Optional

from pip_tfmac.errors import UsageError
from pip_tfmac.wheelhouse.publish import publish
from pip_tfmac.wheelhouse.store import Wheelhouse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    p = _Parser(prog="pip-tfmac wheelhouse publish",
                description="Upload the wheels pip-tfmac built to a team index (legacy upload API).")
    p.add_argument("url", help="the index's upload URL (pypiserver: http://HOST:PORT/)")
    p.add_argument("--simple-url", help="its simple index (default: URL + simple/)")
    p.add_argument("--tfmac-cache-dir", metavar="DIR", help="wheelhouse folder to publish from")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    try:
        ns = p.parse_args(args[index + 2:])
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    house = Wheelhouse.from_options(ns.tfmac_cache_dir, False)
    done = publish(house, ns.url, simple=ns.simple_url,
                   say=lambda line: print(f"pip-tfmac: {line}", file=sys.stderr))
    if ns.json:
        print(json.dumps({"version": 1, "url": ns.url,
                          "wheels": [{"filename": d.filename, "status": d.status} for d in done]}, indent=2))
        return 0
    if not done:
        print("The wheelhouse holds no wheels pip-tfmac built; nothing to publish.")
    for item in done:
        print(f"{item.status:>13}  {item.filename}")
    return 0
