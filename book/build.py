"""Build the two editions of the book into one site: ``python -m book build``.

Steps (each one timed and printed):

1. ``sync-colab``: the Colab set-up cell of every notebook is regenerated from ``_config.yml``.
2. ``npm``: MathJax (pinned in ``package.json``/``package-lock.json``) is installed into
   ``node_modules/`` unless the pinned version is already there.
3. ``cache``: the jupyter-cache (``_build/.jupyter_cache``, shared by both editions) is cleared
   when anything a notebook's output depends on, besides its own code, changed since the last
   build (:func:`build_fingerprint`): the files of ``vae_lib`` (code, shipped results, the
   figure style), the kernel's figure settings, and **which data the notebooks can load** (the
   MNIST files found, whether scikit-learn is installed). jupyter-cache only keys on the
   notebook's code, so a notebook that ran on a fallback (no MNIST: vae_lib's 8x8 digits) would
   otherwise be reused after the real data arrived.
4. ``ko`` / ``en``: ``jupyter-book build . --all -W --keep-going`` for the Korean edition
   (``_config.yml``, ``_toc.yml``) and the English edition (a config and TOC derived from them
   and written to ``_build/.editions/en/``), each into ``_build/editions/<lang>/``.
   Notebooks are executed through the cache: ``--all`` re-reads every page but reuses cached
   outputs of unchanged notebooks.
5. ``site``: ``_build/html/`` gets ``index.html`` (choose a language), ``404.html``, the favicon
   + ``ko/`` + ``en/``, and ``_build/exec_times.txt`` lists each notebook's execution time from
   the cache. The build prints which data each edition's notebooks ran on (and names every
   page that shows vae_lib's fallback warning).

Notebook kernels of the build draw figures as HiDPI ("retina") PNGs in the book's figure style
(``vae_lib.plots.BOOK_RC``), set through an IPython profile in ``_build/.ipython``.

Exit status 0 only if every edition built without a warning and every notebook ran.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import yaml

from book import sync_colab_cell

ROOT = Path(__file__).resolve().parent.parent
#: Output folder of a build. ``VAE_BOOK_BUILD_DIR`` moves the site and the editions elsewhere
#: (two builds side by side); the notebook cache stays shared in ``_build/.jupyter_cache``.
BUILD = Path(os.environ.get("VAE_BOOK_BUILD_DIR") or ROOT / "_build").resolve()
SITE = BUILD / "html"
EDITIONS_OUT = BUILD / "editions"
DERIVED = BUILD / ".editions"
CACHE = ROOT / "_build" / ".jupyter_cache"
CACHE_STAMP = ROOT / "_build" / ".jupyter_cache.vae_lib.sha256"
IPYTHON_DIR = BUILD / ".ipython"  # kernel profile of THIS build (figure format and style): not shared between builds
FAVICON = Path(__file__).resolve().parent / "_static" / "favicon.svg"
NOT_FOUND = Path(__file__).resolve().parent / "landing" / "404.html"
#: vae_lib's warning when a notebook falls back to the 8x8 digits (vae_lib/data.py)
FALLBACK_MARK = "falling back to scikit-learn"
EXEC_REPORT = BUILD / "exec_times.txt"
LANDING = Path(__file__).resolve().parent / "landing" / "index.html"
LANGUAGES = ("ko", "en")

#: What the English edition changes in the Korean ``_config.yml`` (merged recursively).
EDITION_OVERRIDES: dict[str, dict] = {
    "ko": {},
    "en": {
        "title": "Variational Autoencoders, Step by Step",
        "author": "VAE Book contributors",
        "sphinx": {
            "config": {
                "language": "en",
                "html_search_language": "en",
                "lang_switch_this": "en",
                "lang_switch_other": "ko",
                "lang_switch_label": "한국어",
                "bibtex_reference_style": "author_year",
            }
        },
    },
}


def deep_merge(base: dict, update: dict) -> dict:
    """A copy of ``base`` with ``update`` merged in (nested dicts merged, other values replaced)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _swap_lang(value: object, src: str, dst: str) -> object:
    """Replace ``chapters/<src>/`` by ``chapters/<dst>/`` in every string of a TOC structure."""
    if isinstance(value, str):
        return value.replace(f"chapters/{src}/", f"chapters/{dst}/")
    if isinstance(value, list):
        return [_swap_lang(v, src, dst) for v in value]
    if isinstance(value, dict):
        return {k: _swap_lang(v, src, dst) for k, v in value.items()}
    return value


