"""The fast one-vs-one predictor: kernel rows by BLAS, decision values by one matrix product per class block.

LIBSVM predicts a sample with scalar loops: every kernel value, then every
pairwise decision value.  Here a chunk of test rows is predicted at once:

1. kernel rows ``K`` (n_rows, n_sv): for RBF by :func:`pisvm.svm.solver.rbf_kernel`
   (the dot products ``X @ SV.T`` by BLAS, then ``exp(-gamma (|x|^2 + |s|^2 -
   2 x.s))`` in one compiled pass), as every kernel value of the suite;
2. per class block c (the SVs of class c), ``K[:, c] @ coef[:, c].T`` gives
   that block's share of every pair decision value involving c;
3. the pair sums and ``rho`` by :func:`pisvm.svm.onevsone.pair_values` (as the
   grid's fold scoring does), then the votes of :func:`pisvm.svm.onevsone.vote`
   (LIBSVM's rules: class i wins pair (i, j) when its value is > 0; the
   first class with most votes wins).

Test rows are processed in chunks so that the working memory stays below
``chunk_mb`` whatever the number of rows; every chunk has the same number
of rows (a multiple of 64, at least 128, the last chunk padded), so a row's decision
values are the same bits whichever rows share its chunk.  Features beyond the model's
support vectors follow LIBSVM: they are 0 in every SV (so they still count
in an RBF distance).
"""

import numpy as np
from scipy import sparse

from .onevsone import class_pairs, pair_values, vote
from .solver import rbf_kernel

_ROW_BLOCK = 64

MIN_CHUNK_ROWS = 2 * _ROW_BLOCK
"""Fewest test rows the predictor scores together (128); more when ``chunk_mb`` holds more (multiples of 64).

Not the grid's :data:`pisvm.grid.chains.CHUNK_ROWS` (256 held-out rows): that
is a fixed count, bounding the kernel rows the fold scoring holds at once,
while this is the floor of a chunk sized from the ``chunk_mb`` budget over a
model's support vectors (measured on its own, see :func:`_chunk_rows`).
"""


def _chunk_rows(model, chunk_mb):
    """Rows per chunk: a multiple of 64 that fits ``chunk_mb``, at least :data:`MIN_CHUNK_ROWS`.

    128 rows measured fastest on the seed-shaped problem (7,758 SVs: 128 rows 0.93x the time of 256,
    64 rows 1.03x; with two ranks busy on two cores 0.84x), and fewer rows mean more Python-level calls.
    """
    n_class = len(model.labels)
    per_row = 8 * (len(model.support_vectors) + n_class * max(n_class - 1, 1) + 2 + len(model.rho))
    return max(MIN_CHUNK_ROWS // _ROW_BLOCK, int(chunk_mb * 2**20 // per_row) // _ROW_BLOCK) * _ROW_BLOCK


def kernel_rows(model, X):
    """Kernel values between samples and the model's support vectors.

    Parameters
    ----------
    model : pisvm.svm.model.SVMModel
    X : ndarray of shape (n_rows, n_features), float64
        Any width: missing features are 0, extra ones are 0 in the SVs.

    Returns
    -------
    ndarray of shape (n_rows, n_sv), float64
    """
    width = min(X.shape[1], model.n_features)
    if model.kernel == "rbf":
        support_vectors = model.support_vectors
        return rbf_kernel(X[:, :width], support_vectors[:, :width], model.gamma, norms_a=np.einsum("ij,ij->i", X, X),
                          norms_b=np.einsum("ij,ij->i", support_vectors, support_vectors))
    dots = np.ascontiguousarray(X[:, :width] @ model.support_vectors[:, :width].T)
    if model.kernel == "polynomial":
        dots = (model.gamma * dots + model.coef0) ** model.degree
    elif model.kernel == "sigmoid":
        dots = np.tanh(model.gamma * dots + model.coef0)
    return dots


def predict(model, X, chunk_mb=4.0, decision=False):
    """Predict class labels (and LIBSVM's decision values) of samples.

    Parameters
    ----------
    model : pisvm.svm.model.SVMModel
    X : array-like or scipy sparse matrix of shape (n_rows, n_features)
        A sparse matrix is made dense one chunk at a time.
    chunk_mb : float, default 4
        Working memory per chunk of rows, in MB (kernel rows, class-block
        products and, with ``decision``, the chunk's decision values).
    decision : bool, default False
        Also return the decision values.

    Returns
    -------
    labels : ndarray of shape (n_rows,), dtype of ``model.labels`` (float64)
        Identical to LIBSVM's ``svm_predict`` (and ``SVC.predict``).
    decision_values : ndarray of shape (n_rows, n_pairs), float64
        Only with ``decision``: pair (i, j) in :func:`pisvm.svm.onevsone.class_pairs`
        order, > 0 where class i wins (LIBSVM's sign; ``SVC.decision_function``
        with ``decision_function_shape="ovo"`` gives the same values, negated
        for two classes).
    """
    is_sparse = sparse.issparse(X)
    X = sparse.csr_matrix(X, dtype=np.float64) if is_sparse else np.asarray(X, dtype=np.float64)
    n_rows, n_class = X.shape[0], len(model.labels)
    winner = np.zeros(n_rows, dtype=np.int64)
    values = np.zeros((n_rows, len(model.rho)) if decision else (0, 0))
    if n_class > 1:
        start = model.sv_start
        step = _chunk_rows(model, chunk_mb)
        # Class c's shares (its SVs' part of its n_class - 1 pairs' values) in columns c (n_class - 1) + k.
        shares = np.empty((step, n_class * (n_class - 1)))
        first, second = np.array(class_pairs(n_class), dtype=np.int64).T
        first_share, second_share = first * (n_class - 1) + second - 1, second * (n_class - 1) + first
        chunk_values = np.empty((step, len(model.rho)))
        rows = np.zeros((step, X.shape[1]))
        for first in range(0, n_rows, step):
            last = min(first + step, n_rows)
            # Every BLAS call gets the same shape (the last chunk is padded with zero rows): a row's
            # rounding then does not depend on where chunks start, so any split over ranks gives the same bits.
            rows[:last - first] = X[first:last].toarray() if is_sparse else X[first:last]
            rows[last - first:] = 0.0
            kernel = kernel_rows(model, rows)
            for c in range(n_class):
                np.matmul(kernel[:, start[c]:start[c + 1]], model.dual_coef[:, start[c]:start[c + 1]].T,
                          out=shares[:, c * (n_class - 1):(c + 1) * (n_class - 1)])
            pair_values(shares, first_share, second_share, model.rho, chunk_values)
            winner[first:last] = vote(chunk_values[:last - first] > 0, n_class)
            if decision:
                values[first:last] = chunk_values[:last - first]
    labels = model.labels[winner]
    return (labels, values) if decision else labels


def predict_pairs(model, X, pairs, chunk_mb=4.0):
    """Which class wins each of some one-vs-one pairs.

    Parameters
    ----------
    model : pisvm.svm.model.SVMModel
        Typically built by :meth:`pisvm.svm.model.SVMModel.from_pairs` from the
        fits of ``pairs`` only.
    X : ndarray of shape (n_rows, n_features)
    pairs : list of tuple
        Class index pairs ``(i, j)``, ``i < j``.

    Returns
    -------
    list of ndarray of shape (n_rows,), bool
        For each pair, True where class i wins (decision value > 0).
    """
    _, values = predict(model, X, chunk_mb=chunk_mb, decision=True)
    position = {pair: p for p, pair in enumerate(class_pairs(len(model.labels)))}
    return [values[:, position[pair]] > 0 for pair in pairs]

