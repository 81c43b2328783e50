"""Cold and warm `pip-tfmac install tflite-model-maker` per recipe line, and the disk it costs.

Python 3.11: the default line (TF 2.15), for reference; 3.12: lines/tf218.toml (0.4.3+tfmac.6,
TF 2.18); 3.13: lines/tf220.toml (0.4.3+tfmac.7, TF 2.20). What is measured and how: see
bench/_lines.py (cold = empty pip cache and wheelhouse; warm = the same caches, a fresh venv;
plain pip warm = the plan's pinned set installed by pip alone, for pip-tfmac's own overhead).

Usage:
    python bench/model_maker_lines.py [--python 3.12 --python 3.13] [--no-plain] [--keep DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lines import main  # noqa: E402

if __name__ == "__main__":
    main("tflite-model-maker", __doc__, ["3.11", "3.12", "3.13"])