def edition_config(lang: str, root: Path = ROOT) -> dict:
    """The ``_config.yml`` of edition ``lang``: the Korean one plus :data:`EDITION_OVERRIDES`.

    Relative paths that Jupyter Book resolves against the working directory (local extension
    folders, the execution cache, the bibliography) are made absolute, so the derived file
    works wherever it is written.
    """
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config = deep_merge(config, EDITION_OVERRIDES[lang])
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {
        name: str((root / path).resolve()) for name, path in (sphinx.get("local_extensions") or {}).items()
    }
    config["bibtex_bibfiles"] = [str((root / p).resolve()) for p in config.get("bibtex_bibfiles", [])]
    execute = config.setdefault("execute", {})
    execute["cache"] = str((root / execute.get("cache", "_build/.jupyter_cache")).resolve())
    return config


def edition_toc(lang: str, root: Path = ROOT) -> dict:
    """The ``_toc.yml`` of edition ``lang``: every ``chapters/ko/`` path becomes ``chapters/<lang>/``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return _swap_lang(toc, "ko", lang)  # type: ignore[return-value]


def write_edition_files(lang: str, root: Path = ROOT, out: Path = DERIVED) -> tuple[Path, Path]:
    """Write the derived ``_config.yml`` and ``_toc.yml`` of ``lang`` under ``out/<lang>/``."""
    folder = out / lang
    folder.mkdir(parents=True, exist_ok=True)
    header = f"# GENERATED by `python -m book build` from {root / '_config.yml'} / _toc.yml. Do not edit.\n"
    cfg, toc = folder / "_config.yml", folder / "_toc.yml"
    cfg.write_text(header + yaml.safe_dump(edition_config(lang, root), allow_unicode=True, sort_keys=False), "utf-8")
    toc.write_text(header + yaml.safe_dump(edition_toc(lang, root), allow_unicode=True, sort_keys=False), "utf-8")
    return cfg, toc


def vae_lib_fingerprint(root: Path = ROOT) -> str:
    """SHA-256 over the path and bytes of every file in ``vae_lib/`` (code and the shipped results), bytecode aside."""
    digest = hashlib.sha256()
    files = (p for p in (root / "vae_lib").rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def kernel_config() -> str:
    """IPython kernel configuration of the build: retina PNGs in the book's figure style.

    The style is written out as a literal: importing vae_lib (and so matplotlib.pyplot) from a
    kernel config would pick the Agg backend before the kernel sets up the inline one, and the
    notebooks would show no figure at all.
    """
    from vae_lib.plots import BOOK_FIGURE_FORMAT, BOOK_RC

    return (
        "# GENERATED by `python -m book build` (book/build.py): the figure settings of the book's kernels.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.InlineBackend.figure_formats = {{{BOOK_FIGURE_FORMAT!r}}}\n"
        f"c.InlineBackend.rc = {dict(BOOK_RC)!r}\n"
        "c.IPKernelApp.log_level = 'ERROR'  # not the 'running over TCP without encryption' note per kernel\n"
    )


def write_kernel_profile(folder: Path = IPYTHON_DIR) -> Path:
    """Write the IPython profile that the notebook kernels of the build use (``IPYTHONDIR``)."""
    profile = folder / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(kernel_config(), encoding="utf-8")
    return folder


def data_state() -> dict[str, object]:
    """What data the notebooks can load here, without reading it: the data folder of vae_lib,
    the names and sizes of the MNIST files found there, and whether scikit-learn is installed."""
    import importlib.util

    from vae_lib import data

    folder = data.default_data_dir()
    files = {}
    for sub in ("", "mnist", "binarized-mnist", "binarized_mnist", "MNIST/raw"):
        base = folder / sub if sub else folder
        for name in data.CHECKSUMS:
            path = base / name
            if path.is_file():
                files[f"{sub}/{name}".lstrip("/")] = path.stat().st_size
    return {
        "folder": str(folder),
        "files": dict(sorted(files.items())),
        "mnist": any(n.endswith(("idx3-ubyte.gz", "idx3-ubyte")) for n in files),
        "binarized_mnist": any("binarized_mnist" in n for n in files),
        "scikit_learn": importlib.util.find_spec("sklearn") is not None,
    }


def describe_data(state: dict[str, object]) -> str:
    """One line: which data the notebooks run on."""
    mnist = "MNIST" if state["mnist"] else "NO MNIST (notebooks use the 8x8 digits fallback)"
    binarized = "binarized MNIST" if state["binarized_mnist"] else "no binarized MNIST"
    sklearn = "scikit-learn" if state["scikit_learn"] else "no scikit-learn"
    return f"{mnist}, {binarized}, {sklearn} (data folder {state['folder']})"


def build_fingerprint(root: Path = ROOT, state: dict[str, object] | None = None) -> str:
    """SHA-256 of what the cached notebook outputs depend on besides their own code:
    :func:`vae_lib_fingerprint`, the kernel profile (:func:`kernel_config`) and :func:`data_state`."""
    digest = hashlib.sha256()
    digest.update(vae_lib_fingerprint(root).encode())
    digest.update(kernel_config().encode())
    state = data_state() if state is None else state
    digest.update(json.dumps({k: v for k, v in state.items() if k != "folder"}, sort_keys=True).encode())
    return digest.hexdigest()


def invalidate_cache_if_library_changed(root: Path = ROOT, cache: Path = CACHE, stamp: Path = CACHE_STAMP,
                                        fingerprint: str | None = None) -> bool:
    """Clear the jupyter-cache if its inputs (:func:`build_fingerprint`; by default, for a
    ``root`` other than the repository, :func:`vae_lib_fingerprint` of ``root``) changed since
    it was filled; return True if cleared."""
    if os.environ.get("VAE_BOOK_DEV_KEEP_CACHE") == "1":  # development only: never in CI
        return False
    if fingerprint is None:
        fingerprint = build_fingerprint(root) if root == ROOT else vae_lib_fingerprint(root)
    old = stamp.read_text().strip() if stamp.is_file() else None
    cleared = False
    if old != fingerprint and cache.exists():
        shutil.rmtree(cache)
        cleared = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n")
    return cleared


def _installed(root: Path, package: str, version: str) -> bool:
    pkg = root / "node_modules" / package / "package.json"
    return pkg.is_file() and json.loads(pkg.read_text())["version"] == version


def ensure_mathjax(root: Path = ROOT) -> str:
    """Install the npm packages pinned in ``package.json`` (MathJax, axe-core) if needed.

    With ``VAE_BOOK_MATHJAX=cdn`` a failing or missing npm is not an error: MathJax then comes
    from the CDN (the pages need the network). Otherwise a failure ends the build with one line
    that says what to do.
    """
    wanted = json.loads((root / "package.json").read_text())["dependencies"]
    if all(_installed(root, name, version) for name, version in wanted.items()):
        return "npm packages already installed: " + ", ".join(f"{n} {v}" for n, v in wanted.items())
    cdn = os.environ.get("VAE_BOOK_MATHJAX", "").lower() == "cdn"
    npm = shutil.which("npm")
    if npm is None:
        if cdn:
            return "npm not found; VAE_BOOK_MATHJAX=cdn: MathJax comes from the CDN"
        raise SystemExit("npm is needed to install MathJax (apt-get install npm), or set VAE_BOOK_MATHJAX=cdn")
    command = [npm, "ci" if (root / "package-lock.json").is_file() else "install", "--no-audit", "--no-fund"]
    try:
        subprocess.run(command, cwd=root, check=True, capture_output=True, text=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        detail = (getattr(err, "stderr", "") or str(err)).strip().splitlines()
        reason = next((line for line in detail if "ERR" in line), detail[-1] if detail else "")
        if cdn and not _installed(root, "mathjax", wanted["mathjax"]):
            print(f"  `npm {command[1]}` failed ({reason[:120]}); VAE_BOOK_MATHJAX=cdn: MathJax comes from the CDN")
            return "npm failed; MathJax from the CDN (VAE_BOOK_MATHJAX=cdn)"
        if cdn:
            return f"npm failed ({reason[:80]}); the MathJax already in node_modules is used"
        raise SystemExit(f"`npm {command[1]}` failed ({reason[:160]}): the npm registry may be unreachable. "
                         "Build with VAE_BOOK_MATHJAX=cdn to load MathJax from its CDN instead (README).")
    return "npm packages installed with " + " ".join(command[1:2]) + ": " + ", ".join(wanted)


def book_env() -> dict[str, str]:
    """Environment of the build (inherited by the notebook kernels)."""
    env = dict(os.environ)
    env.setdefault("TQDM_DISABLE", "1")  # progress bars are noise in a static page
    env["IPYTHONDIR"] = str(write_kernel_profile())  # retina figures in the book's style
    return env


def build_edition(lang: str, root: Path = ROOT) -> int:
    """Run ``jupyter-book build`` for one edition; return its exit status."""
    out = EDITIONS_OUT / lang
    jupyter_book = Path(sys.executable).parent / "jupyter-book"  # the CLI of this environment
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", str(root),
               "--all", "-W", "--keep-going", "--path-output", str(out)]
    if lang != "ko":
        cfg, toc = write_edition_files(lang, root)
        command += ["--config", str(cfg), "--toc", str(toc)]
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, cwd=root, env=book_env()).returncode


def _edition_title(lang: str, root: Path = ROOT) -> str:
    return str(edition_config(lang, root).get("title", lang))


def assemble_site(languages: Iterable[str], root: Path = ROOT, site: Path = SITE) -> None:
    """``site/<lang>/`` from each edition's HTML, plus the language chooser ``site/index.html``."""
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    for lang in languages:
        built = EDITIONS_OUT / lang / "_build" / "html"
        shutil.copytree(built, site / lang)
    landing = LANDING.read_text(encoding="utf-8")
    for lang in LANGUAGES:
        landing = landing.replace(f"{{{{title_{lang}}}}}", html.escape(_edition_title(lang, root)))
    landing = landing.replace("{{pictures}}", landing_pictures(site, languages))
    landing = landing.replace("{{path}}", landing_path(site, languages))
    (site / "index.html").write_text(landing, encoding="utf-8")
    for lang in languages:  # Jupyter Book's redirect page names no icon: the browser asked for /favicon.ico (404)
        redirect = site / lang / "index.html"
        text = redirect.read_text(encoding="utf-8") if redirect.is_file() else ""
        if text and 'rel="icon"' not in text:
            icon = '<link rel="icon" href="_static/favicon.svg" type="image/svg+xml">'
            text = text.replace("<head>", "<head>\n" + icon, 1) if "<head>" in text else icon + "\n" + text
            redirect.write_text(text, encoding="utf-8")
    not_found = NOT_FOUND.read_text(encoding="utf-8")
    for lang in LANGUAGES:
        not_found = not_found.replace(f"{{{{title_{lang}}}}}", html.escape(_edition_title(lang, root)))
    (site / "404.html").write_text(not_found, encoding="utf-8")
    shutil.copy2(FAVICON, site / "favicon.svg")
    (site / ".nojekyll").write_text("")


