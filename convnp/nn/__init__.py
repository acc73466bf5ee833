"""convnp.nn: layers and the functional operations they call.

``Module`` and ``Parameter`` (module.py) are the machinery every layer stands on; the containers
(``Sequential``, ``ModuleList``, ``ModuleDict``, ``Identity``) hold layers; ``init`` initialises
weights; ``functional`` holds the operations under PyTorch's names.
"""

from convnp.nn import functional
from convnp.nn import init
from convnp.nn.containers import Identity, ModuleDict, ModuleList, Sequential
from convnp.nn.module import LayerInputError, LoadStateDictError, Module, Parameter

__all__ = ["functional", "init", "Module", "Parameter", "LayerInputError", "LoadStateDictError",
           "Sequential", "ModuleList", "ModuleDict", "Identity"]
