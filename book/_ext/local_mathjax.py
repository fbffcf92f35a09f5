"""Serve MathJax 3 from the book itself, so that formulas render offline.

The build (``python -m book build``) runs ``npm ci``/``npm install``, which puts the pinned
``mathjax`` package of ``package.json`` into ``node_modules/``. This extension copies the part
of ``node_modules/mathjax/es5`` that the ``tex-mml-chtml`` component needs (the component, its
lazily loaded TeX extensions, UI/accessibility modules and the CHTML web fonts) into the
``_static/mathjax/`` folder of the HTML output and points Sphinx's ``mathjax_path`` at it.

If the package is missing the build fails with a message saying what to run, unless the
CDN fallback was asked for explicitly with the environment variable ``VAE_BOOK_MATHJAX=cdn``
(then Sphinx's default CDN URL stays in place).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Files and folders of ``mathjax/es5`` that the ``tex-mml-chtml`` component may load.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml/fonts/woff-v2", "ui", "a11y", "adaptors")
MATHJAX_ENTRY = "mathjax/tex-mml-chtml.js"  # relative to _static/


def mathjax_source(confdir: str | Path) -> Path:
    """Return ``<repo>/node_modules/mathjax/es5`` (the repository root is the Sphinx confdir)."""
    return Path(confdir) / "node_modules" / "mathjax" / "es5"


def _on_config_inited(app: Sphinx, config: Config) -> None:
    source = mathjax_source(app.confdir)
    if (source / "tex-mml-chtml.js").is_file():
        config.mathjax_path = MATHJAX_ENTRY
        app.registry.local_mathjax_source = source  # type: ignore[attr-defined]
        return
    if os.environ.get("VAE_BOOK_MATHJAX", "").lower() == "cdn":
        logger.info("local_mathjax: VAE_BOOK_MATHJAX=cdn, loading MathJax from %s", config.mathjax_path)
        app.registry.local_mathjax_source = None  # type: ignore[attr-defined]
        return
    raise ExtensionError(
        f"MathJax is not installed in {source}. Run `npm ci` in the repository root "
        "(`python -m book build` does it for you), or set VAE_BOOK_MATHJAX=cdn to load it from the CDN."
    )


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    source = getattr(app.registry, "local_mathjax_source", None)
    if exception is not None or source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _on_config_inited, priority=900)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