#: The landing page's pictures of what the book builds: (figure label, page) of the English edition
#: (the same images in both editions), and their captions.
LANDING_FIGURES = (
    ("fig-ch10-samples", "10_results", "플래그십 VAE가 그린 숫자 64개", "64 digits drawn by the flagship VAE"),
    ("fig-ch08-latent-manifold", "08_training_a_vae", "2차원 잠재 공간을 디코딩한 지도", "the 2-D latent plane, decoded"),
)

#: One line per chapter for the landing page's preview of the path: (Korean, English).
PATH_LINES = {
    "00": ("실행 환경, 데이터, 첫 그림", "set-up: device, data, a first plot"),
    "01": ("데이터의 분포를 배우는 모델과 레이블만 맞히는 모델", "models that learn p(x) and models that only predict y"),
    "02": ("정규분포와 베르누이 분포, 가능도를 손실로", "Gaussians and Bernoullis; likelihoods as losses"),
    "03": ("사전 확률, 사후 확률, 잠재 변수", "priors, posteriors and latent variables"),
    "04": ("두 분포의 차이를 재는 잣대와 그 두 방향", "how far apart two distributions are, in both directions"),
    "05": ("압축과 복원, 그리고 잠재 공간의 구멍", "compress and reconstruct, and the holes in the latent space"),
    "06": ("사후 분포를 근사하는 하한, ELBO", "the ELBO: a lower bound to fit an approximate posterior"),
    "07": ("표본을 거쳐 기울기를 전하는 방법", "gradients through random samples"),
    "08": ("인코더와 디코더를 함께 학습하고 잠재 공간 보기", "training encoder and decoder together; the latent plane"),
    "09": ("IWAE, 사후 붕괴, β-VAE로 평가하고 확장하기", "IWAE bounds, posterior collapse, β-VAE"),
    "10": ("플래그십 모델의 그림과 성능 보고서", "the flagship model's figures and performance report"),
    "11": ("계층형 VAE, VQ-VAE, 자기회귀 모델, 확산 모델", "hierarchical VAEs, VQ-VAE, autoregressive and diffusion models"),
    "12": ("VAE의 잠재 공간에서 배우는 확산 사전 분포와 Stable Diffusion", "a diffusion prior in a VAE's latent space, and Stable Diffusion"),
}


