import sys
from pathlib import Path

import numpy as np
import pytest

# PyTorch is the reference oracle. A missing torch must fail the run, never skip the parity tests.
import torch  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))
# The references run on tiny tensors: one thread avoids thread start-up and contention.
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
