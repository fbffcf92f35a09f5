"""Plotting helpers for the VAE book (matplotlib only, safe with the ``Agg`` backend).

Conventions
-----------
* Images are FLAT tensors ``[N, D]`` with values in ``[0, 1]`` (``D = 784`` for 28x28 MNIST,
  ``D = 64`` for the 8x8 scikit-learn digits) or already-shaped stacks ``[N, H, W]``.
  Torch tensors (on any device, with or without ``requires_grad``) and NumPy arrays are accepted.
* Every function draws into a new figure unless an ``ax`` is given, and returns the object
  named in its docstring. Nothing here prints, and nothing calls ``plt.show()``: the notebook
  decides when a figure is shown.
* All user-visible strings (titles, row labels, legend entries) are parameters, so the Korean
  and English editions of a chapter can pass their own text. Call :func:`use_korean_font`
  once before drawing Hangul.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "BOOK_RC",
    "BOOK_FIGURE_FORMAT",
    "smallest_font_px",
    "use_book_style",
    "use_korean_font",
    "show_images",
    "plot_reconstructions",
    "plot_samples",
    "plot_latent_scatter",
    "plot_latent_manifold",
    "plot_interpolation",
    "plot_history",
]

ArrayLike = torch.Tensor | np.ndarray
DecodeFn = Callable[[torch.Tensor], torch.Tensor]

# ---------------------------------------------------------------------------------------------
# Figure style of the rendered book
# ---------------------------------------------------------------------------------------------

#: matplotlib settings of the book's figures (``python -m book build`` applies them to every
#: notebook kernel through IPython's inline backend; :func:`use_book_style` applies them by hand).
#: Sizes are in points; at ``figure.dpi = 100`` one point is 100/72 CSS px. The smallest text
#: (tick labels, legend) is 11 pt = 15.3 CSS px at full size, so it stays >= 9 px as long as a
#: figure is shown at >= 59 % of its size: the book's CSS never shrinks a figure below 62 %
#: (``book/_static/book.css``; a wider figure scrolls sideways on a phone instead).
#: ``mathtext.fontset = "dejavusans"`` draws ``$...$`` in legends and labels with the glyphs of
#: the surrounding text.
BOOK_RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "figure.titlesize": 14,
    "mathtext.fontset": "dejavusans",
    "axes.unicode_minus": True,
}
#: IPython's inline figure format in the book: PNG at twice the pixel density, shown at the CSS
#: size of a 100-dpi figure (crisp on HiDPI screens and when zoomed).
BOOK_FIGURE_FORMAT = "retina"
#: The display scale the figure style is designed for: text stays >= 9 CSS px down to this share of the
#: figure's size. ``book.css`` shows a figure at most as wide as the column, so on a phone a wide figure
#: is shown smaller than this (the reader zooms in).
BOOK_MIN_DISPLAY_SCALE = 0.62

_FONT_SIZE_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
                   "ytick.labelsize", "legend.fontsize", "legend.title_fontsize", "figure.titlesize")


def smallest_font_px(rc: Mapping[str, Any] | None = None, scale: float = 1.0) -> float:
    """CSS pixel height of the smallest font of ``rc`` (default :data:`BOOK_RC`) shown at ``scale``.

    ``px = pt * figure.dpi / 72 * scale``. Relative sizes ("small", "large") are resolved
    against ``font.size`` as matplotlib does.
    """
    from matplotlib.font_manager import font_scalings

    rc = dict(BOOK_RC if rc is None else rc)
    base = float(rc.get("font.size", mpl.rcParams["font.size"]))
    sizes = []
    for key in _FONT_SIZE_KEYS:
        value = rc.get(key, mpl.rcParams[key])
        if value is None:  # legend.title_fontsize None: the legend's own size
            continue
        sizes.append(base * font_scalings[value] if isinstance(value, str) else float(value))
    return min(sizes) * float(rc.get("figure.dpi", 100)) / 72.0 * scale


def use_book_style() -> None:
    """Apply :data:`BOOK_RC` to matplotlib (idempotent)."""
    mpl.rcParams.update(BOOK_RC)


# ---------------------------------------------------------------------------------------------
# Korean font
# ---------------------------------------------------------------------------------------------

KOREAN_FONT_FAMILY = "NanumGothic"
_registered_font_files: list[str] = []  # filled once by use_korean_font()


def _koreanize_font_dir() -> Path | None:
    """Folder holding the NanumGothic ``.ttf`` files of the ``koreanize-matplotlib`` wheel.

    ``importlib.util.find_spec`` locates a top-level package WITHOUT executing its
    ``__init__`` (importing ``koreanize_matplotlib`` itself fails on Python 3.12 when
    setuptools is missing). The wheel ships its fonts in ``koreanize_matplotlib/fonts/``.
    Returns ``None`` when the package is not installed or has no fonts folder.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        fonts = Path(location) / "fonts"
        if any(fonts.glob("*.ttf")):
            return fonts
    return None


