"""pisvm.svm.solver: kernel blocks, and the binary SMO against LIBSVM (scikit-learn's SVC) and by hand."""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import rbf_kernel as sklearn_rbf_kernel
from sklearn.svm import SVC

from pisvm.svm._kernel import rbf_rows
from pisvm.svm.solver import LOG_KERNEL_FLOOR, rbf_block, rbf_kernel, solve_binary, solve_rbf


def test_rbf_kernel_and_rbf_block():
    rng = np.random.RandomState(0)
    A, B = rng.uniform(size=(40, 7)), rng.uniform(size=(25, 7))
    for gamma in (0.5, 8.0):
        K = rbf_kernel(A, B, gamma)
        assert K.flags.c_contiguous and K.dtype == np.float64 and K.shape == (40, 25)
        np.testing.assert_allclose(K, sklearn_rbf_kernel(A, B, gamma=gamma), rtol=1e-12)
        np.testing.assert_allclose(rbf_block(cdist(A, B, "sqeuclidean"), gamma), K, rtol=1e-12)
    same = rbf_kernel(A, A, 2.0)
    assert np.all(np.diag(same) == 1.0) and np.array_equal(same, same.T) and np.all(same <= 1.0)
    # Kernel values below exp(LOG_KERNEL_FLOOR) are exact zeros (subnormal exp is slow).
    tiny = rbf_block(np.array([[0.0, 100.0, 459.0, 461.0, 800.0]]), 1.0)
    np.testing.assert_array_max_ulp(tiny, [[1.0, np.exp(-100.0), np.exp(-459.0), 0.0, 0.0]], maxulp=1)
    assert tiny[0, 0] == 1.0 and np.all(tiny[0, 3:] == 0.0)
    far = rbf_kernel(np.array([[0.0]]), np.array([[0.0], [10.0], [21.25], [21.5], [30.0]]), 1.0)
    expected = np.exp(-np.array([[0.0, 100.0, 451.5625, 462.25, 900.0]])) * [1, 1, 1, 0, 0]
    np.testing.assert_array_max_ulp(far, expected, maxulp=1)
    # The predictor's kernel rows are the same function.
    dots = np.zeros((1, 5))
    rbf_rows(dots, np.array([0.0]), np.array([0.0, 100.0, 459.0, 461.0, 800.0]), 1.0, LOG_KERNEL_FLOOR)
    np.testing.assert_array_equal(dots, tiny)
    for bad in (rbf_kernel, rbf_block):
        with pytest.raises(ValueError, match="gamma == -1"):
            bad(A, A, -1) if bad is rbf_kernel else bad(A, -1)
    with pytest.raises(ValueError, match="same number of columns"):
        rbf_kernel(A, B[:, :3], 1.0)


def test_rbf_block_exp_is_within_one_ulp_of_the_c_library():
    # rbf_block computes exp itself (pisvm/svm/rbf_values.h): within 1 ulp of libm's over the whole
    # range it keeps, exactly 1 at distance 0, exact zeros below the floor, any length (vector tails).
    squared = np.concatenate([np.linspace(0.0, 460.0, 200_003), np.random.RandomState(0).uniform(0, 1e-6, 1001)])
    for gamma in (0.25, 1.0, 32.0):
        K = rbf_block(squared[np.newaxis], gamma)[0]
        exponent = -gamma * squared
        kept = exponent >= LOG_KERNEL_FLOOR
        np.testing.assert_array_max_ulp(K[kept], np.exp(exponent[kept]), maxulp=1)
        assert np.all(K[~kept] == 0.0) and K[0] == 1.0
    for n in range(9):
        np.testing.assert_array_max_ulp(rbf_block(squared[np.newaxis, :n], 2.0)[0], np.exp(-2.0 * squared[:n]), 1)


def test_two_points_by_hand():
    # K = [[1, k], [k, 1]], y = (+1, -1): a_1 = a_2 = a minimises a^2 (1 - k) - 2a, so
    # a = min(1 / (1 - k), C_pos, C_neg); with a_1 = C_pos < C_neg, sample 2 is free and
    # rho = y_2 G_2 = 1 - a (1 - k).
    k = 0.5
    K = np.array([[1.0, k], [k, 1.0]])
    solution = solve_binary(K, [0, 1], [1, -1], C_pos=0.3, C_neg=5.0, tol=1e-9)
    np.testing.assert_allclose(solution.alpha, [0.3, 0.3], atol=1e-12)
    assert solution.rho == pytest.approx(1 - 0.3 * (1 - k), abs=1e-12)
    assert solution.objective == pytest.approx(0.3**2 * (1 - k) - 2 * 0.3, abs=1e-12)
    assert solution.n_sv == 2
    # Unbounded: a = 1 / (1 - k) = 2, both free, rho = 0.
    solution = solve_binary(K, [0, 1], [1, -1], C_pos=10.0, C_neg=10.0, tol=1e-9)
    np.testing.assert_allclose(solution.alpha, [2.0, 2.0], atol=1e-12)
    assert solution.rho == pytest.approx(0.0, abs=1e-12)
    assert solution.objective == pytest.approx(-2.0, abs=1e-12)


