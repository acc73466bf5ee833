"""convnp.optim: optimisers and learning-rate schedulers with PyTorch's names, options and updates.

>>> import numpy as np
>>> from convnp.nn import Parameter
>>> w = Parameter(np.ones(3))
>>> opt = SGD([w], lr=0.1, momentum=0.9)
>>> w.grad = np.ones(3)
>>> opt.step(); opt.zero_grad()
>>> w.data, w.grad
(array([0.9, 0.9, 0.9]), None)
"""

from convnp.optim import lr_scheduler
from convnp.optim.adadelta import Adadelta
from convnp.optim.adagrad import Adagrad
from convnp.optim.adam import Adam, AdamW
from convnp.optim.adamax import Adamax
from convnp.optim.nadam import NAdam
from convnp.optim.optimizer import Optimizer
from convnp.optim.radam import RAdam
from convnp.optim.rmsprop import RMSprop
from convnp.optim.sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Adadelta",
    "RMSprop",
    "Adagrad",
    "Adamax",
    "NAdam",
    "RAdam",
    "lr_scheduler",
]