def use_korean_font() -> str:
    """Make Hangul text render in matplotlib figures; returns the family name (``"NanumGothic"``).

    The NanumGothic TrueType files bundled with the ``koreanize-matplotlib`` wheel are
    registered with ``matplotlib.font_manager.fontManager`` (the package is located, not
    imported). Then

    * ``rcParams["font.family"] = ["sans-serif", "NanumGothic"]`` and
    * ``rcParams["font.sans-serif"] = ["DejaVu Sans", "NanumGothic", ...]``.

    Why a *list* for ``font.family``: matplotlib (>= 3.6) falls back glyph by glyph across the
    entries of ``font.family`` -- but it does NOT expand the generic ``"sans-serif"`` entry into
    the whole ``font.sans-serif`` list; only the first available font of that list is used
    (checked on matplotlib 3.11: with ``font.family = "sans-serif"`` alone, Hangul raises
    "Glyph ... missing from font(s) DejaVu Sans"). So ``"sans-serif"`` resolves to DejaVu Sans,
    which draws Latin text, digits, the Unicode minus sign of negative tick labels and Greek
    letters exactly as in the English edition, and every glyph DejaVu Sans lacks (Hangul) is
    taken from the explicit ``"NanumGothic"`` entry. ``axes.unicode_minus`` stays ``True``.

    Limitation: mathtext (text between ``$...$``) uses its own math fonts and has no such
    fallback, so a single string mixing Hangul and ``$...$`` draws boxes for the Hangul and
    logs "Font 'default' does not have a glyph". Keep Hangul out of ``$...$`` strings (write
    ``"잠재 변수 z₁"`` with Unicode subscripts, or put the math in a separate label).

    Call it BEFORE creating the figures: a ``Text`` keeps the font settings in force when it
    was created, so labels made earlier still miss Hangul glyphs.

    Idempotent: the font files are registered only on the first call; later calls only
    re-apply the two rcParams (cheap, and useful after ``plt.rcdefaults()``).

    Raises:
        RuntimeError: if neither the ``koreanize-matplotlib`` package nor a system-wide
            NanumGothic font can be found (install it with ``pip install koreanize-matplotlib``).
    """
    if not _registered_font_files:
        font_dir = _koreanize_font_dir()
        if font_dir is not None:
            for ttf in sorted(font_dir.glob("*.ttf")):
                font_manager.fontManager.addfont(str(ttf))
                _registered_font_files.append(str(ttf))
        known = {entry.name for entry in font_manager.fontManager.ttflist}
        if KOREAN_FONT_FAMILY not in known:
            raise RuntimeError(
                "No Korean font found: the NanumGothic fonts ship with the 'koreanize-matplotlib' "
                "package, which is not installed here. Run `pip install koreanize-matplotlib` "
                "(it is listed in requirements.txt) and restart the kernel."
            )
        if not _registered_font_files:  # a system-wide NanumGothic was found instead
            _registered_font_files.append(KOREAN_FONT_FAMILY)

    rest = [name for name in mpl.rcParams["font.sans-serif"]
            if name not in ("DejaVu Sans", KOREAN_FONT_FAMILY)]
    mpl.rcParams["font.sans-serif"] = ["DejaVu Sans", KOREAN_FONT_FAMILY, *rest]
    mpl.rcParams["font.family"] = ["sans-serif", KOREAN_FONT_FAMILY]
    return KOREAN_FONT_FAMILY


