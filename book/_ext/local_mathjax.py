"""Serve MathJax 4 from the book itself, so that formulas render offline and fit on a phone.

The build (``python -m book build``) runs ``npm ci``/``npm install``, which puts the pinned
``mathjax`` package of ``package.json`` (and its font package ``@mathjax/mathjax-newcm-font``)
into ``node_modules/``. This extension copies what the ``tex-chtml`` component needs into the
``_static/mathjax/`` folder of the HTML output and points Sphinx's ``mathjax_path`` at it:

* ``tex-chtml.js``: TeX input and CommonHTML output only (no MathML input: the book has none;
  it is the smallest component that typesets the book), with the TeX extensions it loads
  lazily (``input/tex/extensions``: ``boldsymbol``, ...);
* the New Computer Modern web fonts (``newcm/chtml``: ``woff2`` files and the ``dynamic``
  glyph ranges, each loaded only when a page uses it).

MathJax is configured (``mathjax3_config``) to

* **keep every display equation whole**: one wider than its column scrolls sideways in its own
  box (``displayOverflow: "scroll"``; CSS in ``book/_static/book.css``). MathJax 4's automatic
  line breaking (``"linebreak"``) broke 68 of 106 display equations of the Korean edition at
  1400 px although they fitted (a fraction's numerator split over lines), and proofs into
  20-27 pieces on a phone (issue 20); ``tests/test_browser.py`` counts the pieces;
* not load the speech/Braille/explorer modules and the speech-rule worker (about 3 MB): screen
  readers get the MathML that MathJax puts into the page (assistive MathML, ``mjx-assistive-mml``).

If the package is missing the build fails with a message saying what to run, unless the CDN
fallback was asked for explicitly with ``VAE_BOOK_MATHJAX=cdn`` (MathJax 4 then comes from
jsDelivr, with the same configuration).
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Files and folders of ``node_modules/mathjax`` that the ``tex-chtml`` component may load.
#: ``a11y/assistive-mml.js``: the assistive MathML for screen readers (``assistiveMml`` below).
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "a11y/assistive-mml.js")
#: Folder of the font package (``node_modules/@mathjax/mathjax-newcm-font``) that CHTML loads.
FONT_PARTS = ("chtml/woff2", "chtml/dynamic")
MATHJAX_ENTRY = "mathjax/tex-chtml.js"  # relative to _static/
CDN_ENTRY = "https://cdn.jsdelivr.net/npm/mathjax@4/tex-chtml.js"

#: MathJax configuration shared by the local and the CDN set-up.
MATHJAX_CONFIG: dict = {
    "output": {
        "displayOverflow": "scroll",  # wide display math scrolls in its own box, never broken into pieces
        "linebreaks": {"inline": True},  # long inline math breaks at operators, with the text
        # math at the size of the text: matching the x-height of the Korean font scaled it to 113 %
        # (wider equations for nothing)
        "matchFontHeight": False,
    },
    "options": {
        "enableSpeech": False,
        "enableBraille": False,
        "enableExplorer": False,
        "enableEnrichment": False,
        # the menu's defaults would still start the speech-rule worker (sre/speech-worker.js) for
        # "enrich"/"collapsible"; screen readers get the assistive MathML instead
        "menuOptions": {
            "settings": {"enrich": False, "collapsible": False, "speech": False, "braille": False, "assistiveMml": True}
        },
    },
}


def mathjax_source(confdir: str | Path) -> Path:
    """Return ``<repo>/node_modules/mathjax`` (the repository root is the Sphinx confdir)."""
    return Path(confdir) / "node_modules" / "mathjax"


def font_source(confdir: str | Path) -> Path:
    return Path(confdir) / "node_modules" / "@mathjax" / "mathjax-newcm-font"


def _merge(base: dict, extra: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged.setdefault(key, copy.deepcopy(value))
    return merged


def _on_config_inited(app: Sphinx, config: Config) -> None:
    source = mathjax_source(app.confdir)
    settings = copy.deepcopy(MATHJAX_CONFIG)
    if os.environ.get("VAE_BOOK_MATHJAX", "").lower() == "cdn":
        logger.info("local_mathjax: VAE_BOOK_MATHJAX=cdn, loading MathJax from %s", CDN_ENTRY)
        config.mathjax_path = CDN_ENTRY
        app.registry.local_mathjax_source = None  # type: ignore[attr-defined]
    elif (source / "tex-chtml.js").is_file() and font_source(app.confdir).is_dir():
        config.mathjax_path = MATHJAX_ENTRY
        # "[mathjax]" is the folder of tex-chtml.js; the font package is copied beside it
        settings["loader"] = {"paths": {"mathjax-newcm": "[mathjax]/newcm"}}
        settings["output"]["fontPath"] = "[mathjax]/newcm"
        app.registry.local_mathjax_source = source  # type: ignore[attr-defined]
    else:
        raise ExtensionError(
            f"MathJax 4 is not installed in {source}. Run `npm ci` in the repository root "
            "(`python -m book build` does it for you), or set VAE_BOOK_MATHJAX=cdn to load it from the CDN."
        )
    config.mathjax3_config = _merge(config.mathjax3_config or {}, settings)


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    source = getattr(app.registry, "local_mathjax_source", None)
    if exception is not None or source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for root, parts, dest in ((source, MATHJAX_PARTS, target), (font_source(app.confdir), FONT_PARTS, target / "newcm")):
        for part in parts:
            src, dst = root / part, dest / part
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            elif src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _on_config_inited, priority=900)
    app.connect("build-finished", _on_build_finished)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
