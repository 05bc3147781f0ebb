# Minimal stubs for the parts of mxnet 1.9.1 that trustml calls (see trustml.adapters.mxnet).
from mxnet import autograd as autograd
from mxnet import base as base
from mxnet import context as context
from mxnet import gluon as gluon
from mxnet import initializer as init  # noqa: F401 (mxnet exports this alias)
from mxnet import initializer as initializer
from mxnet import random as random
from mxnet import ndarray as nd  # noqa: F401 (mxnet exports this alias)
from mxnet import ndarray as ndarray
from mxnet import optimizer as optimizer
from mxnet import util as util
from mxnet.context import Context as Context
from mxnet.context import cpu as cpu
from mxnet.context import gpu as gpu

__version__: str
