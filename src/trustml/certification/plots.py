"""The certified-accuracy-versus-radius curve (extra ``plots``: matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from trustml._deps import require

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_certified_accuracy"]


def plot_certified_accuracy(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    path: str | Path | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Plot certified accuracy against L2 radius, one line per curve (Cohen et al., Fig. 4 style).

    Parameters
    ----------
    curves : mapping of str to (radii_grid, accuracy)
        Label of each curve -> ``(R,)`` radii and ``(R,)`` certified accuracies in ``[0, 1]``
        (see :func:`~trustml.certification.certified_accuracy`).
    path : str or pathlib.Path, optional
        Where to save the figure (format from the suffix, e.g. ``.png``); nothing is saved if None.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not shown; close it with ``matplotlib.pyplot.close``).

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed (``pip install "trustml[plots]"``).
    InputShapeError
        A curve's radii and accuracies are not 1-D arrays of one length.
    """
    from trustml.errors import InputShapeError

    checked: list[tuple[str, Any, Any]] = []
    for label, (grid, acc) in curves.items():
        g = np.asarray(grid, dtype=np.float64)
        a = np.asarray(acc, dtype=np.float64)
        if g.ndim != 1 or g.shape != a.shape:
            raise InputShapeError(
                f"curves[{label!r}]: expected 1-D radii and accuracies of one length, got "
                f"shapes {g.shape} and {a.shape}"
            )
        checked.append((label, g, a))
    require("matplotlib", "plots", purpose="plot_certified_accuracy")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.6), dpi=120)
    ax = fig.add_subplot()
    for label, g, a in checked:
        ax.plot(g, a, label=label, drawstyle="steps-post")
    ax.set_xlabel("L2 radius (raw input units)")
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, alpha=0.3)
    if checked:
        ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path))
    return fig
