"""Helpers shared by the book tests (notebook parsing, the built site)."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
#: The built site; ``VAE_BOOK_BUILD_DIR`` (as in book/build.py) points the tests at another build.
SITE = Path(os.environ.get("VAE_BOOK_BUILD_DIR") or ROOT / "_build").resolve() / "html"
EDITIONS = ("ko", "en")
BUILD_COMMAND = [sys.executable, "-m", "book", "build"]


def notebooks(lang: str | None = None) -> list[Path]:
    """Chapter notebooks (``chapters/<lang>/NN_*.ipynb``), sorted."""
    langs = [lang] if lang else list(EDITIONS)
    return sorted(p for lg in langs for p in (CHAPTERS / lg).glob("[0-9][0-9]_*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def strip_comments(code: str) -> str:
    """Python source without ``#`` comments, trailing spaces and blank lines.

    Uses :mod:`tokenize`, so a ``#`` inside a string is kept. IPython magics (``%``/``!`` lines)
    are compared verbatim after removing a trailing `` # ...`` comment.
    """
    lines_out: list[str] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
        comments = {(t.start[0], t.start[1]) for t in tokens if t.type == tokenize.COMMENT}
        lines = code.splitlines()
        for lineno, line in enumerate(lines, start=1):
            cut = min((col for (row, col) in comments if row == lineno), default=None)
            kept = line[:cut] if cut is not None else line
            lines_out.append(kept.rstrip())
    except (tokenize.TokenError, IndentationError, SyntaxError):
        lines_out = [re.sub(r"\s#.*$|^#.*$", "", line).rstrip() for line in code.splitlines()]
    return "\n".join(line for line in lines_out if line.strip())


def _sources_mtime() -> float:
    paths = [ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "references.bib", ROOT / "package.json"]
    for folder, pattern in ((CHAPTERS, "**/*"), (ROOT / "book", "**/*"), (ROOT / "vae_lib", "**/*.py")):
        paths += [p for p in folder.glob(pattern) if p.is_file() and "__pycache__" not in p.parts]
    return max(p.stat().st_mtime for p in paths if p.exists())


def ensure_site() -> Path:
    """Build the site with the README's build command unless ``_build/html`` is up to date.

    Up to date means: ``_build/html/index.html`` and both editions exist and are newer than
    every source (chapters, book machinery, configs, vae_lib). A lock file keeps pytest-xdist
    workers from building twice. Set ``VAE_BOOK_NO_BUILD=1`` to test whatever is there.
    """
    SITE.parent.mkdir(parents=True, exist_ok=True)
    with open(SITE.parent / ".site-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        index = SITE / "index.html"
        fresh = (SITE / ".build-ok").is_file() and all((SITE / lg / "index.html").is_file() for lg in EDITIONS) and (
            index.stat().st_mtime >= _sources_mtime()
        )
        if not fresh and os.environ.get("VAE_BOOK_NO_BUILD") != "1":
            result = subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True)
            if result.returncode != 0 or not index.is_file():
                raise AssertionError(
                    f"`{' '.join(BUILD_COMMAND[1:])}` failed (exit {result.returncode}):\n"
                    + result.stdout[-8000:] + result.stderr[-4000:]
                )
    return SITE


# --- the built site in a real browser (tests/test_browser.py and the audit CLI below) ---------

#: Widths at which the book is checked: a desktop window and a phone (iPhone 12-14 portrait).
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}


def serve(site: Path):
    """Serve ``site`` over HTTP on a free port of 127.0.0.1; returns ``(base_url, server)``.

    file:// would block the web fonts and the search page's fetches, so pages are served.
    Call ``server.shutdown()`` when done.
    """
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def chromium_paths() -> tuple[str | None, str | None]:
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    return chromium, shutil.which("chromedriver")


def make_driver(width: int = 1400, height: int = 900, lang: str = "ko"):
    """Headless Chromium with THE NETWORK BLOCKED: every host name except 127.0.0.1 fails to resolve.

    Performance and browser logs are recorded, so :func:`network_log` and :func:`console_errors`
    can say which requests failed or left the site and what the console said. The cache is
    disabled, so every page is measured as a first visit.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", f"--lang={lang}", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    # the CSS viewport (not the window) gets exactly the asked width; a phone is emulated as one: device
    # pixel ratio 2, mobile viewport (the layout viewport grows with the content, as on a real phone:
    # window.innerWidth is then no measure of "fits"; compare with screen.width), touch events
    phone = width < 600
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 2 if phone else 1, "mobile": phone,
                            "screenWidth": width, "screenHeight": height})
    if phone:
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    return driver


