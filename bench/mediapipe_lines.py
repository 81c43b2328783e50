"""Cold and warm `pip-tfmac install mediapipe-model-maker` per recipe line, and the disk it costs.

Python 3.12: the default line (0.2.1.4, TF 2.18.1; Python 3.9-3.12); 3.13:
lines/tf220-py313.toml (TF 2.20). What is measured and how: see bench/_lines.py (cold = empty
pip cache and wheelhouse; warm = the same caches, a fresh venv; plain pip warm = the plan's
pinned set installed by pip alone, for pip-tfmac's own overhead).

Usage:
    python bench/mediapipe_lines.py [--python 3.12 --python 3.13] [--no-plain] [--keep DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lines import main  # noqa: E402

if __name__ == "__main__":
    main("mediapipe-model-maker", __doc__, ["3.12", "3.13"])
