"""``python -m convnp ...``: the same as the ``convnp`` command (see convnp.cli)."""

import sys

from convnp.cli import main  # convnp.cli runs its environment hook (_prepare_environment) on import

if __name__ == "__main__":
    sys.exit(main())
