"""Feature extraction from any :class:`~trustml.protocols.NeuralNetwork` classifier.

The reference API is oodeel's ``TorchFeatureExtractor`` / ``KerasFeatureExtractor`` (deel-ai/oodeel,
0.4): the same names (``feature_layers_id``, ``head_layer_id``, ``react_threshold``, ``predict``,
``predict_tensor``, ``find_layer``), written once against the protocols so it serves PyTorch,
TensorFlow / Keras, MXNet and a user's adapter alike.

Two differences from oodeel, on purpose:

- the user's model is never changed: ReAct clipping goes through the optional
  :class:`~trustml.protocols.ActivationTransforms` capability, installed for the duration of each
  call and removed afterwards (oodeel's Keras extractor rewrites the model's last activation, its
  PyTorch extractor leaves hooks on the model);
- the outputs of all requested layers come from ONE forward pass per batch where the adapter has
  the :class:`~trustml.protocols.MultiLayerActivations` fast path, else from one
  ``get_activations`` call per layer (same numbers, more compute).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.activations import ActivationTransform, PercentileRescale, transformed_activations
from trustml.errors import ParameterError, ParameterTypeError
from trustml.ood._crop import crop_classifier
from trustml.ood._weights import layer_weights
from trustml.protocols import (
    ActivationTransforms,
    Classifier,
    MultiLayerActivations,
    NeuralNetwork,
    require,
)
from trustml.validation import check_batch_size, check_layer, check_real

__all__ = ["FeatureExtractor", "LayeredClassifier", "global_average_pool"]

LayerId = int | str
PostprocFn = Callable[[NDArray[Any]], NDArray[Any]]


@runtime_checkable
class LayeredClassifier(Classifier, NeuralNetwork, Protocol):
    """What feature extraction needs: a classifier whose layer outputs can be read."""


def _rescale(value: Any, name: str, prune: bool) -> PercentileRescale:
    return PercentileRescale(check_real(value, name, low=0.0, high=1.0, closed="left"),
                             prune=prune)


def global_average_pool(features: NDArray[Any], channels_first: bool = True) -> NDArray[Any]:
    """oodeel's default post-processing: average over the spatial axes of ``(N, C, *spatial)``
    (``channels_first``) or ``(N, *spatial, C)`` features, giving ``(N, C)``; 2-D features are
    returned as they are, 1-D ones as ``(N, 1)``."""
    arr = np.asarray(features)
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    if arr.ndim == 2:
        return arr
    axes = tuple(range(2, arr.ndim)) if channels_first else tuple(range(1, arr.ndim - 1))
    return np.asarray(arr.mean(axis=axes))


class FeatureExtractor:
    """Several layers' outputs and the head's logits of a classifier, in one pass per batch.

    Parameters
    ----------
    classifier : LayeredClassifier
        A classifier with the :class:`~trustml.protocols.NeuralNetwork` capability (any adapter).
    feature_layers_id : sequence of int or str
        Layers whose outputs :meth:`predict` returns: indices into ``classifier.layer_names``
        (negative counts from the end) or names. Default ``[-1]`` (the last layer).
    head_layer_id : int or str
        The layer whose output is the logits (``info["logits"]``); ``-1`` when the last layer is
        the head, ``-2`` when a softmax layer follows it (oodeel's convention).
    input_layer_id : int, str or None
        As oodeel: start the model at this layer, so that :meth:`predict` takes the layer's
        *inputs* (the previous layer's outputs, as the model computes them) instead of raw
        inputs, and runs only the layers from there on. ``classifier`` is then replaced by a
        classifier of the same adapter over that part of the model (:attr:`classifier`; the
        layers are shared, not copied; identity preprocessing, no clip values), and
        ``feature_layers_id`` / ``head_layer_id`` refer to its ``layer_names`` (the same names
        as in the whole model). Supported for a top-level layer of a PyTorch
        ``nn.Sequential`` (``PyTorchClassifier``) or of a channels-last Keras ``Sequential``
        (``KerasClassifier``); ``None`` (default): the whole model.
    react_threshold : float or None
        ReAct (Sun, Guo, Li, NeurIPS 2021): clip the penultimate activations (the output of the
        layer just before ``head_layer_id`` in ``layer_names``, i.e. the head's input in a
        sequential model) at this value inside the forward pass. Needs the
        :class:`~trustml.protocols.ActivationTransforms` capability.
    scale_percentile, ash_percentile : float or None
        SCALE (Xu et al., ICLR 2024) / ASH-S (Djurisic et al., ICLR 2023): rescale each
        sample's penultimate activations at this percentile of its own values
        (:class:`~trustml.activations.PercentileRescale`) before the head, as oodeel's
        forward pre-hook on the head layer does. The head must be a dense layer whose input is
        the penultimate layer's (flattened) output: the logits are computed as
        ``rescaled @ kernel + bias`` from :meth:`get_weights` (in float64), the features of
        every layer are those of the unchanged forward pass (as in oodeel), and the model is
        not touched. At most one of ``react_threshold``, ``scale_percentile`` and
        ``ash_percentile``.

    Raises
    ------
    CapabilityError
        ``classifier`` lacks ``NeuralNetwork``/``Classifier`` members, or ``react_threshold`` is
        set and it lacks ``ActivationTransforms``.
    ParameterError
        Unknown layer (naming ``feature_layers_id`` or ``head_layer_id``), an empty
        ``feature_layers_id``, a non-finite ``react_threshold``, a ``head_layer_id`` with no
        layer before it when ``react_threshold`` is set, or an ``input_layer_id`` that cannot
        be cropped at (see above);
        a percentile outside ``[0, 1)``, or more than one of ``react_threshold``,
        ``scale_percentile``, ``ash_percentile``.
    ParameterTypeError
        A layer id that is neither int nor str, or a ``react_threshold`` or percentile that is
        not a number.
    """

    def __init__(
        self,
        classifier: LayeredClassifier,
        feature_layers_id: Sequence[LayerId] = (-1,),
        head_layer_id: LayerId = -1,
        input_layer_id: LayerId | None = None,
        react_threshold: float | None = None,
        scale_percentile: float | None = None,
        ash_percentile: float | None = None,
    ) -> None:
        require(classifier, LayeredClassifier, "classifier")
        self.classifier: LayeredClassifier = classifier
        if input_layer_id is not None:
            input_name, _ = self.find_layer(input_layer_id, "input_layer_id")
            classifier = crop_classifier(classifier, input_name)
        switches = {"react_threshold": react_threshold, "scale_percentile": scale_percentile,
                    "ash_percentile": ash_percentile}
        chosen = [name for name, value in switches.items() if value is not None]
        if len(chosen) > 1:
            raise ParameterError(
                f"{chosen[1]}: expected None when {chosen[0]} is set (ReAct, SCALE and ASH "
                f"exclude each other, as in oodeel), got {switches[chosen[1]]!r}"
            )
        self.rescale: PercentileRescale | None = None
        if scale_percentile is not None:
            self.rescale = _rescale(scale_percentile, "scale_percentile", prune=False)
        if ash_percentile is not None:
            self.rescale = _rescale(ash_percentile, "ash_percentile", prune=True)
        self.scale_percentile: float | None = (
            None if scale_percentile is None else float(scale_percentile)
        )
        self.ash_percentile: float | None = (
            None if ash_percentile is None else float(ash_percentile)
        )
        if isinstance(feature_layers_id, (str, int)) or not isinstance(
            feature_layers_id, Sequence
        ):
            raise ParameterTypeError(
                "feature_layers_id: expected a sequence of int or str layer ids, got "
                f"{type(feature_layers_id).__name__}"
            )
        if len(feature_layers_id) == 0:
            raise ParameterError("feature_layers_id: expected at least one layer id, got []")
        self.classifier = classifier
        self.feature_layers_id: list[LayerId] = list(feature_layers_id)
        self.head_layer_id = head_layer_id
        self.input_layer_id = input_layer_id
        self._feature_names = [
            self.find_layer(lid, "feature_layers_id")[0] for lid in self.feature_layers_id
        ]
        self._head_name, head_index = self.find_layer(head_layer_id, "head_layer_id")
        self.react_threshold: float | None = None
        self._penultimate: str | None = None
        if react_threshold is not None:
            threshold = check_real(react_threshold, "react_threshold")
            require(classifier, ActivationTransforms, "classifier (react_threshold)")
            if head_index == 0:
                raise ParameterError(
                    "head_layer_id: expected a layer with a layer before it (ReAct clips the "
                    f"penultimate activations), got {head_layer_id!r}, the first layer"
                )
            self.react_threshold = threshold
            self._penultimate = classifier.layer_names[head_index - 1]
        if self.rescale is not None:
            if head_index == 0:
                raise ParameterError(
                    "head_layer_id: expected a layer with a layer before it (SCALE / ASH rescale "
                    f"the head's input), got {head_layer_id!r}, the first layer"
                )
            self._penultimate = classifier.layer_names[head_index - 1]
            self._check_dense_head()

    # ------------------------------------------------------------------ layers

    def find_layer(self, layer_id: LayerId, name: str = "layer_id") -> tuple[str, int]:
        """``(layer name, index in layer_names)`` for an index (negative counts from the end)
        or a name.

        Raises
        ------
        ParameterError
            Unknown name or index out of range (the message names ``name``).
        ParameterTypeError
            Neither an int nor a str.
        """
        names = list(self.classifier.layer_names)
        index = check_layer(layer_id, names, name)
        return names[index], index

    def get_weights(self, layer_id: LayerId) -> list[NDArray[Any]]:
        """A dense or convolution layer's ``[kernel, bias]`` in ONE layout for every framework:
        output units last, as Keras stores them.

        Parameters
        ----------
        layer_id : int or str
            Index into ``classifier.layer_names`` (negative from the end) or a name.

        Returns
        -------
        list of numpy.ndarray
            ``[kernel, bias]``: a dense layer's kernel is ``(in_features, out_features)`` (so
            ``inputs @ kernel + bias`` is its output), a convolution's
            ``(*kernel_size, in_channels / groups, out_channels)``; ``bias`` is
            ``(out_features,)``, zeros for a layer without one. Copies, in the model's dtype;
            PyTorch's ``(out, in, ...)`` and Gluon's ``(units, in_units)`` are transposed (oodeel
            returns each framework's own layout).

        Raises
        ------
        ParameterError
            Unknown layer, or a layer that is neither dense nor a (non-transposed)
            convolution.
        CapabilityError
            The classifier has no ``model`` attribute holding a PyTorch module, a Keras model
            or a Gluon block (adapters of other frameworks).
        """
        name, _ = self.find_layer(layer_id)
        return layer_weights(self.classifier, name)

    def _check_dense_head(self) -> None:
        try:
            kernel, _ = self.get_weights(self._head_name)
        except ParameterError as err:
            raise ParameterError(
                f"head_layer_id: SCALE / ASH compute the head from its weights and need a "
                f"dense head layer ({err})"
            ) from None
        if kernel.ndim != 2:
            raise ParameterError(
                f"head_layer_id: SCALE / ASH compute the head from its weights and need a dense "
                f"head layer, got {self._head_name!r} with a {kernel.ndim}-d kernel"
            )

    @property
    def feature_layer_names(self) -> list[str]:
        """Names of the feature layers, in the order of ``feature_layers_id``."""
        return list(self._feature_names)

    @property
    def head_layer_name(self) -> str:
        """Name of the head layer (the logits)."""
        return self._head_name

    @property
    def penultimate_layer_name(self) -> str | None:
        """Name of the layer that ReAct clips or SCALE / ASH rescale (None without them)."""
        return self._penultimate

    # ------------------------------------------------------------------ extraction

    def _outputs(
        self, x: Any, batch_size: int, framework: bool, extra: Sequence[str] = ()
    ) -> list[Any]:
        """Outputs of the feature layers, the head, then ``extra`` layers; a layer named twice is
        computed once."""
        names = [*self._feature_names, self._head_name, *extra]
        layers: list[int | str] = list(dict.fromkeys(names))
        clf = self.classifier
        if isinstance(clf, MultiLayerActivations):
            outs = clf.get_multi_activations(x, layers, batch_size=batch_size, framework=framework)
        elif framework:
            outs = [clf.get_activations(x, layer, batch_size, framework=True) for layer in layers]
        else:
            outs = [clf.get_activations(x, layer, batch_size) for layer in layers]
        by_name = dict(zip(layers, outs, strict=True))
        return [by_name[name] for name in names]

    def _rescaled_logits(self, penultimate: NDArray[Any], logits: NDArray[Any]) -> NDArray[Any]:
        """``rescale(penultimate) @ kernel + bias`` in float64, after checking that the unchanged
        head output is ``penultimate @ kernel + bias`` (the head is affine in its input)."""
        rescale = cast(PercentileRescale, self.rescale)  # called only when a rescale is set
        kernel, bias = (w.astype(np.float64) for w in self.get_weights(self._head_name))
        pen = penultimate.astype(np.float64).reshape(len(penultimate), -1)
        if pen.shape[1] != kernel.shape[0]:
            raise ParameterError(
                f"head_layer_id: the head {self._head_name!r} takes {kernel.shape[0]} inputs but "
                f"the layer before it, {self._penultimate!r}, gives {pen.shape[1]}"
            )
        plain = pen @ kernel + bias
        ref = np.asarray(logits, dtype=np.float64).reshape(plain.shape)
        tol = 1e-3 * (np.abs(ref).max(initial=0.0) + 1.0)
        if not np.allclose(plain, ref, rtol=1e-3, atol=tol):
            raise ParameterError(
                f"head_layer_id: SCALE / ASH need a head that is affine in the output of "
                f"{self._penultimate!r} (a dense layer with a linear activation); the output of "
                f"{self._head_name!r} differs from inputs @ kernel + bias by up to "
                f"{np.abs(plain - ref).max():.3g}"
            )
        out: NDArray[Any] = rescale.apply(pen) @ kernel + bias
        return out

    def _run(self, x: Any, batch_size: int, framework: bool) -> list[Any]:
        if self.rescale is not None:
            if framework:
                raise ParameterError(
                    "scale_percentile / ash_percentile: the rescaled logits are computed in "
                    "numpy; use predict, not predict_tensor"
                )
            penultimate = cast(str, self._penultimate)  # set with the rescale
            outs = self._outputs(x, batch_size, framework, extra=[penultimate])
            pen = np.asarray(outs.pop())
            outs[-1] = self._rescaled_logits(pen, np.asarray(outs[-1]))
            return outs
        if self._penultimate is None or self.react_threshold is None:
            return self._outputs(x, batch_size, framework)
        clipper = require(self.classifier, ActivationTransforms, "classifier")
        clip = ActivationTransform(clip_max=self.react_threshold)
        with transformed_activations(clipper, {self._penultimate: clip}):
            return self._outputs(x, batch_size, framework)

    def predict(
        self,
        x: ArrayLike,
        batch_size: int = 128,
        postproc_fns: Sequence[PostprocFn | None] | None = None,
    ) -> tuple[list[NDArray[Any]], dict[str, NDArray[Any]]]:
        """Feature-layer outputs and logits for the raw input ``x``.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input (preprocessed by the adapter as in ``predict``).
        batch_size : int
            Samples per forward pass; results do not depend on it.
        postproc_fns : sequence of callable or None
            One function per feature layer (None entries: identity), applied to that layer's
            ``(N, ...)`` numpy output, e.g. :func:`global_average_pool`.

        Returns
        -------
        features : list of numpy.ndarray
            One ``(N, *layer_output_shape)`` array per feature layer (after ``postproc_fns``),
            each equal to ``classifier.get_activations(x, layer)`` (with the ReAct clip in place
            when ``react_threshold`` is set).
        info : dict
            ``{"logits": (N, nb_classes) array}``, the head layer's output.

        Raises
        ------
        InputShapeError, InputValueError
            From the adapter, for a malformed ``x``.
        ParameterError
            ``batch_size`` is not a positive int, or ``postproc_fns`` has the wrong length.
        """
        size = check_batch_size(batch_size)
        fns = self._postproc(postproc_fns)
        outs = [np.asarray(o) for o in self._run(x, size, framework=False)]
        logits = outs.pop()
        feats = [o if fn is None else np.asarray(fn(o)) for o, fn in zip(outs, fns, strict=True)]
        return feats, {"logits": logits}

    def predict_tensor(
        self,
        x: Any,
        postproc_fns: Sequence[Callable[[Any], Any] | None] | None = None,
        batch_size: int = 128,
    ) -> tuple[list[Any], Any]:
        """As :meth:`predict`, in the framework's own tensors (``get_activations(...,
        framework=True)``): returns ``(features, logits)`` as oodeel's ``predict_tensor`` does.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        size = check_batch_size(batch_size)
        fns = self._postproc(postproc_fns)
        outs = self._run(x, size, framework=True)
        logits = outs.pop()
        feats = [o if fn is None else fn(o) for o, fn in zip(outs, fns, strict=True)]
        return feats, logits

    def _postproc(self, postproc_fns: Sequence[Any] | None) -> list[Any]:
        if postproc_fns is None:
            return [None] * len(self._feature_names)
        fns = list(postproc_fns)
        if len(fns) != len(self._feature_names):
            raise ParameterError(
                f"postproc_fns: expected {len(self._feature_names)} functions (one per feature "
                f"layer) or None, got {len(fns)}"
            )
        for fn in fns:
            if fn is not None and not callable(fn):
                raise ParameterTypeError(
                    f"postproc_fns: expected callables or None, got {type(fn).__name__}"
                )
        return fns

    def __repr__(self) -> str:
        return (
            f"FeatureExtractor(feature_layers={self._feature_names}, head={self._head_name!r}, "
            f"react_threshold={self.react_threshold}, scale_percentile={self.scale_percentile}, "
            f"ash_percentile={self.ash_percentile})"
        )
