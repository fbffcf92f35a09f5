"""What ``python -m book build`` checks before any notebook runs (``book/build.py`` calls :func:`run` first).

1. **Data.** Each chapter notebook that loads MNIST (``load_mnist(...)`` without ``fallback=True``)
   or statically binarized MNIST (``load_binarized_mnist(...)``) is found by reading its code
   (:func:`data_needs`), and the files it needs are looked up where ``vae_lib.data`` looks for
   them (``$VAE_LIB_DATA`` or the per-user cache; ``<folder>/mnist/`` and ``<folder>/`` itself).
   Missing files are downloaded now, through ``vae_lib.data``, when a mirror answers; otherwise
   the build stops at once with one message that names the files, the folders it looked in and
   the fix, before a notebook, npm or Sphinx has run. ``VAE_BOOK_OFFLINE=1`` skips the download
   attempt.
2. **The notebook cache, by data.** jupyter-cache keys a notebook on its code only, and
   ``book/build.py`` clears the whole cache when the data state changes. When only the data
   changed (the files found, scikit-learn installed or not; same ``vae_lib`` and figure
   settings), :func:`scope_cache_to_data` removes the cached outputs of the notebooks that read
   data and nothing else, then records the new state, so the build re-executes those notebooks
   only.
"""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
DATA_STAMP = ROOT / "_build" / ".jupyter_cache.data.json"
OFFLINE_ENV = "VAE_BOOK_OFFLINE"

_CALL = re.compile(r"\b(load_mnist|load_binarized_mnist)\(([^()]*)\)")
_SPLIT = re.compile(r"""^\s*["'](\w+)["']""")


@dataclass
class Need:
    """One data file a chapter notebook reads."""

    name: str  # file name as the mirrors serve it
    subdir: str  # vae_lib's subfolder for it
    candidates: tuple[str, ...]  # names accepted on disk (the last one is downloaded)
    mirrors: tuple[str, ...]
    notebooks: set[str] = field(default_factory=set)


def _calls(code: str) -> list[tuple[str, list[str]]]:
    """``(function, splits)`` of each data-loading call in ``code`` that cannot fall back."""
    found = []
    for match in _CALL.finditer(code):
        func, args = match.groups()
        if func == "load_mnist" and re.search(r"fallback\s*=\s*True", args):
            continue
        split = _SPLIT.match(args)
        if split:
            splits = [split.group(1)]
        else:
            splits = ["train", "test"] if func == "load_mnist" else ["test"]
            keyword = re.search(r"""split\s*=\s*["'](\w+)["']""", args)
            splits = [keyword.group(1)] if keyword else splits
        found.append((func, splits))
    return found


def data_needs(notebooks: list[Path]) -> dict[str, Need]:
    """File name → :class:`Need`, for every data file the given notebooks load without a fallback."""
    from vae_lib import data

    needs: dict[str, Need] = {}
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        for func, splits in _calls(code):
            for split in splits:
                if func == "load_mnist" and split in data.MNIST_FILES:
                    for name in data.MNIST_FILES[split]:
                        need = needs.setdefault(name, Need(name, "mnist", (name,), data.MNIST_MIRRORS))
                        need.notebooks.add(path.stem)
                elif func == "load_binarized_mnist" and split in data.BINARIZED_SPLITS:
                    plain = f"binarized_mnist_{split}.amat"
                    need = needs.setdefault(plain, Need(plain, "binarized-mnist", (plain + ".gz", plain),
                                                        data.BINARIZED_MIRRORS))
                    need.notebooks.add(path.stem)
    return needs


def data_notebooks(notebooks: list[Path]) -> set[str]:
    """Stems of the notebooks whose output depends on the data found (a fallback counts)."""
    out = set()
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        if _CALL.search(code) or "load_digits_8x8" in code:
            out.add(path.stem)
    return out


def _present(need: Need) -> bool:
    from vae_lib import data

    return not isinstance(data._locate(list(need.candidates), need.subdir, need.mirrors, None, False), str)