def network_log(driver, base_url: str) -> dict[str, list[str]]:
    """Requests since the last call: ``{"outside": [...], "failed": [...]}`` (URLs, deduplicated)."""
    import json as _json

    outside, failed, urls = [], [], {}
    for entry in driver.get_log("performance"):
        msg = _json.loads(entry["message"])["message"]
        params = msg.get("params", {})
        if msg["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if not (url.startswith(base_url) or url.startswith(("data:", "blob:", "about:"))):
                outside.append(url)
        elif msg["method"] == "Network.loadingFailed" and not params.get("canceled"):
            failed.append(f"{urls.get(params['requestId'], '?')} ({params.get('errorText')})")
        elif msg["method"] == "Network.responseReceived" and params["response"]["status"] >= 400:
            failed.append(f"{params['response']['url']} (HTTP {params['response']['status']})")
    return {"outside": sorted(set(outside)), "failed": sorted(set(failed))}


def console_errors(driver) -> list[str]:
    """Console messages of level SEVERE since the last call (errors, uncaught exceptions, 404s)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for_mathjax(driver, timeout_ms: int = 30000) -> str:
    """``'typeset'`` once MathJax finished (or ``'no math'`` on a page without MathJax)."""
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1], start = Date.now(), limit = arguments[0];
        (function poll() {
          if (!document.querySelector('script[src*="mathjax"]') && !window.MathJax) { done('no math'); return; }
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));
          } else if (Date.now() - start > limit) { done('MathJax never loaded'); }
          else { setTimeout(poll, 100); }
        })();
        """,
        timeout_ms,
    )


#: JavaScript: every display equation, its TeX (saved before typesetting is not possible, so the
#: MathJax internal source), its width and the width of its column; plus page-level overflow.
_MEASURE_JS = r"""
const out = [];
const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
const texOf = new Map();
if (doc) { for (const item of doc.math) { if (item.typesetRoot) texOf.set(item.typesetRoot, item.math); } }
document.querySelectorAll('mjx-container[display="true"]').forEach((c) => {
  const box = c.closest('div.math') || c.parentElement;
  const math = c.querySelector('mjx-math');
  const w = math ? math.getBoundingClientRect().width : c.scrollWidth;
  const col = box.clientWidth;
  const r = c.getBoundingClientRect();
  const scroller = getComputedStyle(box).overflowX;
  const label = (box.id || '').replace(/^equation-/, '');
  let section = c.closest('section[id]');
  // pieces: the lines MathJax broke the equation into (automatic line breaking makes an mjx-linestack of
  // mjx-linebox lines); 1 = whole. An equation's own rows (aligned, cases) are table rows, not pieces.
  const pieces = Math.max(1, c.querySelectorAll('mjx-linebox').length);
  const ownScroll = ['auto', 'scroll'].includes(getComputedStyle(c).overflowX) ? getComputedStyle(c).overflowX : scroller;
  out.push({label: label, tex: (texOf.get(c) || '').replace(/\s+/g, ' ').trim(), width: Math.round(w),
            column: Math.round(col), scroll: ownScroll, visible: r.width > 0, pieces: pieces,
            section: section ? section.id : '', hidden: !!c.closest('details:not([open])')});
});
const widest = document.documentElement.scrollWidth;
// what sticks out of the device's screen without being inside a box that scrolls sideways
const device = screen.width;
const culprits = [];
if (widest > device + 1) {
  const scrolls = (el) => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; } return false; };
  for (const el of document.querySelectorAll('article *, .bd-main *, body > *')) {
    const rr = el.getBoundingClientRect();
    if (rr.width > 0 && rr.right > device + 1 && !scrolls(el)) {
      culprits.push((el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + [...el.classList].slice(0, 3).join('.')) + ' ' + Math.round(rr.right));
      if (culprits.length >= 5) break;
    }
  }
}
// inline math that sticks out of its paragraph (clipped: the page itself does not scroll sideways)
const inline = [];
document.querySelectorAll('mjx-container:not([display="true"])').forEach((c) => {
  const p = c.closest('p, li, td, th, dd') || c.parentElement;
  // a table wider than the column scrolls in place (the page does not widen): its cells may be wide
  if (c.closest('.pst-scrollable-table-container, .cell_output .output')) return;
  const pr = p.getBoundingClientRect();
  for (const r of c.getClientRects()) {
    if (r.width > 0 && r.right > pr.right + 2 && !c.closest('details:not([open])')) {
      inline.push({tex: (texOf.get(c) || c.textContent || '').slice(0, 60), right: Math.round(r.right), limit: Math.round(pr.right)});
      break;
    }
  }
});
// inline math on one line with the characters it touches: the comma or particle after a formula on the
// next line, or the opening parenthesis before it on the line above (book_site.GlueInlineMath)
const orphans = [];
const charRect = (node, i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1); return r.getClientRects()[0]; };
document.querySelectorAll('article mjx-container:not([display="true"])').forEach((c) => {
  const rects = c.getClientRects();
  if (!rects.length || c.closest('details:not([open])')) return;
  const host = c.parentElement && c.parentElement.classList.contains('math') ? c.parentElement : c;
  const after = host.nextSibling, before = host.previousSibling;
  const first = rects[0], last = rects[rects.length - 1];
  if (after && after.nodeType === 3 && /^\S/.test(after.data)) {
    const r = charRect(after, 0);
    if (r && r.top >= last.bottom - 2) orphans.push('"' + after.data.slice(0, 20) + '" starts a line after ' + (texOf.get(c) || '').slice(0, 40));
  }
  if (before && before.nodeType === 3 && /\S$/.test(before.data)) {
    const r = charRect(before, before.data.length - 1);
    if (r && first.top >= r.bottom - 2) orphans.push('"' + before.data.slice(-20) + '" ends the line before ' + (texOf.get(c) || '').slice(0, 40));
  }
});
return {equations: out, inline: inline, orphans: orphans, pageWidth: widest, viewport: window.innerWidth, device: device, culprits: culprits};
"""