def test_three_points_hard_margin_by_hand():
    # Linear kernel on the line: x = 2, 3 (+1) and x = 0 (-1).  The margin is w x - rho = +-1
    # at x = 2 and x = 0: w = 1, rho = 1, a = (0.5, 0, 0.5), objective 0.5 w^2 - sum(a) = -0.5.
    # The block holds an unused fourth sample; the index picks the other three; labels as floats.
    x = np.array([2.0, 7.0, 3.0, 0.0])
    K = np.outer(x, x)
    solution = solve_binary(K, np.array([0, 2, 3]), np.array([1.0, 1.0, -1.0]), C_pos=100.0, C_neg=100.0, tol=1e-10)
    np.testing.assert_allclose(solution.alpha, [0.5, 0.0, 0.5], atol=1e-9)
    assert solution.rho == pytest.approx(1.0, abs=1e-9)
    assert solution.objective == pytest.approx(-0.5, abs=1e-9)
    assert solution.n_sv == 2


def _blobs(n_pos=90, n_neg=70, n_held_out=40, seed=0):
    """A block over two overlapping classes; returns X, labels (+1/-1) and train/held-out rows."""
    rng = np.random.RandomState(seed)
    n = n_pos + n_neg + n_held_out
    y = np.where(rng.uniform(size=n) < n_pos / (n_pos + n_neg), 1, -1)
    X = rng.normal(size=(n, 6)) * 0.6 + y[:, None] * 0.35
    held_out = np.zeros(n, bool)
    held_out[rng.choice(n, n_held_out, replace=False)] = True
    # LIBSVM's sample order within a pair: the +1 class first, each class in data order.
    train = np.concatenate([np.flatnonzero(~held_out & (y == 1)), np.flatnonzero(~held_out & (y == -1))])
    return X, y, train, np.flatnonzero(held_out)


def _libsvm(K, y, train, C, weight_neg, tol, shrinking):
    """scikit-learn's LIBSVM on the precomputed sub-block: alpha (in ``train`` order), rho, objective."""
    labels = np.where(y[train] == 1, 0, 1)  # class 0 is the +1 class of LIBSVM's binary problem
    clf = SVC(kernel="precomputed", C=C, tol=tol, shrinking=shrinking, class_weight={0: 1.0, 1: weight_neg})
    clf.fit(K[np.ix_(train, train)], labels)
    alpha = np.zeros(len(train))
    alpha[clf.support_] = np.abs(clf._dual_coef_[0])
    coef = clf._dual_coef_[0]
    K_sv = K[np.ix_(train[clf.support_], train[clf.support_])]
    return clf, alpha, -clf._intercept_[0], 0.5 * coef @ K_sv @ coef - np.abs(coef).sum()


@pytest.mark.parametrize("gamma, C, weight_neg, shrinking", [
    (0.5, 1.0, 1.0, True), (0.5, 1.0, 1.0, False), (2.0, 100.0, 1.0, True),
    (2.0, 100.0, 1.0, False), (0.2, 10.0, 3.0, True), (1.0, 1000.0, 0.25, False),
])
def test_same_solution_as_libsvm(gamma, C, weight_neg, shrinking):
    X, y, train, held_out = _blobs()
    K = rbf_kernel(X, X, gamma, float32=True)  # LIBSVM rounds the precomputed values it caches to float32 too
    tol = 1e-3
    solution = solve_binary(K, np.asarray(train, np.int64), y[train].astype(np.int8),
                            C_pos=C, C_neg=C * weight_neg, tol=tol, shrinking=shrinking)
    clf, alpha, rho, objective = _libsvm(K, y, train, C, weight_neg, tol, shrinking)
    box = np.where(y[train] == 1, C, C * weight_neg)
    assert np.all(solution.alpha >= 0) and np.all(solution.alpha <= box)
    assert abs(y[train] @ solution.alpha) < 1e-9 * C
    assert abs(solution.objective - objective) <= 1e-3 * abs(objective)
    # The reported objective is the objective of the returned alpha.
    Q = K[np.ix_(train, train)] * np.outer(y[train], y[train])
    assert solution.objective == pytest.approx(0.5 * solution.alpha @ Q @ solution.alpha - solution.alpha.sum(),
                                               rel=1e-9)
    # On the same float32 kernel values the SMO takes LIBSVM's steps: the same iterations and solution, bit for bit.
    assert solution.n_iter == clf.n_iter_[0]
    assert np.array_equal(solution.alpha, alpha) and solution.rho == rho
    assert solution.n_sv == np.count_nonzero(solution.alpha)
    # Held-out predictions: f(x) = sum_k a_k y_k K(x, x_k) - rho, f > 0 is the +1 class.
    decision = K[np.ix_(held_out, train)] @ (solution.alpha * y[train]) - solution.rho
    expected = np.where(clf.predict(K[np.ix_(held_out, train)]) == 0, 1, -1)
    assert np.mean(np.where(decision > 0, 1, -1) == expected) >= 0.97


