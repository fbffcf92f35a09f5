"""Build the two editions of the book into one site: ``python -m book build``.

Steps (each one timed and printed):

1. ``sync-colab``: the Colab set-up cell of every notebook is regenerated from ``_config.yml``.
2. ``npm``: MathJax (pinned in ``package.json``/``package-lock.json``) is installed into
   ``node_modules/`` unless the pinned version is already there.
3. ``cache``: the jupyter-cache (``_build/.jupyter_cache``, shared by both editions) is cleared
   when the source of ``vae_lib`` changed since the last build: jupyter-cache only keys on the
   notebook's own code, so a library change would otherwise reuse stale outputs.
4. ``ko`` / ``en``: ``jupyter-book build . --all -W --keep-going`` for the Korean edition
   (``_config.yml``, ``_toc.yml``) and the English edition (a config and TOC derived from them
   and written to ``_build/.editions/en/``), each into ``_build/editions/<lang>/``.
   Notebooks are executed through the cache: ``--all`` re-reads every page but reuses cached
   outputs of unchanged notebooks.
5. ``site``: ``_build/html/`` gets ``index.html`` (choose a language) + ``ko/`` + ``en/``, and
   ``_build/exec_times.txt`` lists each notebook's execution time from the cache.

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
EXEC_REPORT = BUILD / "exec_times.txt"
LANDING = Path(__file__).resolve().parent / "landing" / "index.html"
LANGUAGES = ("ko", "en")

#: What the English edition changes in the Korean ``_config.yml`` (merged recursively).
EDITION_OVERRIDES: dict[str, dict] = {
    "ko": {},
    "en": {
        "title": "Variational Autoencoders, Step by Step",
        "sphinx": {
            "config": {
                "language": "en",
                "html_search_language": "en",
                "lang_switch_this": "en",
                "lang_switch_other": "ko",
                "lang_switch_label": "한국어",
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


def invalidate_cache_if_library_changed(root: Path = ROOT, cache: Path = CACHE, stamp: Path = CACHE_STAMP) -> bool:
    """Clear the jupyter-cache if ``vae_lib`` changed since it was filled; return True if cleared."""
    if os.environ.get("VAE_BOOK_DEV_KEEP_CACHE") == "1":  # development only: never in CI
        return False
    fingerprint = vae_lib_fingerprint(root)
    old = stamp.read_text().strip() if stamp.is_file() else None
    cleared = False
    if old != fingerprint and cache.exists():
        shutil.rmtree(cache)
        cleared = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n")
    return cleared


def ensure_mathjax(root: Path = ROOT) -> str:
    """Install the MathJax version pinned in ``package.json`` into ``node_modules`` if needed."""
    wanted = json.loads((root / "package.json").read_text())["dependencies"]["mathjax"]
    installed_pkg = root / "node_modules" / "mathjax" / "package.json"
    if installed_pkg.is_file() and json.loads(installed_pkg.read_text())["version"] == wanted:
        return f"mathjax {wanted} already installed"
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("VAE_BOOK_MATHJAX", "").lower() == "cdn":
            return "npm not found; VAE_BOOK_MATHJAX=cdn: MathJax comes from the CDN"
        raise SystemExit("npm is needed to install MathJax (apt-get install npm), or set VAE_BOOK_MATHJAX=cdn")
    command = [npm, "ci" if (root / "package-lock.json").is_file() else "install", "--no-audit", "--no-fund"]
    subprocess.run(command, cwd=root, check=True)
    return f"mathjax {wanted} installed with {' '.join(command[1:2])}"


def book_env() -> dict[str, str]:
    """Environment of the build (inherited by the notebook kernels)."""
    env = dict(os.environ)
    env.setdefault("TQDM_DISABLE", "1")  # progress bars are noise in a static page
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
    (site / "index.html").write_text(landing, encoding="utf-8")
    (site / ".nojekyll").write_text("")


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
        self.times.append((name, elapsed, "" if result is None else str(result).splitlines()[0][:80]))
        print(f"=== {name}: {elapsed:.1f} s ===", flush=True)
        return result

    def summary(self) -> str:
        lines = [f"{elapsed:8.1f} s  {name}  {note}".rstrip() for name, elapsed, note in self.times]
        lines.append(f"{sum(t for _, t, _ in self.times):8.1f} s  total")
        return "\n".join(lines)


def main(editions: list[str] | None = None) -> int:
    os.chdir(ROOT)
    languages = tuple(editions) if editions else LANGUAGES
    stages = _Stages()
    changed = stages.run("sync-colab", sync_colab_cell.sync_all)
    for path in changed:
        print(f"  rewrote the Colab cell of {path.relative_to(ROOT)}")
    stages.run("npm (MathJax)", ensure_mathjax)
    cleared = stages.run("cache check", invalidate_cache_if_library_changed)
    print("  vae_lib changed: jupyter-cache cleared" if cleared else "  vae_lib unchanged: cache kept")
    failed = [lang for lang in languages if stages.run(f"build {lang}", build_edition, lang) != 0]
    built = [lang for lang in languages if (EDITIONS_OUT / lang / "_build" / "html" / "index.html").is_file()]
    stages.run("assemble site", assemble_site, built)
    report = stages.run("execution report", execution_report)
    print(f"\nNotebook execution times (from jupyter-cache, {EXEC_REPORT.relative_to(ROOT)}):\n{report}")
    print("Stage times:\n" + stages.summary())
    if failed:
        print(f"\nFAILED: edition(s) {', '.join(failed)} had warnings or notebook errors (see above).")
        return 1
    (SITE / ".build-ok").write_text("every edition built without warnings\n")  # tests/book_support.py
    print(f"\nSite: {SITE / 'index.html'}")
    return 0