def measure_equations(driver) -> dict:
    """Display equations of the current page with their rendered width and column width (CSS px)."""
    return driver.execute_script(_MEASURE_JS)


def page_weight(driver) -> dict[str, int]:
    """Bytes the current page loaded (decoded bodies): total and per kind (script, css, font, img, ...)."""
    return driver.execute_script(
        """
        const kinds = {};
        const nav = performance.getEntriesByType('navigation')[0];
        kinds.html = nav ? nav.decodedBodySize : 0;
        for (const r of performance.getEntriesByType('resource')) {
          let k = r.initiatorType;
          const u = r.name.split('?')[0];
          if (/\\.(woff2?|ttf|otf|eot)$/.test(u)) k = 'font';
          else if (/\\.css$/.test(u)) k = 'css';
          else if (/\\.js$/.test(u)) k = 'script';
          else if (/\\.(png|svg|jpe?g|gif|ico|webp)$/.test(u)) k = 'img';
          kinds[k] = (kinds[k] || 0) + r.decodedBodySize;
        }
        kinds.total = Object.values(kinds).reduce((a, b) => a + b, 0);
        return kinds;
        """
    )


_OPEN_ALL_JS = r"""
document.querySelectorAll('details').forEach((d) => { d.open = true; });
document.querySelectorAll('.toggle-hidden').forEach((e) => e.classList.remove('toggle-hidden'));
document.querySelectorAll('.dropdown, .toggle').forEach((e) => e.classList.add('toggle-shown'));
"""


def chapter_urls(lang: str) -> list[str]:
    """Site-relative URLs of the chapter pages (index + every NN_*.ipynb) of one edition."""
    return [f"{lang}/chapters/{lang}/index.html"] + [f"{lang}/chapters/{lang}/{nb.stem}.html" for nb in notebooks(lang)]


#: Pages of an edition besides its chapters: the back matter, the search page and the indices.
BACK_MATTER = ("course_plan", "glossary", "notation", "bibliography")


def page_urls(lang: str) -> list[str]:
    """Every page of an edition a reader opens: the chapters, the back matter, search and the proof index."""
    urls = chapter_urls(lang) + [f"{lang}/chapters/{lang}/{name}.html" for name in BACK_MATTER]
    return urls + [f"{lang}/search.html", f"{lang}/genindex.html", f"{lang}/prf-prf.html"]


def overflowing_equations(driver, url: str, tolerance: int = 1) -> list[dict]:
    """Display equations of page ``url`` wider than their column (all hidden blocks opened)."""
    driver.get(url)
    wait_for_mathjax(driver)
    driver.execute_script(_OPEN_ALL_JS)
    data = measure_equations(driver)
    return [e for e in data["equations"] if e["width"] > e["column"] + tolerance]


def long_code_lines(path: Path, limit: int = 88, shown_only: bool = False) -> list[tuple[int, int, str]]:
    """``(cell number, length, line)`` of every code line longer than ``limit`` (the Colab cell aside;
    with ``shown_only`` also the cells removed from the page: ``remove-cell``/``remove-input``)."""
    found = []
    for i, cell in enumerate(load(path)["cells"], start=1):
        if cell["cell_type"] != "code" or "colab-setup" in tags(cell):
            continue
        if shown_only and {"remove-cell", "remove-input"} & set(tags(cell)):
            continue
        for line in source(cell).splitlines():
            if len(line) > limit:
                found.append((i, len(line), line))
    return found