def test_shrinking_changes_the_path_not_the_solution():
    X, y, train, _ = _blobs(n_pos=150, n_neg=150, n_held_out=0, seed=1)
    K = rbf_kernel(X, X, 1.0)
    on = solve_binary(K, train, y[train], 100.0, 100.0, shrinking=True)
    off = solve_binary(K, train, y[train], 100.0, 100.0, shrinking=False)
    assert on.objective == pytest.approx(off.objective, rel=1e-3)
    # A tighter tolerance moves the objective down and takes more iterations.
    tight = solve_binary(K, train, y[train], 100.0, 100.0, tol=1e-6)
    assert tight.objective <= on.objective and tight.n_iter > on.n_iter


def test_threads_give_the_serial_results():
    X, y, train, _ = _blobs(seed=2)
    K = rbf_kernel(X, X, 1.0)
    Cs = [0.1, 1.0, 10.0, 100.0]
    serial = [solve_binary(K, train, y[train], C, C) for C in Cs]
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(lambda C: solve_binary(K, train, y[train], C, C), Cs))
    for one, other in zip(serial, threaded):
        np.testing.assert_array_equal(one.alpha, other.alpha)
        assert (one.rho, one.n_iter, one.objective) == (other.rho, other.n_iter, other.objective)


def test_max_iter_stops_and_warns():
    X, y, train, _ = _blobs(seed=3)
    K = rbf_kernel(X, X, 2.0)
    with pytest.warns(ConvergenceWarning, match="max_iter == 3"):
        solution = solve_binary(K, train, y[train], 100.0, 100.0, max_iter=3)
    assert solution.n_iter == 3
    full = solve_binary(K, train, y[train], 100.0, 100.0)
    assert full.n_iter > 3 and full.objective < solution.objective


def test_compact_copy_keeps_the_iterates_under_any_memory_budget():
    # Label noise keeps many multipliers at their bound: shrinking drops them, the active set
    # gets small, and the SMO copies the active sub-block, then keeps the copy in active-set
    # order as shrinking goes on (copied again only after the unshrink).
    X, y, train, _ = _blobs(n_pos=400, n_neg=400, n_held_out=100, seed=4)
    y = np.where(np.random.RandomState(5).uniform(size=len(y)) < 0.15, -y, y)
    K = rbf_kernel(X, X, 0.5)
    index = np.sort(train)
    block = solve_binary(K, index, y[index], 1000.0, 1000.0, cache_mb=0)
    assert block.n_copies == 0
    full_copy_mb = len(index) ** 2 * 8 / 2**20
    budgets = [full_copy_mb, full_copy_mb / 4, full_copy_mb / 100]
    solutions = [solve_binary(K, index, y[index], 1000.0, 1000.0, cache_mb=mb) for mb in budgets]
    assert solutions[0].n_copies >= 2  # before and after the unshrink
    assert solutions[1].n_copies > 0  # the active set fell under half the samples
    assert solutions[2].n_copies == 0
    for solution in solutions:
        np.testing.assert_array_equal(solution.alpha, block.alpha)
        assert (solution.rho, solution.n_iter, solution.objective) == (block.rho, block.n_iter, block.objective)
    # A short solve (fewer iterations than twice the active set) never pays for a copy.
    short = solve_binary(rbf_kernel(X, X, 8.0), index, y[index], 1000.0, 1000.0,
                         cache_mb=full_copy_mb)
    assert short.n_copies == 0 and short.n_iter < 2 * len(index)


@pytest.mark.parametrize("gamma, C, shrinking", [(0.5, 10.0, True), (2.0, 1e4, True), (8.0, 100.0, False)])
def test_rows_on_demand_solve_the_same_problem(gamma, C, shrinking):
    X, y, train, _ = _blobs(n_pos=300, n_neg=300, n_held_out=0, seed=6)
    y = np.where(np.random.RandomState(7).uniform(size=len(y)) < 0.1, -y, y)  # many multipliers at the bound
    order = np.sort(train)
    block = solve_binary(rbf_kernel(X, X, gamma, float32=True), order, y[order], C, 0.5 * C, shrinking=shrinking)
    on_demand = solve_rbf(X[order], y[order], C, 0.5 * C, gamma, shrinking=shrinking)
    # Both round the kernel values to float32 (a BLAS sum and a loop's can round apart only on a float32
    # tie, none here), so both take the same steps.
    assert on_demand.n_iter == block.n_iter and on_demand.rho == block.rho
    assert np.array_equal(on_demand.alpha, block.alpha)
    with pytest.raises(ValueError, match="gamma == 0"):
        solve_rbf(X, y, 1.0, 1.0, 0.0)