# ---------------------------------------------------------------------------------------------
# Image grids
# ---------------------------------------------------------------------------------------------

def _to_numpy(x: ArrayLike, name: str) -> np.ndarray:
    """Detach a tensor / array-like to a float64 NumPy array (on the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a torch.Tensor or a NumPy array; got {type(x).__name__}") from err


def _infer_image_shape(d: int, image_shape: Sequence[int] | None) -> tuple[int, int]:
    """Image height/width for flat vectors of length ``d``.

    Given ``image_shape = (H, W)`` it must satisfy ``H * W == d``; otherwise ``d`` must be a
    perfect square (784 -> 28x28, 64 -> 8x8).
    """
    if image_shape is not None:
        if len(image_shape) != 2:
            raise ValueError(f"image_shape must be (height, width); got {tuple(image_shape)}")
        h, w = int(image_shape[0]), int(image_shape[1])
        if h * w != d:
            raise ValueError(f"image_shape {(h, w)} has {h * w} pixels but each image has D={d} values")
        return h, w
    side = math.isqrt(d)
    if side * side != d:
        raise ValueError(
            f"cannot infer the image size: D={d} is not a perfect square; pass image_shape=(height, width)"
        )
    return side, side


def _as_image_stack(x: ArrayLike, image_shape: Sequence[int] | None = None, name: str = "x") -> np.ndarray:
    """Turn ``[N, D]`` or ``[N, H, W]`` input into a NumPy stack ``[N, H, W]``."""
    arr = _to_numpy(x, name)
    if arr.ndim == 2:
        h, w = _infer_image_shape(arr.shape[1], image_shape)
        arr = arr.reshape(arr.shape[0], h, w)
    elif arr.ndim == 3:
        if image_shape is not None and tuple(int(s) for s in image_shape) != arr.shape[1:]:
            raise ValueError(f"{name} has images of shape {arr.shape[1:]} but image_shape={tuple(image_shape)}")
    else:
        raise ValueError(f"{name} must have shape [N, D] (flat images) or [N, H, W]; got {tuple(arr.shape)}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} holds no images (N = 0)")
    return arr


def _image_grid(images: np.ndarray, ncol: int, pad: int = 1, pad_value: float = 0.5) -> np.ndarray:
    """Tile ``images [N, H, W]`` into one array ``[R*H + (R-1)*pad, C*W + (C-1)*pad]``.

    ``C = min(ncol, N)`` columns and ``R = ceil(N / C)`` rows, filled row by row; ``pad`` pixels
    of ``pad_value`` separate the images, and unused cells of the last row are ``pad_value``.
    """
    n, h, w = images.shape
    cols = min(ncol, n)
    rows = math.ceil(n / cols)
    grid = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad), pad_value, dtype=np.float64)
    for k in range(n):
        r, c = divmod(k, cols)
        top, left = r * (h + pad), c * (w + pad)
        grid[top:top + h, left:left + w] = images[k]
    return grid


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """Return ``ax`` or the axes of a fresh figure of size ``figsize`` (inches)."""
    if ax is not None:
        return ax
    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def _imshow_grid(ax: Axes, grid: np.ndarray) -> None:
    """Draw a grey-scale grid; values in [0, 1] are shown on a fixed 0..1 scale, else autoscaled."""
    lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
    vmin, vmax = (0.0, 1.0) if (lo >= 0.0 and hi <= 1.0) else (lo, hi)
    ax.imshow(grid, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def show_images(
    x: ArrayLike,
    nrow: int = 10,
    title: str | None = None,
    ax: Axes | None = None,
    image_shape: Sequence[int] | None = None,
) -> Axes:
    """Show images as one grey-scale grid (no ticks); returns the ``Axes``.

    Args:
        x: ``[N, D]`` flat images (``D = 784`` -> 28x28 and ``D = 64`` -> 8x8 are inferred, any
            perfect square works) or ``[N, H, W]``. Values in ``[0, 1]`` map black -> white.
        nrow: images per grid row (as in ``torchvision.utils.make_grid``); the grid has
            ``C = min(nrow, N)`` columns and ``ceil(N / C)`` rows, separated by 1-pixel grey lines.
        title: optional axes title.
        ax: draw into this axes instead of a new figure.
        image_shape: ``(H, W)`` for flat images whose ``D`` is not a perfect square.

    The axes holds exactly one ``AxesImage`` whose array has shape
    ``[R*H + R - 1, C*W + C - 1]``.
    """
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1; got {nrow}")
    images = _as_image_stack(x, image_shape)
    grid = _image_grid(images, nrow)
    ax = _new_axes(ax, figsize=(min(12.0, 0.04 * grid.shape[1] + 1), min(12.0, 0.04 * grid.shape[0] + 1)))
    _imshow_grid(ax, grid)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_reconstructions(
    x: ArrayLike,
    x_hat: ArrayLike,
    n: int = 10,
    title: str | None = None,
    row_labels: Sequence[str] = ("input", "reconstruction"),
    image_shape: Sequence[int] | None = None,
) -> Figure:
    """Inputs (top row) above their reconstructions (bottom row); returns the ``Figure``.

    Args:
        x: ``[N, D]`` or ``[N, H, W]`` inputs.
        x_hat: reconstructions with the same number of images and pixels as ``x``
            (e.g. ``model.reconstruct(x)``, ``[N, D]`` probabilities).
        n: how many pairs to show (the first ``min(n, N)``).
        title: optional figure title.
        row_labels: labels of the two rows (pass Korean strings in the Korean edition).
        image_shape: ``(H, W)`` when ``D`` is not a perfect square.

    The figure has two axes, each with one ``AxesImage`` of ``min(n, N)`` images in a row.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    if len(row_labels) != 2:
        raise ValueError(f"row_labels must hold two strings (inputs, reconstructions); got {row_labels!r}")
    inputs = _as_image_stack(x, image_shape, name="x")
    recons = _as_image_stack(x_hat, image_shape, name="x_hat")
    if inputs.shape != recons.shape:
        raise ValueError(
            f"x and x_hat must hold the same images: got {inputs.shape[0]} of {inputs.shape[1:]} "
            f"and {recons.shape[0]} of {recons.shape[1:]}"
        )
    k = min(n, inputs.shape[0])
    fig, axes = plt.subplots(2, 1, figsize=(max(3.0, 0.9 * k), 2.3), squeeze=True, layout="constrained")
    for axis, stack, label in zip(axes, (inputs[:k], recons[:k]), row_labels):
        show_images(stack, nrow=k, ax=axis)
        axis.set_ylabel(label, rotation=0, ha="right", va="center")
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_samples(
    model: Any,
    n: int = 64,
    title: str | None = None,
    generator: torch.Generator | None = None,
    image_shape: Sequence[int] | None = None,
) -> Figure:
    """Draw ``n`` samples ``x ~ p(x|z), z ~ N(0, I)`` with ``model.sample`` and show them; returns the ``Figure``.

    ``model.sample(n, generator=generator)`` must return ``[n, D]`` (means/probabilities of
    ``p(x|z)``; see ``vae_lib.models.VAE.sample``). It is called under ``torch.no_grad()``
    with an ``nn.Module`` switched to eval mode (its previous mode is restored afterwards);
    the result is moved to the CPU. The grid is ``ceil(sqrt(n))`` images wide (8x8 for 64).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    if not callable(getattr(model, "sample", None)):
        raise TypeError(f"model must have a .sample(n, generator=None) method; got {type(model).__name__}")
    was_training = model.training if isinstance(model, torch.nn.Module) else None
    try:
        if was_training is not None:
            model.eval()
        with torch.no_grad():
            samples = model.sample(n, generator=generator)
    finally:
        if was_training is not None:
            model.train(was_training)
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu()
    arr = _to_numpy(samples, "model.sample(n)")
    if arr.ndim not in (2, 3) or arr.shape[0] != n:
        raise ValueError(f"model.sample({n}) must return [n, D] images; got shape {tuple(arr.shape)}")
    side = math.ceil(math.sqrt(n))
    fig, ax = plt.subplots(figsize=(min(8.0, 0.6 * side + 1), min(8.0, 0.6 * math.ceil(n / side) + 1)))
    show_images(arr, nrow=side, ax=ax, image_shape=image_shape)
    if title is not None:
        ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------------------------
# Latent space
# ---------------------------------------------------------------------------------------------

def _check_latent_2d(z: np.ndarray, name: str = "z") -> None:
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(
            f"{name} must have shape [N, 2] (a 2-D latent space); got {tuple(z.shape)}. "
            "For a higher-dimensional z, project it first (e.g. PCA or the first two coordinates)."
        )


def plot_latent_scatter(
    z: ArrayLike,
    labels: ArrayLike | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    *,
    label_names: Sequence[str] | Mapping[int, str] | None = None,
    legend_title: str | None = None,
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
) -> Axes:
    """Scatter 2-D latent codes coloured by label; returns the ``Axes``.

    Args:
        z: ``[N, 2]`` latent codes (e.g. encoder means ``mu``).
        labels: ``[N]`` class labels. At most 10 distinct integer labels -> ``tab10`` colours
            and a legend (names from ``label_names`` if given, else the label values);
            otherwise (more classes or real-valued labels) ``viridis`` and a colourbar.
            ``None`` -> one colour.
        title: optional axes title.
        ax: draw into this axes instead of a new figure.
        label_names: legend names, a sequence indexed by the sorted distinct labels or a
            mapping ``label -> name`` (Korean names in the Korean edition).
        legend_title: title of the legend / colourbar label.
        xlabel, ylabel: axis labels.

    All ``N`` points are one ``PathCollection`` (small, semi-transparent markers).
    """
    z_np = _to_numpy(z, "z")
    _check_latent_2d(z_np)
    ax = _new_axes(ax, figsize=(5.0, 4.5))
    marker = dict(s=4, alpha=0.5, linewidths=0)
    if labels is None:
        ax.scatter(z_np[:, 0], z_np[:, 1], color="tab:blue", **marker)
    else:
        lab = _to_numpy(labels, "labels")
        if lab.shape != (z_np.shape[0],):
            raise ValueError(f"labels must have shape [N] = [{z_np.shape[0]}]; got {tuple(lab.shape)}")
        classes = np.unique(lab)
        discrete = bool(np.all(lab == np.round(lab))) and len(classes) <= 10
        if discrete:
            index = np.searchsorted(classes, lab)  # class k -> colour k of tab10
            points = ax.scatter(z_np[:, 0], z_np[:, 1], c=index, cmap="tab10", vmin=-0.5, vmax=9.5, **marker)
            handles, _ = points.legend_elements(prop="colors", alpha=1.0)
            if label_names is None:
                names = [str(int(c)) for c in classes]
            elif isinstance(label_names, Mapping):
                names = [str(label_names.get(int(c), int(c))) for c in classes]
            else:
                if len(label_names) != len(classes):
                    raise ValueError(
                        f"label_names has {len(label_names)} entries but labels have {len(classes)} classes"
                    )
                names = [str(s) for s in label_names]
            ax.legend(handles, names, title=legend_title, loc="best", fontsize="small", markerscale=1.0)
        else:
            points = ax.scatter(z_np[:, 0], z_np[:, 1], c=lab, cmap="viridis", **marker)
            colorbar = ax.figure.colorbar(points, ax=ax)
            if legend_title is not None:
                colorbar.set_label(legend_title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax


def _decode_to_images(decode_fn: DecodeFn, z: torch.Tensor, image_shape: Sequence[int] | None) -> np.ndarray:
    """Call ``decode_fn(z [M, k]) -> [M, D]`` without gradients; return ``[M, H, W]``."""
    with torch.no_grad():
        out = decode_fn(z)
    if isinstance(out, tuple):
        raise TypeError(
            "decode_fn must return one tensor [M, D] of image means; got a tuple. "
            "For a Gaussian decoder pass e.g. lambda z: model.decode(z)[0]"
        )
    arr = _to_numpy(out, "decode_fn(z)")
    if arr.ndim not in (2, 3) or arr.shape[0] != z.shape[0]:
        raise ValueError(f"decode_fn must map [M, {z.shape[1]}] to [M, D] with M={z.shape[0]}; got {tuple(arr.shape)}")
    return _as_image_stack(arr, image_shape, name="decode_fn(z)")


def latent_grid_values(n: int = 15, span: float | None = None) -> torch.Tensor:
    """The ``n`` coordinate values used on each axis of :func:`plot_latent_manifold`, ``[n]``.

    ``span=None``: standard-normal quantiles ``Phi^{-1}(p)`` at ``p = linspace(0.05, 0.95, n)``
    (the same as ``scipy.stats.norm.ppf``), so equal areas of the prior ``N(0, 1)`` lie between
    neighbouring points and the grid covers 90% of the prior mass per axis.
    ``span=s``: evenly spaced ``linspace(-s, s, n)``.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2 grid points per axis; got {n}")
    if span is None:
        p = torch.linspace(0.05, 0.95, n, dtype=torch.float64)
        return torch.special.ndtri(p).to(torch.float32)
    if not span > 0:
        raise ValueError(f"span must be a positive number (or None for Gaussian quantiles); got {span}")
    return torch.linspace(-float(span), float(span), n)