def ruff_unformatted(paths: list[Path]) -> list[str]:
    """Notebooks that ``ruff format --check --line-length 88`` would reformat (relative paths)."""
    result = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--line-length", "88",
                             *map(str, paths)], cwd=ROOT, capture_output=True, text=True)
    bad = set()
    for line in result.stdout.splitlines():  # "Would reformat: X" (older ruff) or "  --> X:cell 3:1:2"
        m = re.match(r"\s*(?:Would reformat:|-->)\s*(\S+?\.ipynb)", line)
        if m:
            bad.add(Path(m.group(1)).resolve().relative_to(ROOT).as_posix())
    if result.returncode not in (0, 1):
        raise RuntimeError(f"ruff format failed: {result.stderr[-2000:]}")
    return sorted(bad)


def overflow_report(site: Path = SITE) -> str:
    """Markdown: per chapter and edition, the display equations wider than their column at 1400 and
    390 px, and the code lines over 88 columns per notebook."""
    import datetime

    base, server = serve(site)
    rows: dict[tuple[str, str], list[str]] = {}
    try:
        for name, (width, height) in WIDTHS.items():
            driver = make_driver(width, height)
            try:
                for lang in EDITIONS:
                    for rel in chapter_urls(lang):
                        if not (site / rel).is_file():
                            continue
                        for e in overflowing_equations(driver, f"{base}/{rel}"):
                            what = f"`{e['label']}`" if e["label"] else f"`{e['tex'][:60]}`"
                            rows.setdefault((rel, lang), []).append(
                                f"| {width} | {what} | {e['width']} px | {e['column']} px | {e['section']} |")
            finally:
                driver.quit()
    finally:
        server.shutdown()
    now = datetime.datetime.now().strftime("%H:%M")
    out = [f"# Overflow report (generated {now} by `python tests/book_support.py overflow` from `_build/html`)", "",
           "Display equations wider than the text column (MathJax-rendered width vs column width, CSS px;",
           "hidden blocks such as solutions opened). At 390 px at most two per chapter may remain, and they",
           "scroll in their own box; at 1400 px none. Label = the equation's `(label)`, else its first 60 TeX chars.",
           ""]
    for lang in EDITIONS:
        out += [f"## Edition `{lang}`", ""]
        for rel in chapter_urls(lang):
            eqs = rows.get((rel, lang), [])
            n1400 = sum(1 for r in eqs if r.startswith("| 1400"))
            out.append(f"### {Path(rel).stem} — {n1400} at 1400 px, {len(eqs) - n1400} at 390 px")
            if eqs:
                out += ["", "| px | equation | width | column | section |", "|---|---|---|---|---|", *eqs]
            out.append("")
    out += ["## Output images without a figure caption (alt text falls back to \"그림: <title>\")", "",
            "Give the cell `mystnb.figure` metadata with a `caption` (and a `name`) in its language.", ""]
    for lang in EDITIONS:
        for rel in chapter_urls(lang):
            path = site / rel
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            bare = re.findall(r'<img alt="(?:그림|Figure): [^"]*" src="[^"]*_images/', text)
            reprs = re.findall(r"&lt;[\w.]+ (?:object )?at 0x[0-9a-f]+&gt;", text)
            if bare or reprs:
                out.append(f"- `{rel}`: {len(bare)} image(s) without caption"
                           + (f"; stray reprs: {sorted(set(reprs))}" if reprs else ""))
    out.append("")
    out += ["## Shown code lines over 88 columns (code cells on the page; the hidden lang/Colab cells aside)", ""]
    unformatted = set(ruff_unformatted(notebooks()))
    for path in notebooks():
        rel = path.relative_to(ROOT).as_posix()
        lines = long_code_lines(path, shown_only=True)
        flag = "ruff format --check: would reformat" if rel in unformatted else "ruff format --check: ok"
        out.append(f"- `{rel}`: {len(lines)} line(s) > 88; {flag}"
                   + "".join(f"\n    - cell {c}: {n} chars: `{t.strip()[:70]}`" for c, n, t in lines[:8])
                   + (f"\n    - ... {len(lines) - 8} more" if len(lines) > 8 else ""))
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # python tests/book_support.py overflow [OUT.md]
    if len(sys.argv) >= 2 and sys.argv[1] == "overflow":
        text = overflow_report()
        if len(sys.argv) > 2:
            Path(sys.argv[2]).write_text(text, encoding="utf-8")
        print(text)
    else:
        raise SystemExit("usage: python tests/book_support.py overflow [OUT.md]")
