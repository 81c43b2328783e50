"""pip-tfmac: a drop-in pip that installs the TensorFlow stack correctly on Apple Silicon."""

__version__ = "0.1.0"
