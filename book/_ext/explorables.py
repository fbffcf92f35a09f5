"""Explorable figures: the interactive figures of ``book/_static/explorables/`` on the book's pages.

A chapter places one with a Markdown cell holding
``<div class="vae-explorable" data-explorable="NAME">...</div>`` (``book/explorable_cells.py``
writes those cells). This extension

* adds ``explorables/explorables.css`` and the small ``explorables/loader.js`` to every page; the
  loader fetches ``core.js``, ``NAME.js`` and the model files only when the reader scrolls to
  (or touches) the figure;
* writes the model files the figures load into ``_static/explorables/models/`` of the HTML
  output at the end of the build, exported from ``vae_lib``'s shipped checkpoints by
  :func:`vae_lib.export.export_book_models` (the 2-D latent VAE at float32, the flagship with
  float16 weight matrices, the latent diffusion prior of the 2-D VAE at float32), so no weight file
  is committed twice;
* warns (an error under ``-W``) when a page names an explorable that has no ``NAME.js``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "_static" / "explorables"
_NAME = re.compile(r'class="vae-explorable"[^>]*data-explorable="([^"]+)"')


def explorable_names(html: str) -> list[str]:
    """Names of the explorables a page's HTML contains, in order."""
    return _NAME.findall(html)


def _on_page_context(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    for name in explorable_names(context.get("body", "")):
        if not (STATIC / f"{name}.js").is_file():
            logger.warning("explorables: page %s uses an unknown explorable %r (no %s.js in %s)", pagename, name, name,
                           STATIC, type="explorables", subtype="unknown")


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from vae_lib.export import export_book_models

    out = Path(app.outdir) / "_static" / "explorables" / "models"
    for header in export_book_models(out):
        logger.info("explorables: wrote %s", header.relative_to(app.outdir))


def files_version() -> str:
    """A short hash of the explorables' files and of the shipped checkpoints they export (cache-busting)."""
    import hashlib

    from vae_lib.export import LATENT2D
    from vae_lib.flagship import FLAGSHIPS
    from vae_lib.latent_diffusion import SHIPPED

    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(LATENT2D[1].encode() + FLAGSHIPS["mnist"][1].encode() + SHIPPED["latent2d"][1].encode())
    return digest.hexdigest()[:12]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_css_file("explorables/explorables.css")
    # data-version: the loader appends ?v=... to the files it fetches, so a new build is never mixed with a cached one
    app.add_js_file("explorables/loader.js", loading_method="defer", **{"data-version": files_version()})
    app.connect("html-page-context", _on_page_context)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
