"""Shared pytest configuration. Plain helper functions live in tests/helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path

# Make `import helpers` work from every test folder, whatever pytest's import mode.
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
