"""First-party fraud domain templates for Tracer.

- ``fraud/card`` (entry point ``fraud-card``): a card payment → is it fraud? Trained on
  real, anonymised European card transactions (ULB / Worldline, September 2013).

Reference data ships inside the package (``tracer_fraud/data``); see the README for its
source, license and the citation it requires.
"""

from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"


def data_path(name: str) -> Path:
    """Path of a reference file shipped inside the package."""
    return Path(str(files("tracer_fraud") / "data" / name))
