"""What `pip-tfmac install` starts before it imports its command and pip's option parser (~0.3 s
of CPU): the target interpreter's probe (runners/probe_target.py) and, with `--backend uv`, the
refresh of uv's cache for the request (runners/uv_prefetch.py). Both are subprocesses: on a
second core they are done, or nearly, when the command needs their answers.

Nothing here decides anything: a command line these cannot read is left alone, and every error
is the command's to report, later, in its own words.
"""

from __future__ import annotations

from typing import Sequence

from pip_tfmac.errors import TfmacError


def start_for_install(args: Sequence[str], index: int) -> None:
    from pip_tfmac.runners import probe_target, uv_prefetch
    from pip_tfmac.runners.pipargs import split_own

    try:
        own, rest, shorthand = split_own(list(args[index + 1:]))
    except TfmacError:
        return
    general = list(args[:index])
    if any(a in ("-h", "--help") for a in rest):
        return
    uv_prefetch.start_early(general, rest, backend=own.backend, offline=own.offline, cross=shorthand)
    probe_target.start_early(general, rest, cross=shorthand, cache_dir=own.cache_dir, no_cache=own.no_cache)
