"""pip's command-line grammar that pip-tfmac needs before loading pip: where the command word is.

Pure (no I/O, no pip import): `alias pip=pip-tfmac` pays for this on every call.
"""

from __future__ import annotations

TYPE_CHECKING = False  # `import typing` costs ~10 ms of start-up on every pass-through
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Optional

# pip's general options that take a value (`pip --log FILE install x`). Kept by hand because
# importing pip's parser costs ~100 ms on every call; tests/unit/test_cli_scan.py checks this set
# against the installed pip's own parser so it cannot drift.
PIP_GENERAL_VALUE_OPTIONS = frozenset(
    {
        "--cache-dir", "--cert", "--client-cert", "--default-timeout", "--exists-action",
        "--keyring-provider", "--local-log", "--log", "--log-file", "--proxy", "--python",
        "--resume-retries", "--retries", "--timeout", "--trusted-host", "--use-deprecated",
        "--use-feature",
    }
)

# ... and those that take none: needed to tell which option an abbreviation (`--pyth`) means.
PIP_GENERAL_FLAG_OPTIONS = frozenset(
    {
        "--debug", "--disable-pip-version-check", "--help", "--isolated", "--no-cache-dir",
        "--no-color", "--no-input", "--no-proxy-env", "--no-python-version-warning", "--quiet",
        "--require-venv",
        "--require-virtualenv", "--verbose", "--version",
    }
)

def split_command(argv: Sequence[str]) -> tuple[Optional[int], Optional[str]]:
    """Index and name of the command word, skipping pip's general options (as pip does)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return (i + 1, argv[i + 1]) if i + 1 < len(argv) else (None, None)
        if not arg.startswith("-") or arg == "-":
            return i, arg
        if "=" not in arg and _takes_value(arg):
            i += 2
            continue
        i += 1
    return None, None


def _takes_value(option: str) -> bool:
    """Does this general option (or its unique abbreviation, as optparse allows) take a value?"""
    if option in PIP_GENERAL_VALUE_OPTIONS:
        return True
    if option in PIP_GENERAL_FLAG_OPTIONS or not option.startswith("--"):
        return False
    matches = [o for o in PIP_GENERAL_VALUE_OPTIONS | PIP_GENERAL_FLAG_OPTIONS if o.startswith(option)]
    return len(matches) == 1 and matches[0] in PIP_GENERAL_VALUE_OPTIONS
