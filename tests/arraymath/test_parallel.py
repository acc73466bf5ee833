"""The worker-thread helpers of convnp.arraymath.parallel."""

import threading

import numpy as np
import pytest

from convnp.arraymath import parallel


@pytest.fixture
def two_workers():
    parallel.set_num_workers(2)
    yield
    parallel.set_num_workers(None)


def test_parallel_map_runs_on_worker_threads_in_order(two_workers):
    main = threading.get_ident()
    out = parallel.parallel_map(lambda i: (i * i, threading.get_ident()), range(5))
    assert [v for v, _ in out] == [0, 1, 4, 9, 16]
    assert all(ident != main for _, ident in out)


def test_parallel_map_keeps_the_callers_errstate(two_workers):
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            parallel.parallel_map(lambda a: np.divide(1.0, a), [np.zeros(3), np.zeros(3)])
    with np.errstate(divide="ignore"):
        out = parallel.parallel_map(lambda a: np.divide(1.0, a), [np.zeros(3), np.zeros(3)])
    assert all(np.isinf(o).all() for o in out)


def test_batch_slices_one_per_worker_and_none_for_small_arrays(two_workers):
    big = np.empty((5, 1 << 16), np.float32)
    parts = parallel.batch_slices(big)
    assert parts == [slice(0, 3), slice(3, 6)]
    assert sum(len(range(*p.indices(5))) for p in parts) == 5
    assert parallel.batch_slices(np.empty((5, 10))) == [slice(None)]  # under min_size
    assert parallel.batch_slices(np.empty((1, 1 << 20))) == [slice(None)]  # batch of one
    parallel.set_num_workers(1)
    assert parallel.batch_slices(big) == [slice(None)]


def test_set_num_workers_checks_its_argument():
    with pytest.raises(ValueError, match=r"expected a positive int or None. Received: 0"):
        parallel.set_num_workers(0)


def test_blas_threads_for_small_products_is_one_thread():
    if parallel._get_threads is None or parallel._set_threads_local is None:
        pytest.skip("needs NumPy's bundled OpenBLAS with per-thread settings")
    before = parallel._get_threads()
    with parallel.blas_threads_for(parallel.SMALL_PRODUCT_FLOPS / 2):
        assert parallel._get_threads() == 1
    assert parallel._get_threads() == before
    with parallel.blas_threads_for(parallel.SMALL_PRODUCT_FLOPS * 2):
        assert parallel._get_threads() == before


def test_work_runs_cover_every_item_once_in_pieces(two_workers):
    # a small whole: one run, one piece, for the calling thread
    assert parallel.work_runs(7, 10, 1 << 20, share_above=100) == [[(0, 7)]]
    # above share_above: one run per worker, pieces of at most piece_bytes // item_bytes items
    runs = parallel.work_runs(101, 1000, 9000, share_above=100)
    assert len(runs) == 2
    covered = np.zeros(101, int)
    for run in runs:
        for a, b in run:
            assert 0 < b - a <= 9
            covered[a:b] += 1
    assert np.all(covered == 1)
    assert runs[0][0][0] == 0 and runs[-1][-1][1] == 101  # contiguous runs, in order
    # an item larger than a piece is a piece of its own; more workers than items: one run each
    assert parallel.work_runs(2, 1 << 30, 10, share_above=0) == [[(0, 1)], [(1, 2)]]
