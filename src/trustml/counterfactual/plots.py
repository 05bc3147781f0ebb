"""Side-by-side figure of image counterfactuals (extra ``plots``: matplotlib)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from trustml._deps import require
from trustml.errors import InputShapeError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_counterfactuals"]


def _image(a: np.ndarray, channels_first: bool) -> np.ndarray:
    if a.ndim == 1:
        side = math.isqrt(a.size)
        if side * side != a.size:
            raise InputShapeError(
                f"x: expected images (H, W), (H, W, C), (C, H, W) or square flat vectors, got a "
                f"flat sample of {a.size} features"
            )
        return a.reshape(side, side)
    if a.ndim == 3:
        a = np.moveaxis(a, 0, -1) if channels_first else a
        return a[..., 0] if a.shape[-1] == 1 else a
    return a


def plot_counterfactuals(
    x: ArrayLike,
    x_cf: ArrayLike,
    path: str | Path | None = None,
    *,
    labels: Sequence[int] | None = None,
    labels_cf: Sequence[int] | None = None,
    channels_first: bool = False,
    value_range: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """One row per input: the original, the counterfactual, and the change ``x_cf - x``.

    Parameters
    ----------
    x, x_cf : array_like
        ``(N, *input_shape)``: images ``(H, W)``, ``(H, W, C)``, ``(C, H, W)`` (with
        ``channels_first``) or flat square vectors (e.g. 64 pixels of the digits).
    path : str or pathlib.Path, optional
        Where to save the figure (format from the suffix); nothing is saved if None.
    labels, labels_cf : sequence of int, optional
        Predicted classes of ``x`` and ``x_cf``, shown in the column titles.
    channels_first : bool
        Whether 3-D samples are ``(C, H, W)``.
    value_range : (min, max), optional
        Grey-level range of the images (e.g. ``clip_values``); the data's range by default.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed (``pip install "trustml[plots]"``).
    InputShapeError
        ``x`` and ``x_cf`` differ in shape, or the samples are not images.
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_cf, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise InputShapeError(f"x_cf: expected the shape of x {a.shape}, got {b.shape}")
    require("matplotlib", "plots", purpose="plot_counterfactuals")
    from matplotlib.figure import Figure

    n = len(a)
    lo, hi = value_range if value_range is not None else (float(a.min()), float(a.max()))
    delta = b - a
    span = float(np.abs(delta).max()) or 1.0
    fig = Figure(figsize=(6.6, 2.2 * n + 0.5), dpi=110)
    axes = fig.subplots(n, 3, squeeze=False)
    for i in range(n):
        orig, cf, d = (_image(v[i], channels_first) for v in (a, b, delta))
        axes[i, 0].imshow(orig, cmap="gray", vmin=lo, vmax=hi)
        axes[i, 1].imshow(cf, cmap="gray", vmin=lo, vmax=hi)
        im = axes[i, 2].imshow(d if d.ndim == 2 else d.mean(axis=-1), cmap="RdBu_r",
                               vmin=-span, vmax=span)
        axes[i, 0].set_title("input" + (f" (class {labels[i]})" if labels is not None else ""),
                             fontsize=9)
        axes[i, 1].set_title(
            "counterfactual" + (f" (class {labels_cf[i]})" if labels_cf is not None else ""),
            fontsize=9,
        )
        axes[i, 2].set_title(f"change (L1 {np.abs(delta[i]).sum():.1f})", fontsize=9)
        for ax in axes[i]:
            ax.set_xlabel("pixel column", fontsize=7)
            ax.set_ylabel("pixel row", fontsize=7)
            ax.tick_params(labelsize=6)
        fig.colorbar(im, ax=axes[i, 2], fraction=0.046, pad=0.04, label="raw input units")
    fig.suptitle(title or "Counterfactual explanations (input, counterfactual, change)")
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path))
    return fig
