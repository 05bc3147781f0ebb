"""The result of a Neural Cleanse scan: :class:`NeuralCleanseReport` (table, JSON, figure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from trustml._deps import require

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["NeuralCleanseReport"]


@dataclass(frozen=True)
class NeuralCleanseReport:
    """Every label's reversed trigger and the outlier analysis over their sizes.

    Attributes
    ----------
    labels : list of int
        The labels scanned (all classes by default), in scan order.
    masks : numpy.ndarray
        ``(K, *mask_shape)`` float32 in [0, 1]: the reversed mask of each scanned label (the input
        shape without its channel axis, e.g. ``(H, W)``).
    patterns : numpy.ndarray
        ``(K, *input_shape)`` float32, raw input units within the clip range.
    l1_norms : numpy.ndarray
        ``(K,)`` float64 ``sum |mask|``: the trigger size used for detection.
    anomaly_indices : numpy.ndarray
        ``(K,)`` float64 ``|l1 - median| / MAD`` (see :func:`~trustml.poisoning.anomaly_indices`).
    median, mad : float
        Median of the norms and ``1.4826 * median |l1 - median|``.
    flagged : list of int
        Labels with an L1 norm below the median and an anomaly index above 2, ascending.
    attack_success : numpy.ndarray
        ``(K,)`` float64: fraction of the scan inputs each reversed trigger sends to its label.
    found : numpy.ndarray
        ``(K,)`` bool: whether the search reached ``attack_success_threshold`` for that label.
    steps : numpy.ndarray
        ``(K,)`` int64 passes over the data that ran per label.
    channel_axis : int or None
        Axis of one input over which each mask is shared.
    """

    labels: list[int]
    masks: NDArray[np.float32]
    patterns: NDArray[np.float32]
    l1_norms: NDArray[np.float64]
    anomaly_indices: NDArray[np.float64]
    median: float
    mad: float
    flagged: list[int]
    attack_success: NDArray[np.float64]
    found: NDArray[np.bool_]
    steps: NDArray[np.int64]
    channel_axis: int | None = field(default=None)

    def trigger(self, label: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """``(pattern, mask)`` of ``label`` (as :meth:`NeuralCleanse.generate_backdoor`).

        Raises
        ------
        ParameterError
            ``label`` was not scanned.
        """
        from trustml.errors import ParameterError

        if label not in self.labels:
            raise ParameterError(f"label: expected one of the scanned labels {self.labels}, got "
                                 f"{label!r}")
        k = self.labels.index(label)
        return self.patterns[k], self.masks[k]

    def to_dict(self) -> dict[str, Any]:
        """The numbers as JSON-serialisable Python values (masks and patterns left out)."""
        def num(v: float) -> float | str:
            return v if np.isfinite(v) else str(v)

        return {
            "labels": list(self.labels),
            "l1_norms": [float(v) for v in self.l1_norms],
            "anomaly_indices": [num(float(v)) for v in self.anomaly_indices],
            "median": self.median,
            "mad": self.mad,
            "flagged": list(self.flagged),
            "attack_success": [float(v) for v in self.attack_success],
            "found": [bool(v) for v in self.found],
            "steps": [int(v) for v in self.steps],
        }

    def table(self) -> str:
        """A Markdown table, one row per label: L1 norm, anomaly index, success, flagged."""
        rows = ["| label | mask L1 | anomaly index | trigger success | flagged |",
                "|---:|---:|---:|---:|:---:|"]
        for k, label in enumerate(self.labels):
            rows.append(
                f"| {label} | {self.l1_norms[k]:.2f} | {self.anomaly_indices[k]:.2f} | "
                f"{self.attack_success[k]:.3f} | {'yes' if label in self.flagged else ''} |"
            )
        return "\n".join(rows)

    def plot(self, path: str | Path | None = None, *, title: str | None = None) -> Figure:
        """Masks (top row) and triggers ``mask * pattern`` (bottom row), one column per label,
        flagged labels titled in red.

        Parameters
        ----------
        path : str or pathlib.Path, optional
            Where to save the figure (format from the suffix); nothing is saved if None.
        title : str, optional

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        MissingDependencyError
            matplotlib is not installed (``pip install "trustml[plots]"``).
        """
        require("matplotlib", "plots", purpose="NeuralCleanseReport.plot")
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        k = len(self.labels)
        fig, axes = plt.subplots(2, k, figsize=(1.3 * k + 1.2, 3.2), squeeze=False)
        for j, label in enumerate(self.labels):
            mask = self.masks[j]
            trigger = self._trigger_image(j)
            colour = "red" if label in self.flagged else "black"
            ax = axes[0, j]
            im = ax.imshow(_as_image(mask), cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_title(f"{label}: L1 {self.l1_norms[j]:.1f}\nAI {self.anomaly_indices[j]:.1f}",
                         fontsize=7, color=colour)
            axes[1, j].imshow(trigger, cmap="gray" if trigger.ndim == 2 else None)
            for a in (ax, axes[1, j]):
                a.set_xticks([])
                a.set_yticks([])
        axes[0, 0].set_ylabel("mask", fontsize=8)
        axes[1, 0].set_ylabel("mask x pattern", fontsize=8)
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="mask value (0-1)")
        fig.suptitle(title or f"Neural Cleanse: reversed triggers (flagged: {self.flagged})",
                     fontsize=9)
        if path is not None:
            fig.savefig(path, dpi=120, bbox_inches="tight")
        return fig

    def _trigger_image(self, j: int) -> NDArray[np.float64]:
        mask = np.asarray(self.masks[j], dtype=np.float64)
        pattern = np.asarray(self.patterns[j], dtype=np.float64)
        if self.channel_axis is not None:
            pattern = np.moveaxis(pattern, self.channel_axis, -1)
            img = mask[..., None] * pattern
            img = img[..., 0] if img.shape[-1] == 1 else (
                img if img.shape[-1] == 3 else img.mean(axis=-1))
        else:
            img = mask * pattern
        img = _as_image(img)
        span = float(img.max() - img.min())
        return (img - img.min()) / span if span > 0 else np.zeros_like(img)


def _as_image(a: NDArray[Any]) -> NDArray[np.float64]:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        return arr[None, :]
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 3):
        return arr
    return arr.reshape(arr.shape[0], -1)
