"""convnp.nn: layers and the functional operations they call."""

from convnp.nn import functional