def _online(mirrors: tuple[str, ...], timeout: float = 5.0) -> bool:
    """True if the first mirror answers at all (one request, ``timeout`` seconds at most)."""
    from vae_lib import data

    if os.environ.get(OFFLINE_ENV) == "1" or not mirrors:
        return False
    try:
        with data._URL_OPENER(mirrors[0], timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # the server answered (e.g. 403 on the folder itself)
    except (OSError, ValueError, socket.timeout):
        return False


def _chapters(stems) -> str:
    return ", ".join(sorted({s.split("_")[0] for s in stems}))


def missing_data_message(missing: list[Need], folder: Path, all_notebooks: list[Path], reason: str) -> str:
    """The one message of a build that lacks data (see the module docstring)."""
    from vae_lib import data

    needing = set().union(*(n.notebooks for n in missing))
    serve = sorted({p.stem.split("_")[0] for p in all_notebooks} - {s.split("_")[0] for s in needing})
    subdirs = sorted({n.subdir for n in missing})
    where = " and ".join(f"{folder / s}{os.sep}" for s in subdirs) + f" (or directly in {folder}{os.sep})"
    source = (f"${data.ENV_VAR}" if os.environ.get(data.ENV_VAR)
              else f"the per-user cache; ${data.ENV_VAR} is not set")
    lines = [
        f"error: the book cannot be built: chapter(s) {_chapters(needing)} read data files that are not here ({reason}).",
        "  missing: " + ", ".join(f"{n.subdir}/{n.name}" + ("[.gz]" if n.subdir == "binarized-mnist" else "")
                                  + f" (chapter {_chapters(n.notebooks)})" for n in missing),
        f"  looked in: {where}, the data folder from {source}",
        "  fix: rerun when online (the files are downloaded and checked, about 30 MB), or copy them there, "
        f"or point {data.ENV_VAR} at a folder that has mnist/ and binarized-mnist/ with them "
        f"(export {data.ENV_VAR}=/path/to/data; README, 'Data directory').",
        f"  without the files only chapter(s) {', '.join(serve)} can run (chapter 00 shows scikit-learn's 8x8 digits "
        "as its fallback); the chapters above need MNIST itself.",
        "  Nothing was executed.",
    ]
    return "\n".join(lines)


def check_data(notebooks: list[Path]) -> str:
    """Make sure the data the notebooks read is here (downloading it if a mirror answers).

    Returns a one-line note; raises ``SystemExit`` with :func:`missing_data_message` otherwise.
    """
    from vae_lib import data

    needs = data_needs(notebooks)
    missing = [n for n in needs.values() if not _present(n)]
    if not missing:
        return f"data: all {len(needs)} file(s) the chapters read are in {data.default_data_dir()}"
    folder = data.default_data_dir()
    if _online(missing[0].mirrors):
        still = []
        for need in missing:
            print(f"  downloading {need.name} into {folder / need.subdir}", flush=True)
            got = data._locate(list(need.candidates), need.subdir, need.mirrors, None, True)
            if isinstance(got, str):
                still.append(need)
        if not still:
            return f"data: downloaded {len(missing)} file(s) into {folder}"
        raise SystemExit(missing_data_message(still, folder, notebooks, "the download failed"))
    reason = "offline: no mirror answered" if os.environ.get(OFFLINE_ENV) != "1" else f"{OFFLINE_ENV}=1"
    raise SystemExit(missing_data_message(missing, folder, notebooks, reason))


def scope_cache_to_data(notebooks: list[Path]) -> list[str]:
    """Keep the notebook cache when only the data changed, minus the notebooks that read data.

    Returns the notebook stems whose cached outputs were removed. See the module docstring.
    """
    from book import build

    if os.environ.get("VAE_BOOK_DEV_KEEP_CACHE") == "1":
        return []
    state = build.data_state()
    data_part = {k: v for k, v in state.items() if k != "folder"}
    rest = build.build_fingerprint(ROOT, {})  # vae_lib and the kernel profile, no data
    old = json.loads(DATA_STAMP.read_text()) if DATA_STAMP.is_file() else None
    removed: list[str] = []
    old_full = build.CACHE_STAMP.read_text().strip() if build.CACHE_STAMP.is_file() else None
    if (old and old.get("rest") == rest and old.get("data") != data_part and build.CACHE.exists()
            and old_full == build.build_fingerprint(ROOT, {**old["data"], "folder": ""})):
        from jupyter_cache import get_cache

        stems = data_notebooks(notebooks)
        cache = get_cache(str(build.CACHE))
        for record in cache.list_cache_records():
            if Path(record.uri).stem in stems:
                cache.remove_cache(record.pk)
                removed.append(Path(record.uri).stem)
        build.CACHE_STAMP.write_text(build.build_fingerprint(ROOT, state) + "\n")  # the rest stays valid
    DATA_STAMP.parent.mkdir(parents=True, exist_ok=True)
    DATA_STAMP.write_text(json.dumps({"rest": rest, "data": data_part}, sort_keys=True) + "\n")
    return sorted(set(removed))


def run(languages=("ko", "en"), chapters: Path = CHAPTERS) -> None:
    """Everything above, printed; the first line of ``book.build.main``."""
    notebooks = sorted(p for lang in languages for p in (chapters / lang).glob("[0-9][0-9]_*.ipynb"))
    print(check_data(notebooks), flush=True)
    removed = scope_cache_to_data(notebooks)
    if removed:
        print(f"  data changed: cached outputs removed for {len(removed)} notebook(s) that read data: "
              + ", ".join(removed), flush=True)
