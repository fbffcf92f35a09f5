"""The Colab set-up cell: the first cell of every notebook, generated from ``_config.yml``.

The cell is byte-identical in every notebook. On Google Colab it pip-installs ``vae_lib`` from
the book's repository, pinned to the branch/ref the book is built from (``repository.url`` and
``repository.branch`` in ``_config.yml``), together with a Korean font package for matplotlib.
If that install fails, the cell raises an error naming the setting to change
(``repository.url`` in ``_config.yml``). Anywhere else it does nothing. Its tags hide it in the
rendered book. The cell is ruff-formatted (88 columns) like the rest of the notebook code.

``python -m book sync-colab`` (also run by every ``python -m book build``) rewrites the cell in
every notebook under ``chapters/`` so that changing the repository in ``_config.yml`` is enough;
``tests/test_notebooks_clean.py`` checks that all notebooks agree with ``_config.yml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
TAGS = ["remove-cell", "colab-setup"]

_TEMPLATE = '''\
# Colab set-up: on Google Colab, installs vae_lib (from the book's repository) and a
# Korean font for matplotlib; does nothing anywhere else.
# Generated from _config.yml by `python -m book sync-colab`: do not edit by hand.
import sys

VAE_BOOK_REPOSITORY = "{url}"
VAE_BOOK_REF = "{ref}"
if "google.colab" in sys.modules:
    import subprocess

    package = f"vae_lib @ git+{{VAE_BOOK_REPOSITORY}}@{{VAE_BOOK_REF}}"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", package]
    if subprocess.run([*pip, "koreanize-matplotlib"]).returncode != 0:
        raise RuntimeError(
            f"Could not install vae_lib from {{VAE_BOOK_REPOSITORY}}@{{VAE_BOOK_REF}}. "
            "If the book lives in another repository, change repository.url (and "
            "repository.branch) in _config.yml and run `python -m book sync-colab`. / "
            "vae_lib 설치 실패: 저장소가 다르면 _config.yml의 repository.url"
            "(과 repository.branch)을 고치고 `python -m book sync-colab`을 실행하세요."
        )'''


def repository(config_path: Path = CONFIG) -> tuple[str, str]:
    """``(repository.url, repository.branch)`` from ``_config.yml``."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    url, ref = repo.get("url"), repo.get("branch")
    if not url or not ref:
        raise ValueError(f"{config_path}: set repository.url and repository.branch")
    return str(url).rstrip("/"), str(ref)


def colab_cell_source(config_path: Path = CONFIG) -> str:
    """The exact source text of the set-up cell for the repository in ``_config.yml``."""
    url, ref = repository(config_path)
    return _TEMPLATE.format(url=url, ref=ref)


def colab_cell(config_path: Path = CONFIG) -> dict:
    """The set-up cell as an nbformat-4 code cell dict (no outputs, no execution count)."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(TAGS)},
        "outputs": [],
        "source": colab_cell_source(config_path).splitlines(keepends=True),
    }


def notebooks(root: Path = ROOT) -> list[Path]:
    """Every chapter notebook of both editions, sorted."""
    return sorted((root / "chapters").glob("*/*.ipynb"))


def _hide_lang_cell(cells: list[dict], modify: bool = True) -> bool:
    """Add ``remove-cell`` to the tags of the ``lang`` cell (its strings are not for the page).

    Returns True if the tag was missing (and, with ``modify``, has been added).
    """
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "lang" in tags and "remove-cell" not in tags:
            if modify:
                cell.setdefault("metadata", {})["tags"] = [*tags, "remove-cell"]
            return True
    return False


def sync_notebook(path: Path, config_path: Path = CONFIG) -> bool:
    """Make the first cell of ``path`` the set-up cell; return True if the file changed.

    A first cell tagged ``colab-setup`` is replaced (keeping its ``id``); otherwise the cell is
    inserted in front. A rewritten file gets nbformat's JSON layout; a file already in sync is not touched.
    """
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cell = colab_cell(config_path)
    cells = nb.setdefault("cells", [])
    if cells and "colab-setup" in cells[0].get("metadata", {}).get("tags", []):
        if "id" in cells[0]:
            cell["id"] = cells[0]["id"]
        merged = {**cells[0], **cell, "metadata": {**cells[0].get("metadata", {}), "tags": list(TAGS)}}
        if merged == cells[0] and not _hide_lang_cell(cells, modify=False):
            return False  # already in sync: leave the file's bytes alone
        cells[0] = merged
    else:
        if nb.get("nbformat_minor", 0) >= 5:
            cell["id"] = "colab-setup"
        cells.insert(0, cell)
    _hide_lang_cell(cells)
    new_text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"  # as nbformat.write
    path.write_text(new_text, encoding="utf-8")
    return True


def sync_all(root: Path = ROOT) -> list[Path]:
    """Sync every notebook; return the ones that were rewritten."""
    return [p for p in notebooks(root) if sync_notebook(p, root / "_config.yml")]
