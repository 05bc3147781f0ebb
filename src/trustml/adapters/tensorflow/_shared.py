"""Members KerasClassifier and TensorFlowV2Classifier share: each forwards to the adapter's
:class:`~trustml.adapters.tensorflow._runtime.TFRuntime` (a private concrete base class with no
capability meaning, see DESIGN.md "Sharing code")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trustml.activations import ActivationTransform

from ._runtime import TFRuntime

__all__ = ["RuntimeMembers"]


class RuntimeMembers:
    """Multi-layer activations and activation transforms, forwarded to ``self._rt``."""

    _rt: TFRuntime

    def get_multi_activations(
        self, x: Any, layers: Sequence[int | str], batch_size: int = 128,
        framework: bool = False,
    ) -> list[Any]:
        """Outputs of several ``layers`` from ONE forward pass per batch (the
        ``MultiLayerActivations`` fast path), each equal to ``get_activations(x, layer,
        batch_size, framework)``; a Sequential model runs no further than the last of them.

        Raises
        ------
        ParameterError
            Unknown layer, or an empty ``layers``.
        InputShapeError, InputValueError
        """
        return self._rt.multi_activations(x, layers, batch_size, framework)

    # ------------------------------------------------------------------ ActivationTransforms

    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        """The installed activation transforms, keyed by layer name (a new dict)."""
        return self._rt.transforms.transforms

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        """Install ``transform`` at ``layer``'s output, replacing any there; None removes it.

        While installed, ``predict``, ``compute_loss``, ``loss_gradient``, ``class_gradient``,
        ``get_activations`` (that layer and later ones) and ``fit`` run the layer's output through
        ``clip_by_value(a, clip_min, clip_max) * scale`` inside the forward pass (the layer's
        ``call`` is wrapped for the duration of each call, then restored), so gradients flow
        through it; the model's weights and structure are never changed. Works for Sequential,
        Functional and subclassed Keras models (for a subclassed one, on the direct sub-layers
        that ``layer_names`` lists); see :mod:`trustml.activations` (Neural Cleanse pruning,
        Wang et al., IEEE S&P 2019; ReAct, Sun et al., NeurIPS 2021).

        Parameters
        ----------
        layer : int or str
            An index into :attr:`layer_names` or a layer name.
        transform : ActivationTransform or None
            Its ``scale`` must broadcast to one sample's output of the layer (e.g. ``(units,)``,
            or ``(channels,)`` for a channels-last convolution).

        Raises
        ------
        ParameterError
            Unknown layer (every layer of a model without Keras layers); a layer the forward pass
            calls more than once (shared) or whose output is not one floating tensor; a
            ``scale`` that does not broadcast to its output shape. Nothing is installed.
        ParameterTypeError
            ``transform`` is not an ActivationTransform or None.

        Notes
        -----
        A user's ``train_step`` that is a ``tf.function`` traced before the transform was
        installed runs its own cached graph, which does not see it.
        """
        self._rt.set_activation_transform(layer, transform)