def _page_title(path: Path) -> str:
    import re

    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    m = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
    title = re.sub(r"<[^>]+>", "", m.group(1)) if m else ""
    return html.unescape(re.sub(r"\s+", " ", title)).replace("#", "").strip()


def landing_pictures(site: Path, languages: Iterable[str]) -> str:
    """``<figure>``s of the landing page: images of :data:`LANDING_FIGURES` copied from the built site."""
    import re

    lang = "en" if "en" in languages else next(iter(languages), "")
    out = []
    for label, stem, ko, en in LANDING_FIGURES:
        page = site / lang / "chapters" / lang / f"{stem}.html"
        text = page.read_text(encoding="utf-8") if page.is_file() else ""
        m = re.search(rf'<figure[^>]*id="{re.escape(label)}".*?<img[^>]*src="([^"]+)"', text, re.S)
        if not m:
            continue
        image = (page.parent / m.group(1)).resolve()
        if not image.is_file():
            continue
        name = f"landing-{label}{image.suffix}"
        shutil.copy2(image, site / name)
        out.append(f'<figure><img src="{name}" alt="{html.escape(en)} · {html.escape(ko)}" loading="lazy">'
                   f'<figcaption><span lang="ko">{html.escape(ko)}</span> · <span lang="en">{html.escape(en)}</span></figcaption></figure>')
    return "\n".join(out)


