"""{{ cookiecutter.title }}: a Tracer domain plugin ({{ cookiecutter.namespace }}/{{ cookiecutter.template_name }}).

``domain`` declares the template (record schema, label, ordering column, metric, reference
data); ``plugin`` holds the hook implementations Tracer calls. Made from the Tracer plugin
template {{ cookiecutter._template_version }} (see .tracer-template.json).
"""

from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"


def data_path(name: str) -> Path:
    """Path of a data file shipped inside the package."""
    return Path(str(files(__name__) / "data" / name))
