"""A real browser opens the built site: formulas are typeset, the language switch works, search finds Korean.

Needs Debian's ``chromium`` and ``chromium-driver`` (and ``fonts-nanum`` for Hangul in the
screenshots) plus the ``selenium`` package. ``.ci/run`` installs them and sets
``VAE_BOOK_REQUIRE_BROWSER=1``, which turns a missing browser into a failure instead of a skip.
Screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from book_support import ROOT, ensure_site, notebooks

SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
RAW_TEX = ("$$", "\\(", "\\)", "\\[", "\\frac", "\\mathrm", "\\begin{")


def _missing() -> str | None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "Chromium/chromedriver not installed (apt-get install chromium chromium-driver fonts-nanum)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -r requirements.txt)"
    return None


if _missing():
    if os.environ.get("VAE_BOOK_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"browser check required but unavailable: {_missing()}")
    pytest.skip(f"browser check skipped locally: {_missing()}", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """Serve ``_build/html`` over HTTP on a free local port (file:// would block the web fonts)."""
    site = ensure_site()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600", "--lang=ko"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _wait_for_mathjax(driver: webdriver.Chrome) -> None:
    driver.set_script_timeout(60)
    state = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function poll() {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));
          } else if (Date.now() - start > 30000) {
            done('MathJax never loaded');
          } else { setTimeout(poll, 100); }
        })();
        """
    )
    assert state == "typeset", state


def _math_heaviest_chapter(lang: str) -> str:
    """The chapter page with the most math (so the check sees formulas, whatever chapters exist)."""
    site = ROOT / "_build" / "html"
    pages = [site / lang / "chapters" / lang / (nb.stem + ".html") for nb in notebooks(lang)]
    best = max(pages, key=lambda p: p.read_text(encoding="utf-8").count('class="math'))
    return best.relative_to(site).as_posix()


@pytest.mark.parametrize("lang,other", [("ko", "en"), ("en", "ko")])
def test_math_typeset_and_language_switch(browser: webdriver.Chrome, base_url: str, lang: str, other: str) -> None:
    path = _math_heaviest_chapter(lang)
    browser.get(f"{base_url}/{path}")
    _wait_for_mathjax(browser)
    n_math = browser.execute_script("return document.querySelectorAll('mjx-container').length")
    n_source = browser.execute_script("return document.querySelectorAll('.math').length")
    assert n_source > 0, f"{path}: no math on the page to check"
    assert n_math >= n_source, f"{path}: {n_source} formulas in the page, only {n_math} typeset by MathJax"
    visible = browser.execute_script("return document.querySelector('article, main, body').innerText")
    raw = [t for t in RAW_TEX if t in visible]
    assert not raw, f"{path}: raw TeX visible after typesetting: {raw}"
    assert browser.execute_script("return document.documentElement.lang") == lang
    browser.save_screenshot(str(SCREENSHOTS / f"{path.replace('/', '_')}.png"))

    browser.find_element(By.CSS_SELECTOR, "a.lang-switch").click()
    twin = path.replace(f"{lang}/chapters/{lang}/", f"{other}/chapters/{other}/", 1)
    WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith(twin))
    assert browser.execute_script("return document.documentElement.lang") == other
    _wait_for_mathjax(browser)
    assert browser.execute_script("return document.querySelectorAll('mjx-container').length") > 0
    browser.save_screenshot(str(SCREENSHOTS / f"{twin.replace('/', '_')}.png"))


@pytest.mark.parametrize("query", ["분포", "글씨"])
def test_korean_search_finds_words_inside_compounds(browser: webdriver.Chrome, base_url: str, query: str) -> None:
    browser.get(f"{base_url}/ko/search.html?q={quote(query)}")
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.querySelectorAll('#search-results ul.search li').length") > 0
        or "0" in (d.execute_script("return (document.querySelector('#search-results p') || {}).innerText || ''"))
    )
    hits = browser.execute_script("return document.querySelectorAll('#search-results ul.search li').length")
    assert hits > 0, f"searching the Korean edition for {query!r} found nothing"
    browser.save_screenshot(str(SCREENSHOTS / f"ko_search_{len(query)}_{query.encode().hex()[:8]}.png"))
