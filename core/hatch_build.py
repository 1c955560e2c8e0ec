"""Ships the cookiecutter template inside the ``tracer`` wheel (as ``tracer/plugin_template``),
so ``tracer plugin new`` works after ``pip install tracer``.

The template lives at the repository root (``template/``, beside the plugins made from it);
an sdist carries it as ``template/``, so a wheel builds from a checkout and from an sdist
alike. Editable installs need nothing: ``template_dir`` finds the checkout's copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class TemplateHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            return
        root = Path(self.root)
        for source in (root / "template", root.parent / "template"):
            if (source / "cookiecutter.json").is_file():
                inside = "tracer/plugin_template" if self.target_name == "wheel" else "template"
                build_data["force_include"][str(source)] = inside
                return
        raise FileNotFoundError(f"the plugin template (template/cookiecutter.json) is neither "
                                f"in {root} nor beside it")