def landing_path(site: Path, languages: Iterable[str]) -> str:
    """``<li>`` per chapter: number, titles of both editions (linked) and one line (:data:`PATH_LINES`)."""
    items = []
    for nb in sorted((ROOT / "chapters" / "ko").glob("[0-9][0-9]_*.ipynb")):
        number = nb.stem[:2]
        ko_line, en_line = PATH_LINES.get(number, ("", ""))
        titles = []
        for lang in LANGUAGES:
            rel = f"{lang}/chapters/{lang}/{nb.stem}.html"
            title = _page_title(site / rel) or nb.stem
            title = title.split(". ", 1)[1] if title[:1].isdigit() and ". " in title else title
            titles.append(f'<a href="{rel}" lang="{lang}" hreflang="{lang}">{html.escape(title)}</a>')
        items.append(f'<li><span class="num">{int(number)}</span> {titles[0]} · {titles[1]}'
                     f'<br><span class="line"><span lang="ko">{html.escape(ko_line)}</span> · '
                     f'<span lang="en">{html.escape(en_line)}</span></span></li>')
    return "\n".join(items)


def fallback_pages(lang: str) -> list[str]:
    """Chapter pages of an edition whose notebook output shows vae_lib's fallback warning."""
    folder = EDITIONS_OUT / lang / "_build" / "html" / "chapters" / lang
    return sorted(p.stem for p in folder.glob("*.html") if FALLBACK_MARK in p.read_text(encoding="utf-8"))