def _signed(value: float) -> str:
    """``-1.6`` -> ``"\N{MINUS SIGN}1.6"``: tick text with the typographic minus matplotlib uses."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text.replace("-", "\N{MINUS SIGN}")


def plot_latent_manifold(
    decode_fn: DecodeFn,
    n: int = 15,
    span: float | None = None,
    image_shape: Sequence[int] | None = (28, 28),
    title: str | None = None,
    ax: Axes | None = None,
    *,
    device: torch.device | str | None = None,
) -> Axes:
    """Decode an ``n x n`` grid of 2-D latent points and tile the images; returns the ``Axes``.

    Grid values per axis come from :func:`latent_grid_values` (standard-normal quantiles by
    default, so the picture covers where the prior ``N(0, I)`` puts its mass). Image ``(i, j)``
    (row ``i`` from the top, column ``j`` from the left) decodes ``z = (v[j], v[n-1-i])``, so
    ``z_1`` grows to the right and ``z_2`` grows upwards, as in :func:`plot_latent_scatter`.

    Args:
        decode_fn: maps a float32 tensor ``[n*n, 2]`` to ``[n*n, D]`` probabilities, e.g.
            ``lambda z: torch.sigmoid(model.decode(z))``. Called once, under ``torch.no_grad()``.
        n: grid points per axis (>= 2).
        span: ``None`` for quantiles, or ``s > 0`` for ``linspace(-s, s, n)``.
        image_shape: ``(H, W)`` of one decoded image (``None``: infer from a square ``D``).
        title: optional axes title.
        ax: draw into this axes instead of a new figure.
        device: where to create the latent tensor (the device of the decoder's model).
    """
    values = latent_grid_values(n, span)
    z1 = values.repeat(n)                   # columns: v[0], ..., v[n-1], v[0], ...
    z2 = values.flip(0).repeat_interleave(n)  # rows: v[n-1] (top) ... v[0] (bottom)
    z = torch.stack([z1, z2], dim=1)
    if device is not None:
        z = z.to(device)
    images = _decode_to_images(decode_fn, z, image_shape)
    _, h, w = images.shape
    grid = _image_grid(images, ncol=n, pad=0)
    ax = _new_axes(ax, figsize=(6.0, 6.0))
    _imshow_grid(ax, grid)
    # a handful of ticks at image centres, labelled with the latent value there
    # 4-5 ticks placed symmetrically about the centre (first and last image included)
    positions = np.linspace(0, n - 1, min(n, 5 if n % 2 else 4))
    idx = sorted({int(v) if v <= (n - 1) / 2 else n - 1 - int(n - 1 - v) for v in positions})
    vals = values.tolist()
    ax.set_xticks([j * w + (w - 1) / 2 for j in idx], [_signed(vals[j]) for j in idx])
    ax.set_yticks([i * h + (h - 1) / 2 for i in idx], [_signed(vals[n - 1 - i]) for i in idx])
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_interpolation(
    decode_fn: DecodeFn,
    z_a: ArrayLike,
    z_b: ArrayLike,
    steps: int = 10,
    image_shape: Sequence[int] | None = (28, 28),
    title: str | None = None,
    ax: Axes | None = None,
    *,
    endpoint_labels: Sequence[str] | None = ("$z_a$", "$z_b$"),
) -> Axes:
    """Decode the straight line between two latent codes; returns the ``Axes``.

    ``z_t = (1 - t) z_a + t z_b`` for ``t = 0, 1/(steps-1), ..., 1``, so the first and last
    codes equal ``z_a`` and ``z_b`` exactly. The images are drawn in one row.

    Args:
        decode_fn: maps ``[steps, k]`` float32 latents to ``[steps, D]`` probabilities;
            called once under ``torch.no_grad()`` with a tensor on the device of ``z_a``.
        z_a, z_b: latent codes of shape ``[k]`` (or ``[1, k]``), any ``k``.
        steps: number of images (>= 2, the two endpoints included).
        image_shape: ``(H, W)`` of one decoded image (``None``: infer from a square ``D``).
        title: optional axes title.
        ax: draw into this axes instead of a new figure.
        endpoint_labels: tick labels under the first and last image (``None``: no ticks).
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (the two endpoints); got {steps}")
    a = z_a if isinstance(z_a, torch.Tensor) else torch.as_tensor(np.asarray(z_a))
    b = z_b if isinstance(z_b, torch.Tensor) else torch.as_tensor(np.asarray(z_b))
    a = a.detach().reshape(-1) if a.dim() == 2 and a.shape[0] == 1 else a.detach()
    b = b.detach().reshape(-1) if b.dim() == 2 and b.shape[0] == 1 else b.detach()
    if a.dim() != 1 or a.shape != b.shape:
        raise ValueError(
            f"z_a and z_b must be latent vectors of the same shape [k]; got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    a = a.to(torch.float32)
    b = b.to(device=a.device, dtype=torch.float32)
    t = torch.linspace(0.0, 1.0, steps, device=a.device).unsqueeze(1)  # [steps, 1], t[0]=0, t[-1]=1
    z = (1.0 - t) * a + t * b                                          # [steps, k]
    images = _decode_to_images(decode_fn, z, image_shape)
    _, _, w = images.shape
    ax = _new_axes(ax, figsize=(max(3.0, 0.9 * steps), 1.6))
    _imshow_grid(ax, _image_grid(images, ncol=steps))
    if endpoint_labels is not None:
        if len(endpoint_labels) != 2:
            raise ValueError(f"endpoint_labels must hold two strings; got {endpoint_labels!r}")
        ax.set_xticks([(w - 1) / 2, (steps - 1) * (w + 1) + (w - 1) / 2], list(endpoint_labels))
    if title is not None:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------------------------
# Training curves
# ---------------------------------------------------------------------------------------------

def _history_columns(history: Any) -> dict[str, list[Any]]:
    """Normalise a training history to a dict of equal-length columns (``None`` where missing).

    Accepts a list of per-epoch dicts (``vae_lib.train.History``), a dict of lists, or an
    object with ``.as_dict()``.
    """
    if hasattr(history, "as_dict") and not isinstance(history, Mapping):
        history = history.as_dict()
    if isinstance(history, Mapping):
        columns = {str(k): list(v) for k, v in history.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"history columns have different lengths: { {k: len(v) for k, v in columns.items()} }")
        return columns
    if isinstance(history, Sequence) and not isinstance(history, str):
        if not all(isinstance(row, Mapping) for row in history):
            raise TypeError("history must be a list of dicts (one per epoch) or a dict of lists")
        keys: list[str] = []
        for row in history:
            keys.extend(k for k in row if k not in keys)
        return {k: [row.get(k) for row in history] for k in keys}
    raise TypeError(f"history must be a list of dicts or a dict of lists; got {type(history).__name__}")


def plot_history(
    history: Any,
    keys: Sequence[str] = ("train_elbo", "valid_elbo"),
    title: str | None = None,
    labels: Sequence[str] | Mapping[str, str] | None = None,
    ax: Axes | None = None,
    *,
    xlabel: str = "epoch",
    ylabel: str | None = None,
) -> Figure:
    """Plot training curves against the epoch; returns the ``Figure`` (that of ``ax`` if given).

    Args:
        history: a list of per-epoch dicts ``{"epoch": e, "train_elbo": ..., ...}`` (what
            ``vae_lib.train.fit`` returns), or a dict of equal-length lists. Without an
            ``"epoch"`` entry the epochs are numbered ``1, 2, ...``.
        keys: which columns to draw, one line each; keys absent from the history, or whose
            values are all ``None``, are skipped (``None`` entries are dropped point-wise).
        title: optional axes title.
        labels: legend labels, a sequence parallel to ``keys`` or a mapping ``key -> label``;
            default: the keys themselves.
        ax: draw into this axes instead of a new figure.
        xlabel, ylabel: axis labels.

    Raises:
        ValueError: if none of ``keys`` has any value in the history (the message lists the
            available keys).
    """
    columns = _history_columns(history)
    n_rows = len(next(iter(columns.values()))) if columns else 0
    if labels is not None and not isinstance(labels, Mapping) and len(labels) != len(keys):
        raise ValueError(f"labels has {len(labels)} entries but keys has {len(keys)}")
    epochs = columns.get("epoch") or list(range(1, n_rows + 1))
    lines: list[tuple[str, tuple[Any, ...], tuple[float, ...]]] = []  # (label, epochs, values)
    for i, key in enumerate(keys):
        pairs = [(e, float(v)) for e, v in zip(epochs, columns.get(key, [])) if v is not None]
        if not pairs:
            continue  # key absent, or no value recorded (e.g. valid_elbo without a validation set)
        if labels is None:
            label = key
        elif isinstance(labels, Mapping):
            label = labels.get(key, key)
        else:
            label = labels[i]
        xs, ys = zip(*pairs)
        lines.append((label, xs, ys))
    if not lines:
        raise ValueError(f"none of the keys {list(keys)} is in the history; available keys: {sorted(columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 3.8))
    else:
        fig = ax.figure
    for label, xs, ys in lines:
        ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=label)
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    if title is not None:
        ax.set_title(title)
    return fig