@pytest.mark.parametrize("change, message", [
    ({"K": np.ones((3, 4))}, "square"),
    ({"index": [0, 5]}, r"must be in \[0, 3\)"),
    ({"index": [0.0, 1.0]}, "integer"),
    ({"y": [1, 0]}, "must be \\+1 or -1"),
    ({"y": [1, -1, 1]}, "shape of index"),
    ({"C_pos": 0.0}, "C_pos == 0.0"),
    ({"C_neg": np.inf}, "C_neg == inf"),
    ({"tol": -1e-3}, "tol == -0.001"),
    ({"max_iter": -1}, "max_iter == -1"),
    ({"cache_mb": -1.0}, "cache_mb == -1.0"),
])
def test_bad_arguments(change, message):
    arguments = {"K": np.eye(3), "index": [0, 2], "y": [1, -1], "C_pos": 1.0, "C_neg": 1.0}
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        solve_binary(**arguments)


_LOOPS_SCRIPT = """
import sys, numpy as np
from pisvm.svm import _smo
from pisvm.svm.solver import rbf_block, rbf_kernel, solve_binary, solve_rbf
rng = np.random.RandomState(3)
X = rng.uniform(size=(803, 6))  # odd sizes: the vector loops' tails run too
y = np.where(X[:, 0] + 0.3 * rng.normal(size=803) > 0.5, 1, -1)  # overlapping classes: long, shrinking solves
K = rbf_kernel(X, X, 4.0)
out, copies = [], 0
for index in (np.arange(803), np.flatnonzero(np.arange(803) % 7 != 3)):  # in block order, then a subset
    for C in (1.0, 1000.0):
        s = solve_binary(K, index, y[index], C, 0.5 * C)
        out += [s.n_iter, s.n_copies, s.rho, s.objective] + s.alpha.tolist()
        copies += s.n_copies
s = solve_rbf(X, y, 100.0, 100.0, 4.0)
out += [s.n_iter, s.rho] + s.alpha.tolist()
out += K[::5].ravel().tolist() + rbf_block(np.linspace(0.0, 700.0, 100_003)[np.newaxis], 1.0)[0].tolist()
np.save(sys.argv[1], np.array([float(_smo.VECTOR_LOOPS), copies] + out))
"""


def test_scalar_and_vector_loops_give_the_same_bits(tmp_path):
    # The SMO's loops over contiguous rows and the kernel's exp are AVX2 loops (pisvm/svm/smo_rows.h,
    # rbf_values.h) where the CPU has AVX2, else their scalar twins; PISVM_SCALAR_LOOPS=1 forces the
    # twins. Both must give the same bits.
    import os
    import subprocess
    import sys

    runs = {}
    for name, value in (("default", "0"), ("scalar", "1")):
        target = tmp_path / f"{name}.npy"
        subprocess.run([sys.executable, "-c", _LOOPS_SCRIPT, str(target)], check=True,
                       env=dict(os.environ, PISVM_SCALAR_LOOPS=value))
        runs[name] = np.load(target)
    assert runs["scalar"][0] == 0.0
    if runs["default"][0] == 0.0:
        pytest.skip("this CPU has no AVX2: only the scalar loops run here")
    assert runs["default"][1] >= 3  # compact copies were made and shrinking moved their rows
    np.testing.assert_array_equal(runs["default"][1:], runs["scalar"][1:])


def test_solve_folds_warns_when_a_task_reaches_the_iteration_limit(monkeypatch):
    # LIBSVM's limit (10 million iterations at least) is out of a test's reach: lower the limit that
    # solve_folds checks (the SMO keeps its own) to the most iterations a task used.
    from pisvm.svm import solver

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(12, 2))
    K = rbf_kernel(X, X, 1.0)
    block_fold = np.array([0, 1, 0, 1, 0, 2, 1, 0, 1, 0, 1, 2], dtype=np.int32)  # trains on 7 and 10 samples
    args = (K, block_fold, 6, np.array([0, 2], dtype=np.int32), np.array([1.0, 1.0]), (1.0, 1.0))
    coefs, rho, n_iter, free, seconds = solver.solve_folds(*args)
    assert np.all(n_iter > 0)
    monkeypatch.setattr(solver, "libsvm_max_iter", lambda size: int(n_iter.max()))
    with pytest.warns(ConvergenceWarning, match="iteration limit"):
        solver.solve_folds(*args)
    monkeypatch.setattr(solver, "libsvm_max_iter", lambda size: 10**9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solver.solve_folds(*args)
