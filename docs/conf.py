"""Sphinx configuration of the snapcapi documentation (MyST Markdown, furo theme).

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``. Warnings are
errors, in CI too; no extension here needs the network.
"""

from __future__ import annotations

import importlib.metadata

project = "snapcapi"
author = "snapcapi maintainers"
copyright = "2026, snapcapi maintainers"
release = importlib.metadata.version("snapcapi")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes:" as fields, not entries that clash with autodoc

html_theme = "furo"
html_title = f"snapcapi {release}"
html_static_path: list[str] = []
