"""Doctests: every ``>>>`` example in convnp runs as a test (pyproject.toml: --doctest-modules).

Each example runs in a fresh temporary folder (also tempfile's default folder), so an example that
writes files leaves nothing behind, and the engine choice and random state it changes are put back.
"""

import tempfile

import pytest
from _pytest.doctest import DoctestItem

# examples that take seconds: left out of the quick loop, `python -m pytest -m "not slow"`
SLOW_DOCTESTS = {
    "convnp.models.vgg",  # builds VGG-11: 129 million parameters to initialise
}


@pytest.hookimpl(tryfirst=True)  # before -m picks the tests
def pytest_collection_modifyitems(items):
    for item in items:
        if isinstance(item, DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _doctest_sandbox(request):
    if not isinstance(request.node, DoctestItem):
        yield
        return
    import convnp as cn

    tmp_path = request.getfixturevalue("tmp_path")
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rng_state = cn.get_rng_state()
    with cn.engine(**cn.get_engine()):  # restores every family's engine afterwards
        yield
    cn.set_rng_state(rng_state)
