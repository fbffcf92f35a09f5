"""A link on every page to the same page in the other edition of the book.

The site has one folder per edition, ``<site>/ko/`` and ``<site>/en/``, each a complete Sphinx
build; page ``chapters/ko/04_kl_divergence`` of the Korean edition has the twin
``chapters/en/04_kl_divergence`` in the English edition. Configuration (``sphinx.config`` in
``_config.yml``; the English config swaps the values)::

    lang_switch_this: ko        # language folder of this edition
    lang_switch_other: en       # language folder of the twin edition
    lang_switch_label: English  # text of the link

Every HTML page (genindex, search and the proof index too) gets, at the top of its article, ``<a class="lang-switch" hreflang="en" ...>``
pointing at its twin (pages outside ``chapters/<lang>/``, e.g. ``genindex``, point at the page
of the same name) and a ``<link rel="alternate" hreflang=...>`` in its head. A warning (an
error under ``-W``) is emitted when a chapter has no twin source file.

``lang_switch.js`` (``book/_static``) keeps the reader's place: a click on the switch adds the
section the reader is in (``#anchor`` and ``?sec=N``, its position among the page's sections), and
the twin page scrolls to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SWITCH_CLASS = "lang-switch"


def twin_docname(docname: str, this: str, other: str) -> str:
    """``chapters/<this>/X`` -> ``chapters/<other>/X``; any other page keeps its name."""
    prefix = f"chapters/{this}/"
    if docname.startswith(prefix):
        return f"chapters/{other}/" + docname[len(prefix) :]
    return docname


def twin_url(pagename: str, this: str, other: str) -> str:
    """Relative URL from ``<site>/<this>/<pagename>.html`` to its twin in ``<site>/<other>/``."""
    up = "../" * (pagename.count("/") + 1)
    return f"{up}{other}/{twin_docname(pagename, this, other)}.html"


def _twin_source_exists(app: Sphinx, docname: str) -> bool:
    twin = twin_docname(docname, app.config.lang_switch_this, app.config.lang_switch_other)
    base = Path(app.srcdir) / twin
    return any(base.with_name(base.name + suffix).is_file() for suffix in app.config.source_suffix)


def _check_twin(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not _twin_source_exists(app, docname):
        twin = twin_docname(docname, app.config.lang_switch_this, app.config.lang_switch_other)
        logger.warning(
            "lang_switch: %s has no twin page %s in the %r edition",
            docname,
            twin,
            app.config.lang_switch_other,
            location=docname,
            type="lang_switch",
            subtype="missing_twin",
        )


def _on_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    this, other = app.config.lang_switch_this, app.config.lang_switch_other
    url = twin_url(pagename, this, other)
    label = app.config.lang_switch_label
    context["lang_switch_url"] = url
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{other}" href="{url}" />'
    )
    link = switch_html(url, other, label)
    if "body" in context:
        context["body"] = link + context["body"]
    else:  # genindex, search, domain indices: no body; build-finished inserts the link
        app.env.lang_switch_pending = getattr(app.env, "lang_switch_pending", {})  # type: ignore[attr-defined]
        app.env.lang_switch_pending[pagename] = link  # type: ignore[attr-defined]


def switch_html(url: str, other: str, label: str) -> str:
    return (
        f'<div class="{SWITCH_CLASS}-bar"><a class="{SWITCH_CLASS}" href="{url}" '
        f'hreflang="{other}" lang="{other}">{label}</a></div>\n'
    )


def _insert_pending(app: Sphinx, exception: Exception | None) -> None:
    """Put the switch at the top of the article of the pages that had no ``body`` (genindex, search...)."""
    if exception is not None or app.builder.format != "html":
        return
    for pagename, link in getattr(app.env, "lang_switch_pending", {}).items():
        path = Path(app.outdir) / f"{pagename}.html"
        if not path.is_file():
            continue
        html = path.read_text(encoding="utf-8")
        if f'class="{SWITCH_CLASS}"' in html:
            continue
        marker = html.find('<article class="bd-article"')
        if marker < 0:
            marker = html.find("<main")
        if marker < 0:
            continue
        end = html.index(">", marker) + 1
        path.write_text(html[:end] + "\n" + link + html[end:], encoding="utf-8")


def setup(app: Sphinx) -> dict[str, object]:
    app.add_config_value("lang_switch_this", "ko", "html", types=[str])
    app.add_config_value("lang_switch_other", "en", "html", types=[str])
    app.add_config_value("lang_switch_label", "English", "html", types=[str])
    app.connect("doctree-read", _check_twin)
    app.connect("html-page-context", _on_page_context)
    app.connect("build-finished", _insert_pending)
    # keeps the section: the twin page opens at the section the reader was in (book/_static/lang_switch.js)
    app.add_js_file("lang_switch.js", loading_method="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