def execution_report(root: Path = ROOT, cache: Path = CACHE, report: Path = EXEC_REPORT) -> str:
    """Per-notebook execution times (seconds) recorded by jupyter-cache, written to ``report``."""
    from jupyter_cache import get_cache

    rows: list[tuple[str, float]] = []
    if cache.exists():
        for record in get_cache(str(cache)).list_cache_records():
            uri = Path(record.uri)
            try:
                name = uri.resolve().relative_to(root).as_posix()
            except ValueError:
                name = str(uri)
            seconds = (record.data or {}).get("execution_seconds")
            if seconds is not None:
                rows.append((name, float(seconds)))
    latest: dict[str, float] = {}
    for name, seconds in rows:  # records are in creation order: keep the newest per notebook
        latest[name] = seconds
    lines = [f"{seconds:8.1f} s  {name}" for name, seconds in sorted(latest.items())]
    lines.append(f"{sum(latest.values()):8.1f} s  total ({len(latest)} notebooks, last execution of each)")
    text = "\n".join(lines) + "\n"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")
    return text


class _Stages:
    """Times named stages and prints a summary."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float, str]] = []

    def run(self, name: str, func, *args, **kwargs):
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        result = func(*args, **kwargs)
        elapsed = time.perf_counter() - start
        self.times.append((name, elapsed, "" if result is None or "\n" in str(result).strip() else str(result)[:80]))
        print(f"=== {name}: {elapsed:.1f} s ===", flush=True)
        return result

    def summary(self) -> str:
        lines = [f"{elapsed:8.1f} s  {name}  {note}".rstrip() for name, elapsed, note in self.times]
        lines.append(f"{sum(t for _, t, _ in self.times):8.1f} s  total")
        return "\n".join(lines)


def main(editions: list[str] | None = None) -> int:
    os.chdir(ROOT)
    languages = tuple(editions) if editions else LANGUAGES
    __import__("book.preflight").preflight.run(languages)  # data here (or stop at once); cache scoped by data
    stages = _Stages()
    changed = stages.run("sync-colab", sync_colab_cell.sync_all)
    for path in changed:
        print(f"  rewrote the Colab cell of {path.relative_to(ROOT)}")
    stages.run("npm (MathJax)", ensure_mathjax)
    state = data_state()
    print(f"  data: {describe_data(state)}")
    cleared = stages.run("cache check", invalidate_cache_if_library_changed)
    print("  vae_lib, figure style or data changed: jupyter-cache cleared" if cleared
          else "  vae_lib, figure style and data unchanged: cache kept")
    failed = [lang for lang in languages if stages.run(f"build {lang}", build_edition, lang) != 0]
    for lang in languages:
        fallback = fallback_pages(lang)
        print(f"  edition {lang} ran on: {describe_data(state)}"
              + (f"; FALLBACK data shown in: {', '.join(fallback)}" if fallback else "; no page shows a fallback"))
    built = [lang for lang in languages if (EDITIONS_OUT / lang / "_build" / "html" / "index.html").is_file()]
    stages.run("assemble site", assemble_site, built)
    report = stages.run("execution report", execution_report)
    print(f"\nNotebook execution times (from jupyter-cache, {EXEC_REPORT}):\n{report}")
    print("Stage times:\n" + stages.summary())
    if failed:
        print(f"\nFAILED: edition(s) {', '.join(failed)} had warnings or notebook errors (see above).")
        return 1
    (SITE / ".build-ok").write_text("every edition built without warnings\n")  # tests/book_support.py
    print(f"\nSite: {SITE / 'index.html'}")
    return 0
