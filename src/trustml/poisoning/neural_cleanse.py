"""Neural Cleanse (Wang, Yao, Shan, Li, Viswanath, Zheng, Zhao, "Neural Cleanse: Identifying and
Mitigating Backdoor Attacks in Neural Networks", IEEE S&P 2019) for any classifier with input
gradients of its loss.

The API follows ART's ``KerasNeuralCleanse`` (names, parameters, return shapes); unlike it, this
implementation is written once against trustml's protocols and follows the paper where ART does not
(tanh-space mask and pattern, Adam re-initialised for every label, a cost that rises and falls,
early stopping only after the cost moved both ways, mitigation data from every class).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml._progress import progress_bar
from trustml.errors import LabelError, ParameterError, ParameterTypeError, TrustMLError
from trustml.labels import to_index, to_one_hot
from trustml.poisoning import _mitigation as mit
from trustml.poisoning import _working_copy as wc
from trustml.poisoning._outliers import anomaly_indices
from trustml.poisoning._trigger import (
    DifferentiableClassifier,
    SearchSettings,
    TriggerSpace,
    check_norm,
    reverse_engineer_trigger,
)
from trustml.poisoning.report import NeuralCleanseReport
from trustml.protocols import ActivationTransforms, Fittable, NeuralNetwork, require
from trustml.rng import SeedLike, as_generator
from trustml.validation import check_batch, check_batch_size, check_positive_int, check_real

__all__ = ["MITIGATION_TYPES", "NeuralCleanse"]

MITIGATION_TYPES = ("unlearning", "pruning", "filtering")


class NeuralCleanse:
    """Detect and mitigate a backdoor in ``classifier`` (Wang et al., IEEE S&P 2019).

    For every label ``t`` the smallest trigger (mask ``m``, pattern ``p``) that sends clean inputs
    of the other labels to ``t`` is reverse-engineered; a label whose trigger is abnormally small
    (median absolute deviation, anomaly index > 2) is flagged as infected. The reversed trigger then
    drives the mitigations: unlearning, neuron pruning, input filtering.

    Parameters
    ----------
    classifier : Classifier with LossGradients
        The model under audit (any trustml adapter with ``loss_gradient``, or a user's). Never
        modified: mitigations work on a verified copy, which :meth:`reset` drops.
    steps : int
        Maximum passes over ``x_val`` per label (ART's ``steps``; early stopping usually ends
        sooner).
    init_cost : float
        Initial weight of the mask penalty (>= 0).
    norm : {1, 2, inf}
        Norm of the mask penalty (the paper's L1 by default). Detection always compares L1 norms.
    learning_rate : float
        Adam's step size in tanh space (betas 0.5 and 0.9, as the authors' code).
    attack_success_threshold : float
        Success rate in (0, 1] a trigger must reach to count (and to raise the cost).
    patience : int
        Passes above (below) the threshold before the cost is raised (lowered).
    early_stop : bool
        Stop a label's search once the cost has moved both ways and the best penalty stalled.
    early_stop_threshold : float
        Relative improvement that resets the early-stop counter (in (0, 1]).
    early_stop_patience : int
        Passes without such improvement before stopping.
    cost_multiplier : float
        Cost multiplier up (> 1); the cost is divided by ``cost_multiplier ** 1.5`` going down.
    batch_size : int
        Minibatch size of the search (and of unlearning).
    seed : int, numpy.random.Generator or None
        Seeds the initial masks and patterns, the minibatch order and the mitigation subsets:
        with an int seed, the same seed gives the same triggers. No global RNG is used.
    channels_first : bool, optional
        For inputs of 3 or more dimensions: whether axis 0 of one input holds channels (the mask is
        shared over the channel axis). ``None`` reads the classifier's ``channels_first``.
    layer : int or str
        Layer whose units pruning and filtering use (default ``-2``, the penultimate layer, as ART).

    Raises
    ------
    CapabilityError
        ``classifier`` lacks ``loss_gradient``, ``predict`` or the other Classifier members.
    ParameterError
        A setting out of range (e.g. ``steps <= 0``, ``norm`` not 1, 2 or inf), or a
        multi-dimensional input whose channel axis is unknown.

    Notes
    -----
    A triggered input is ``(1 - m) * x + m * p`` in raw input units, before the classifier's
    preprocessing; ``m`` has the input's shape without its channel axis and lies in [0, 1]; ``p``
    lies within ``clip_values`` (or within the range of ``x_val`` when the classifier has none).

    Mitigation works on an independent copy: ``clone_for_refitting()`` with the weights carried
    over by the adapter's ``save`` / ``load`` when the classifier is ``Clonable``, else
    ``copy.deepcopy``; a copy is used only if it predicts exactly as the model does, and the
    next way is tried when the framework fails on one (a deep-copied MXNet Gluon net predicts but
    cannot be trained).
    """

    def __init__(
        self,
        classifier: DifferentiableClassifier,
        *,
        steps: int = 1000,
        init_cost: float = 1e-3,
        norm: float | str = 1,
        learning_rate: float = 0.1,
        attack_success_threshold: float = 0.99,
        patience: int = 5,
        early_stop: bool = True,
        early_stop_threshold: float = 0.99,
        early_stop_patience: int = 10,
        cost_multiplier: float = 1.5,
        batch_size: int = 32,
        seed: SeedLike = None,
        channels_first: bool | None = None,
        layer: int | str = -2,
    ) -> None:
        self.classifier: DifferentiableClassifier = require(
            classifier, DifferentiableClassifier, "classifier"
        )
        if not isinstance(early_stop, (bool, np.bool_)):
            raise ParameterError(f"early_stop: expected a bool, got {early_stop!r}")
        inf = math.inf
        self.settings: SearchSettings = SearchSettings(
            steps=check_positive_int(steps, "steps"),
            init_cost=check_real(init_cost, "init_cost", low=0.0, high=inf, closed="left"),
            norm=check_norm(norm),
            learning_rate=check_real(learning_rate, "learning_rate", low=0.0, high=inf,
                                     closed="neither"),
            attack_success_threshold=check_real(
                attack_success_threshold, "attack_success_threshold", low=0.0, high=1.0,
                closed="right",
            ),
            patience=check_positive_int(patience, "patience"),
            early_stop=bool(early_stop),
            early_stop_threshold=check_real(early_stop_threshold, "early_stop_threshold",
                                            low=0.0, high=1.0, closed="right"),
            early_stop_patience=check_positive_int(early_stop_patience, "early_stop_patience"),
            cost_multiplier=check_real(cost_multiplier, "cost_multiplier", low=1.0, high=inf,
                                       closed="neither"),
            batch_size=check_batch_size(batch_size),
        )
        if not isinstance(layer, (str, int, np.integer)) or isinstance(layer, bool):
            raise ParameterError(f"layer: expected a layer name or index, got {layer!r}")
        self.layer = layer
        self._channel_axis = self._find_channel_axis(channels_first)
        self._seed = int(as_generator(seed).integers(2**63))
        self._work: DifferentiableClassifier | None = None
        self._filter: mit.FilterState | None = None
        self._report: NeuralCleanseReport | None = None

    # ------------------------------------------------------------------ ART's attribute names

    @property
    def steps(self) -> int:
        """Maximum passes over the data per label."""
        return self.settings.steps

    @property
    def nb_classes(self) -> int:
        """The classifier's number of classes."""
        return self.classifier.nb_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input."""
        return self.classifier.input_shape

    @property
    def mask_shape(self) -> tuple[int, ...]:
        """Shape of a mask: ``input_shape`` without its channel axis."""
        return self._space(None).mask_shape

    @property
    def last_report(self) -> NeuralCleanseReport | None:
        """The report of the latest :meth:`detect` (None before any)."""
        return self._report

    @property
    def mitigated(self) -> bool:
        """Whether a mitigation is in effect (until :meth:`reset`)."""
        return self._work is not None or self._filter is not None

    # ------------------------------------------------------------------ detection

    def generate_backdoor(
        self, x_val: ArrayLike, y_val: ArrayLike, y_target: int | ArrayLike
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The smallest trigger that sends clean inputs to ``y_target`` (Sec. IV-C).

        Parameters
        ----------
        x_val : array_like
            ``(N, *input_shape)`` clean inputs, raw units. The search runs on those whose label is
            not ``y_target``.
        y_val : array_like
            Index ``(N,)`` or one-hot ``(N, nb_classes)`` labels of ``x_val``.
        y_target : int or array_like
            The target label: an int in ``[0, nb_classes)`` or a one-hot row ``(nb_classes,)``.

        Returns
        -------
        pattern : numpy.ndarray
            ``input_shape`` float32 within the clip range.
        mask : numpy.ndarray
            ``mask_shape`` float32 in [0, 1] (e.g. ``(H, W)``).

        Raises
        ------
        InputShapeError, InputValueError
            ``x_val`` is malformed.
        LabelError
            ``y_val`` malformed or out of range; ``y_target`` not a class; no input of another
            label.
        """
        x, y = self._check_data(x_val, y_val)
        target = self._check_target(y_target)
        result = self._search(x, y, target)
        return result.pattern, result.mask

    def detect(
        self,
        x_val: ArrayLike,
        y_val: ArrayLike,
        *,
        labels: Sequence[int] | None = None,
        progress: bool = False,
    ) -> NeuralCleanseReport:
        """Reverse-engineer every label's trigger and flag the outliers (Sec. IV).

        Parameters
        ----------
        x_val, y_val : array_like
            As :meth:`generate_backdoor`.
        labels : sequence of int, optional
            Labels to scan (all classes by default; at least two).
        progress : bool
            tqdm progress bar over labels (extra ``progress``; silently off without tqdm).

        Returns
        -------
        NeuralCleanseReport
            Also kept as :attr:`last_report` for :meth:`outlier_detection`,
            :meth:`backdoor_examples` and :meth:`mitigate`.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
            Malformed data, or ``labels`` not distinct classes (at least two).
        """
        x, y = self._check_data(x_val, y_val)
        scan = self._check_labels(labels)
        results = []
        with progress_bar(progress, len(scan), desc="neural cleanse", unit="label") as bar:
            for label in scan:
                results.append(self._search(x, y, label))
                if bar is not None:
                    bar.update(1)
        masks = np.stack([r.mask for r in results])
        l1 = np.abs(masks.reshape(len(scan), -1).astype(np.float64)).sum(axis=1)
        index, median, mad = anomaly_indices(l1)
        flagged = [scan[k] for k in range(len(scan)) if l1[k] < median and index[k] > 2.0]
        report = NeuralCleanseReport(
            labels=list(scan),
            masks=masks,
            patterns=np.stack([r.pattern for r in results]),
            l1_norms=l1,
            anomaly_indices=index,
            median=median,
            mad=mad,
            flagged=sorted(flagged),
            attack_success=np.array([r.attack_success for r in results], dtype=np.float64),
            found=np.array([r.found for r in results], dtype=bool),
            steps=np.array([r.steps for r in results], dtype=np.int64),
            channel_axis=self._channel_axis,
        )
        self._report = report
        return report

    def outlier_detection(
        self, x_val: ArrayLike, y_val: ArrayLike
    ) -> list[tuple[int, NDArray[np.float32], NDArray[np.float32]]]:
        """ART's form of :meth:`detect`: ``(label, mask, pattern)`` for every flagged label.

        Runs :meth:`detect` on ``x_val, y_val``.
        """
        report = self.detect(x_val, y_val)
        out: list[tuple[int, NDArray[np.float32], NDArray[np.float32]]] = []
        for k in report.flagged:
            pattern, mask = report.trigger(k)
            out.append((k, mask, pattern))
        return out

    def backdoor_examples(
        self, x_val: ArrayLike, y_val: ArrayLike
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.float32]]:
        """Clean inputs, the same inputs with each flagged label's reversed trigger, and their
        true labels.

        The triggers are those of :attr:`last_report` (:meth:`detect` runs on ``x_val, y_val``
        when there is none). For each flagged label, every input of ``x_val`` of *another* label
        is used (ART uses the flagged label's own inputs only).

        Returns
        -------
        clean : numpy.ndarray
            ``(M, *input_shape)``.
        backdoor : numpy.ndarray
            ``(M, *input_shape)``: ``clean`` with the trigger applied.
        labels : numpy.ndarray
            ``(M, nb_classes)`` float32 one-hot true labels (as ART).
        """
        x, y = self._check_data(x_val, y_val)
        clean, backdoor, labels, _ = self._examples(x, y)
        return clean, backdoor, to_one_hot(labels, self.nb_classes)

    def check_backdoor_effective(
        self, backdoor_data: ArrayLike, backdoor_labels: ArrayLike
    ) -> bool:
        """Whether any triggered input is not predicted as its true label by the current
        (possibly mitigated) model. Labels index or one-hot, compared as indices.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        x = check_batch(backdoor_data, self.input_shape, name="backdoor_data")
        y = to_index(backdoor_labels, self.nb_classes, n=len(x), name="backdoor_labels")
        pred = np.argmax(self._model.predict(x, batch_size=128), axis=1)
        return bool(np.any(pred != y))

    # ------------------------------------------------------------------ mitigation

    def mitigate(
        self,
        x_val: ArrayLike,
        y_val: ArrayLike,
        mitigation_types: Sequence[str],
        *,
        unlearning_fraction: float = 0.2,
        unlearning_epochs: int = 1,
        max_pruned_fraction: float = 0.3,
        pruning_stop: float = 0.01,
        filter_fraction: float = 0.1,
        false_positive_rate: float = 0.05,
    ) -> dict[str, dict[str, float]]:
        """Mitigate the flagged backdoors (Sec. VI), in the order given.

        ``"unlearning"`` (needs ``Fittable``): fine-tune on ``x_val`` plus triggered copies of a
        random ``unlearning_fraction`` of it, all with their true labels, for ``unlearning_epochs``
        (with ``seed=`` drawn from the seed when the classifier's ``fit`` accepts one).
        ``"pruning"`` (needs ``NeuralNetwork`` and ``ActivationTransforms``): silence the units of
        :attr:`layer` that the reversed trigger activates most, one at a time, until the trigger's
        success on ``x_val`` is at most ``pruning_stop`` or ``max_pruned_fraction`` of the units
        are silenced. ``"filtering"`` (needs ``NeuralNetwork``): flag an input when its mean
        activation over the top ``filter_fraction`` of those units (at least one; not a pruned
        one) exceeds the ``1 - false_positive_rate`` quantile of the same score on all of
        ``x_val`` (clean inputs of every label); :meth:`predict` then returns the abstain row for
        it. The paper filters on the top 1% of a layer of thousands of units; the default of 10%
        keeps several units in small layers (with 5%, 4 of 64 units, filtering caught 60-69% of the
        triggered digits on two of the five Keras MLPs of docs/auditing.md).

        Everything happens on a verified copy of the current model (see the class notes); the
        user's model is never modified, and its predictions are checked unchanged afterwards.
        The flagged labels and triggers are those of :attr:`last_report` (:meth:`detect` runs
        first when there is none); nothing is done when no label is flagged.

        Returns
        -------
        dict
            Per mitigation type, what it did (e.g. ``{"pruning": {"pruned": 3, "units": 32,
            "trigger_success": 0.0}}``); empty when no label is flagged.

        Raises
        ------
        ParameterError
            An unknown mitigation type or a setting out of range.
        CapabilityError
            The classifier lacks what a requested mitigation needs, or no copy of it could be
            made and mitigated (each way's failure is listed); nothing is changed.
        InputShapeError, InputValueError, LabelError
            Malformed ``x_val`` or ``y_val``; nothing is changed.
        """
        types = self._check_types(mitigation_types)
        frac_u = check_real(unlearning_fraction, "unlearning_fraction", low=0.0, high=1.0,
                            closed="right")
        epochs = check_positive_int(unlearning_epochs, "unlearning_epochs")
        frac_p = check_real(max_pruned_fraction, "max_pruned_fraction", low=0.0, high=1.0)
        stop = check_real(pruning_stop, "pruning_stop", low=0.0, high=1.0)
        frac_f = check_real(filter_fraction, "filter_fraction", low=0.0, high=1.0,
                            closed="right")
        fpr = check_real(false_positive_rate, "false_positive_rate", low=0.0, high=1.0,
                         closed="left")
        if "unlearning" in types:
            require(self.classifier, Fittable, "classifier")
        if "pruning" in types:
            require(self.classifier, NeuralNetwork, "classifier")
            require(self.classifier, ActivationTransforms, "classifier")
        if "filtering" in types:
            require(self.classifier, NeuralNetwork, "classifier")
        x, y = self._check_data(x_val, y_val)
        settings = mit.MitigationSettings(frac_u, epochs, frac_p, stop, frac_f, fpr,
                                          self.settings.batch_size)
        if self._report is None:
            self.detect(x, y)
        data = mit.TriggeredSet(x, y, *self._examples(x, y))
        if len(data.backdoor) == 0:
            return {}
        probe = x[: wc.PROBE_SIZE]
        before = wc.probe_predictions(self.classifier, probe)
        attempts = wc.WorkingCopies(self._model, probe)
        for way, work in attempts:
            rng = np.random.default_rng([self._seed, 2**31])  # the same draws for every copy
            try:
                summary, filt = mit.run(work, types, self.layer, data, settings, rng,
                                        self._filter)
            except TrustMLError:
                raise
            except Exception as exc:  # noqa: BLE001 - the framework failed on this copy
                attempts.note(way, exc)
                continue
            wc.unchanged(self.classifier, probe, before)
            self._work, self._filter = work, filt
            return summary
        raise attempts.error()

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Scores of the current (possibly mitigated) model; after filtering, flagged inputs get
        the :meth:`abstain` row (all zeros, as ART).

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes)`` float32.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        model = self._model
        scores = np.array(model.predict(x, batch_size=batch_size), dtype=np.float32)
        if self._filter is not None and len(scores):
            xb = check_batch(x, self.input_shape)
            net = cast(NeuralNetwork, model)  # a filter is set only on a NeuralNetwork
            flagged = mit.filter_scores(net, self._filter, xb, batch_size)
            scores[flagged > self._filter.threshold] = self.abstain()
        return scores

    def predict_labels(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.int64]:
        """Argmax labels of :meth:`predict`, ``-1`` where the filter abstains.

        Returns
        -------
        numpy.ndarray
            ``(N,)`` int64.
        """
        scores = self.predict(x, batch_size=batch_size)
        labels: NDArray[np.int64] = np.argmax(scores, axis=1).astype(np.int64)
        labels[~scores.any(axis=1)] = -1
        return labels

    def abstain(self) -> NDArray[np.float32]:
        """The abstain row: ``(nb_classes,)`` float32 zeros (ART's convention)."""
        return np.zeros(self.nb_classes, dtype=np.float32)

    def reset(self) -> None:
        """Undo every mitigation: drop the mitigated copy (unlearned weights, pruning transforms)
        and the filter; :meth:`predict` is the original classifier's again, exactly."""
        self._work = None
        self._filter = None

    # ------------------------------------------------------------------ internals

    @property
    def _model(self) -> DifferentiableClassifier:
        return self._work if self._work is not None else self.classifier

    def _find_channel_axis(self, channels_first: bool | None) -> int | None:
        shape = self.classifier.input_shape
        if len(shape) < 3:
            return None
        if channels_first is None:
            channels_first = getattr(self.classifier, "channels_first", None)
        if not isinstance(channels_first, (bool, np.bool_)):
            raise ParameterError(
                f"channels_first: expected a bool for inputs of shape {shape} (the mask is shared "
                f"over the channel axis), got {channels_first!r}, and the classifier has no "
                f"channels_first"
            )
        return 0 if channels_first else len(shape) - 1

    def _space(self, x: NDArray[Any] | None) -> TriggerSpace:
        shape = self.input_shape
        clip = self.classifier.clip_values
        if clip is not None:
            lo, hi = (np.broadcast_to(np.asarray(c, dtype=np.float64), shape) for c in clip)
        elif x is not None and len(x) and float(x.max()) > float(x.min()):
            lo = np.full(shape, float(x.min()))
            hi = np.full(shape, float(x.max()))
        else:
            lo, hi = np.zeros(shape), np.ones(shape)
        return TriggerSpace(shape, self._channel_axis, np.asarray(lo), np.asarray(hi))

    def _check_data(self, x_val: ArrayLike, y_val: ArrayLike) -> tuple[NDArray[Any],
                                                                       NDArray[np.int64]]:
        raw = np.asarray(x_val)
        dtype = np.float64 if raw.dtype == np.float64 else np.float32
        x = check_batch(raw, self.input_shape, dtype=dtype, name="x_val")
        if len(x) == 0:
            raise ParameterError("x_val: expected at least one input, got 0")
        y = to_index(y_val, self.nb_classes, n=len(x), name="y_val")
        return x, y

    def _check_target(self, y_target: int | ArrayLike) -> int:
        k = self.nb_classes
        if isinstance(y_target, (int, np.integer)) and not isinstance(y_target, bool):
            if not 0 <= int(y_target) < k:
                raise LabelError(f"y_target: expected a class in [0, {k}), got {y_target}")
            return int(y_target)
        arr = np.asarray(y_target)
        if arr.ndim == 1 and arr.shape[0] == k:
            return int(to_index(arr[None, :], k, name="y_target")[0])
        raise LabelError(
            f"y_target: expected a class index in [0, {k}) or a one-hot row ({k},), got "
            f"{y_target!r}"
        )

    def _check_labels(self, labels: Sequence[int] | None) -> list[int]:
        k = self.nb_classes
        if labels is None:
            return list(range(k))
        try:
            scan = [self._check_target(int(v) if isinstance(v, np.integer) else v)
                    for v in labels]
        except TypeError:
            raise LabelError(f"labels: expected a sequence of classes, got {labels!r}") from None
        if len(set(scan)) != len(scan) or len(scan) < 2:
            raise LabelError(f"labels: expected at least two distinct classes, got {scan}")
        return scan

    def _check_types(self, mitigation_types: Sequence[str]) -> list[str]:
        if isinstance(mitigation_types, str):
            mitigation_types = [mitigation_types]
        try:
            types = list(mitigation_types)
        except TypeError:
            raise ParameterTypeError(
                f"mitigation_types: expected a list of names among {list(MITIGATION_TYPES)}, got "
                f"{type(mitigation_types).__name__}"
            ) from None
        bad = [t for t in types if t not in MITIGATION_TYPES]
        if bad or not types:
            raise ParameterError(
                f"mitigation_types: expected names among {list(MITIGATION_TYPES)}, got {types!r}"
            )
        return types

    def _search(self, x: NDArray[Any], y: NDArray[np.int64], target: int) -> Any:
        others = x[y != target]
        if len(others) == 0:
            raise LabelError(
                f"y_val: expected inputs of labels other than the target {target}, got none"
            )
        rng = np.random.default_rng([self._seed, target])
        return reverse_engineer_trigger(
            self.classifier, self._space(x), others, target, self.settings, rng
        )

    def _examples(
        self, x: NDArray[Any], y: NDArray[np.int64]
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.int64], NDArray[np.int64]]:
        report = self._report if self._report is not None else self.detect(x, y)
        space = self._space(x)
        clean: list[NDArray[Any]] = []
        back: list[NDArray[Any]] = []
        labels: list[NDArray[np.int64]] = []
        targets: list[NDArray[np.int64]] = []
        for label in report.flagged:
            pattern, mask = report.trigger(label)
            keep = y != label
            clean.append(x[keep])
            back.append(space.apply(x[keep], mask, pattern))
            labels.append(y[keep])
            targets.append(np.full(int(keep.sum()), label, dtype=np.int64))
        if not clean:
            empty = np.zeros((0, *self.input_shape), dtype=x.dtype)
            none = np.zeros(0, dtype=np.int64)
            return empty, empty.copy(), none, none.copy()
        return (np.concatenate(clean), np.concatenate(back), np.concatenate(labels),
                np.concatenate(targets))
