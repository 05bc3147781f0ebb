"""What every step of the demo shares: the settings, the data, the output folder, the main model
(trained once, on first use) and the progress display."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from trustml._progress import iterate
from trustml.demo._data import Digits
from trustml.demo._models import shaped, train

__all__ = ["Context"]

T = TypeVar("T")


@dataclass
class Context:
    """State shared by the steps of one ``trustml demo`` run."""

    args: argparse.Namespace
    data: Digits
    out: Path
    plots: bool
    _model: Any = field(default=None, repr=False)
    clean_accuracy: float = float("nan")

    @property
    def framework(self) -> str:
        """The ``--framework`` of the run."""
        return str(self.args.framework)

    def say(self, text: str) -> None:
        """One indented line under the current step's header."""
        print(f"      {text}", flush=True)

    def model(self) -> Any:
        """The demo's main model: trained on the training digits with Gaussian noise
        augmentation (``--sigma``), on first use."""
        if self._model is None:
            started = time.perf_counter()
            self._model = train(self.framework, self.data.x_train, self.data.y_train,
                                sigma=self.args.sigma, seed=self.args.seed)
            x_test = shaped(self._model, self.data.x_test)
            pred = self._model.predict(x_test).argmax(1)
            self.clean_accuracy = float((pred == self.data.y_test).mean())
            self.say(f"trained the {self.framework} model ({type(self._model).__name__}, "
                     f"{len(self.data.x_train)} digits with noise sigma={self.args.sigma}) in "
                     f"{time.perf_counter() - started:.1f} s: test accuracy "
                     f"{self.clean_accuracy:.3f}")
        return self._model

    def bar(self, items: Iterable[T], total: int, desc: str) -> Iterator[T]:
        """``items`` with a tqdm progress bar (extra ``progress``; plain iteration without)."""
        return iterate(items, True, total=total, desc=f"      {desc}")

    def figure_path(self, name: str) -> Path:
        """Where the figure ``name`` is written."""
        return self.out / name
