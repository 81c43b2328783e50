"""The error hierarchy and exit codes, for every layer.

The types live in core/errors.py, so that the pure core can raise and name them without
importing anything outside core/; this module is the name the outer layers use.
"""

from pip_tfmac.core.errors import *  # noqa: F401,F403
from pip_tfmac.core.errors import __all__  # noqa: F401
