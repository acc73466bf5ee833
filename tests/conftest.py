import numpy as np
import pytest

# PyTorch is the reference oracle. A missing torch must fail the run, never skip the parity tests.
import torch  # noqa: F401

# The references run on tiny tensors: one thread avoids thread start-up and contention.
torch.set_num_threads(1)


def pytest_addoption(parser):
    parser.addoption(
        "--engine",
        default="auto",
        help="cn.set_engine(NAME) for the whole run: 'auto' (default) or 'reference' (the lecture tier)",
    )


def pytest_configure(config):
    import convnp as cn

    cn.set_engine(config.getoption("--engine"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
