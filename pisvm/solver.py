"""The grid's binary SVM solver: RBF kernel blocks by BLAS and a binary C-SVC on an index subset of a block.

Stand-in: :func:`solve_binary` runs LIBSVM through scikit-learn's
``SVC(kernel="precomputed")`` on the block's rows and columns ``index``, until
the Cython SMO replaces it behind the same interface.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.svm import SVC


def squared_distances(A, B):
    """Squared Euclidean distances between the rows of ``A`` and ``B``, by one BLAS product.

    ``|a|^2 + |b|^2 - 2 a.b``, clipped at 0 (rounding can make it slightly negative).

    Parameters
    ----------
    A : array-like of shape (n_a, n_features)
    B : array-like of shape (n_b, n_features)

    Returns
    -------
    squared : ndarray of shape (n_a, n_b), dtype float64, C-contiguous
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = np.ascontiguousarray(B, dtype=np.float64)
    squared = A @ B.T
    squared *= -2.0
    squared += np.einsum("ij,ij->i", A, A)[:, None]
    squared += np.einsum("ij,ij->i", B, B)[None, :]
    return np.maximum(squared, 0.0, out=squared)


def rbf_block(squared, gamma, out=None):
    """RBF kernel values ``exp(-gamma * squared)``.

    Parameters
    ----------
    squared : ndarray of shape (n_a, n_b), float64
    gamma : float
    out : ndarray of shape (n_a, n_b), float64, C-contiguous, optional
        Where to write the block (may be ``squared`` itself).

    Returns
    -------
    K : ndarray of shape (n_a, n_b), dtype float64, C-contiguous
    """
    if out is None:
        out = np.empty(np.shape(squared), dtype=np.float64)
    np.multiply(squared, -gamma, out=out)
    return np.exp(out, out=out)


@dataclass(frozen=True)
class BinarySolution:
    """Solution of a binary C-SVC dual problem (LIBSVM's conventions).

    Attributes
    ----------
    alpha : ndarray of shape (n_train,), float64
        Dual coefficients in ``[0, C_k]``, in the order of ``index``.
    rho : float
        Bias: ``f(x) = sum_k alpha_k y_k K(x, x_k) - rho``; ``f > 0`` means the +1 class.
    n_iter : int
        Solver iterations.
    objective : float
        Dual objective ``0.5 a'Qa - e'a``.
    """

    alpha: np.ndarray
    rho: float
    n_iter: int
    objective: float


def solve_binary(K, index, y, C_pos, C_neg, tol=1e-3, shrinking=True, max_iter=None):
    """Solve the binary C-SVC dual on the samples ``index`` of a kernel block.

    Parameters
    ----------
    K : ndarray of shape (n_block, n_block), float64
        Kernel block (symmetric).
    index : ndarray of shape (n_train,), int64
        Positions in the block of the training samples, in LIBSVM's sample order.
    y : ndarray of shape (n_train,)
        +1 (the pair's first class, as in LIBSVM) or -1.
    C_pos, C_neg : float
        Upper bounds of the +1 and -1 samples (class weight times C).
    tol : float, default 1e-3
        Stopping tolerance (LIBSVM ``-e``).
    shrinking : bool, default True
    max_iter : int, optional
        Iteration limit (none by default).

    Returns
    -------
    BinarySolution
    """
    index = np.asarray(index, dtype=np.int64)
    y = np.asarray(y)
    sub = np.ascontiguousarray(K[np.ix_(index, index)])
    model = SVC(kernel="precomputed", C=1.0, class_weight={1: float(C_pos), -1: float(C_neg)}, tol=tol,
                shrinking=shrinking, max_iter=-1 if max_iter is None else max_iter).fit(sub, y)
    # classes_ is [-1, 1] and decision_function > 0 means +1, so dual_coef_ is
    # alpha * y and intercept_ is -rho.
    alpha = np.zeros(len(index))
    alpha[model.support_] = np.abs(model.dual_coef_[0])
    signed = alpha * y
    objective = 0.5 * signed @ sub @ signed - alpha.sum()
    return BinarySolution(alpha=alpha, rho=float(-model.intercept_[0]), n_iter=int(model.n_iter_[0]),
                          objective=float(objective))
