"""Training one multi-class model from its one-vs-one binary problems, serially or split over MPI ranks.

LIBSVM trains a k-class ``c_svc`` as k(k-1)/2 binary problems (the samples
of classes i and j, class i first, each in file order) and merges them
into one model.  :func:`fit_pair` solves one of them, with scikit-learn's
LIBSVM (``solver="libsvm"``, any kernel) or with the grid's own SMO on the
pair's RBF kernel block (``solver="pisvm"``, the grid's default);
:func:`train_model` hands the pairs out over ranks (longest first, each to
the least loaded rank), gathers the fits on rank 0 and assembles the model.
With LIBSVM it is the model that one ``SVC`` fit gives: the same support
vectors, coefficients and rho; with the pisvm solver it is the model the
grid's cross-validation scored, on every number of ranks.
"""

import time

import numpy as np
from sklearn.svm import SVC

from ..transport import gather_when_ready
from .model import SVMModel
from .onevsone import class_pairs, pair_costs
from .solver import CACHE_MB, solve_rbf

SOLVERS = ("pisvm", "libsvm")
"""Solvers of one binary problem: the grid's own SMO (RBF kernel only) and scikit-learn's LIBSVM."""


def svc(gamma, C, kernel="rbf", degree=3, coef0=0.0, cache_mb=CACHE_MB, tol=1e-3, shrinking=True, class_weight=None):
    """The scikit-learn ``SVC`` with LIBSVM's parameters (``kernel`` in :data:`pisvm.svm.model.KERNELS` names)."""
    return SVC(C=C, kernel="poly" if kernel == "polynomial" else kernel, gamma=gamma, degree=degree, coef0=coef0,
               tol=tol, shrinking=shrinking, cache_size=cache_mb, class_weight=class_weight,
               decision_function_shape="ovo")


def fit_pair(X, y, labels, pair, params):
    """Solve the binary problem of one class pair.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    labels : ndarray of shape (n_class,)
        Class labels in model order (sorted, as scikit-learn orders them).
    pair : tuple of int
        ``(i, j)``, ``i < j``.
    params : dict
        Keyword arguments of :func:`svc` (``gamma``, ``C``, ...), and
        ``solver`` (one of :data:`SOLVERS`, default "libsvm").

    Returns
    -------
    index : ndarray of shape (n_sv,), int64
        Training-sample indices of the support vectors.
    coef : ndarray of shape (n_sv,)
        Their coefficients, positive for class i (LIBSVM's sign).
    rho : float
    """
    return fit_pairs(X, y, labels, [pair], params)[pair]


def _fit_pair_libsvm(X, y, labels, pair, params):
    """:func:`fit_pair` by scikit-learn's LIBSVM on the pair's rows (``params`` is not modified)."""
    i, j = pair
    members = np.flatnonzero((y == labels[i]) | (y == labels[j]))
    params = dict(params)
    if params.get("class_weight"):
        params["class_weight"] = {label: weight for label, weight in params["class_weight"].items()
                                  if label in (labels[i], labels[j])} or None
    model = svc(**params).fit(X[members], y[members])
    # Public attributes: scikit-learn flips LIBSVM's signs of a binary problem (class i positive, rho = -b).
    return members[model.support_], -np.asarray(model.dual_coef_[0], dtype=np.float64), float(model.intercept_[0])


def solve_pair_rbf(X, first, second, C_first, C_second, gamma, **options):
    """Solve the RBF binary problem of two classes by :func:`pisvm.svm.solver.solve_rbf` (rows on demand).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    first, second : ndarray of int
        Sample indices of the +1 class (LIBSVM's first class of the pair) and of the -1 class.
    C_first, C_second : float
        Their upper bounds (C times the class weight).
    gamma : float
    **options
        ``tol``, ``shrinking``, ``cache_mb`` of :func:`pisvm.svm.solver.solve_rbf`.

    Returns
    -------
    samples : ndarray of shape (n_first + n_second,)
        ``first`` then ``second``: the order of the solution's ``alpha``.
    solution : pisvm.svm.solver.BinarySolution
    """
    samples = np.concatenate([first, second])
    signs = np.where(np.arange(len(samples)) < len(first), 1, -1)
    return samples, solve_rbf(X[samples], signs, C_first, C_second, gamma, **options)


def fit_pairs(X, y, labels, pairs, params, on_pair=None):
    """:func:`fit_pair` for every pair of ``pairs``; returns ``{pair: (index, coef, rho)}``.

    The pisvm solver computes the kernel rows each pair's SMO reads, on
    demand (:func:`pisvm.svm.solver.solve_rbf`): one fit pays for the rows it
    uses, as LIBSVM does, not for whole blocks.
    """
    params = dict(params)
    solver = params.pop("solver", "libsvm")
    if solver == "libsvm":
        fits = {}
        for pair in pairs:
            fits[pair] = _fit_pair_libsvm(X, y, labels, pair, params)
            if on_pair is not None:
                on_pair()
        return fits
    if solver != "pisvm":
        raise ValueError(f"solver {solver!r} not in {SOLVERS}")
    if params.get("kernel", "rbf") != "rbf":
        raise ValueError(f"the pisvm solver trains the RBF kernel only, not {params['kernel']}: use the libsvm solver")
    weights = params.get("class_weight") or {}
    fits = {}
    for i, j in pairs:
        first = np.flatnonzero(y == labels[i])
        samples, solution = solve_pair_rbf(X, first, np.flatnonzero(y == labels[j]),
                                           params["C"] * weights.get(labels[i], 1.0),
                                           params["C"] * weights.get(labels[j], 1.0), params["gamma"],
                                           tol=params.get("tol", 1e-3), shrinking=params.get("shrinking", True),
                                           cache_mb=params.get("cache_mb", CACHE_MB))
        support = np.flatnonzero(solution.alpha)
        signs = np.where(support < len(first), 1, -1)
        fits[(i, j)] = samples[support], solution.alpha[support] * signs, float(solution.rho)
        if on_pair is not None:
            on_pair()
    return fits


def share_pairs(labels_count, n_ranks):
    """Split the one-vs-one pairs over ranks: longest first (:func:`pair_costs`), each to the least loaded rank.

    Parameters
    ----------
    labels_count : ndarray of shape (n_class,)
        Training samples per class.
    n_ranks : int

    Returns
    -------
    list of list of tuple
        The pairs of each rank, in LIBSVM's pair order.
    """
    pairs = class_pairs(len(labels_count))
    cost = pair_costs(labels_count)
    load = np.zeros(n_ranks)
    shares = [[] for _ in range(n_ranks)]
    for p in sorted(range(len(pairs)), key=lambda p: (-cost[p], p)):
        rank = int(np.argmin(load))
        shares[rank].append(pairs[p])
        load[rank] += cost[p]
    return [sorted(share) for share in shares]


def train_model(X, y, params, comm=None, progress=None):
    """Train one multi-class model; under MPI the pairs are split over the ranks of ``comm``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The same on every rank.
    y : ndarray of shape (n_samples,)
    params : dict
        Keyword arguments of :func:`svc` (``gamma``, ``C``, ``kernel``, ...)
        and ``solver`` (see :func:`fit_pair`).
    comm : mpi4py.MPI.Comm, optional
        Every rank calls this function; None trains serially.
    progress : callable, optional
        ``progress(done, total, seconds)`` on rank 0 after each of its pairs
        under MPI (rank 0's share stands for the whole: shares are balanced).

    Returns
    -------
    SVMModel or None
        The model on rank 0, None elsewhere (with LIBSVM equal to
        ``SVMModel.from_svc(svc(**params).fit(X, y))``; with the pisvm solver the
        same on every number of ranks).
    """
    rank, size = (0, 1) if comm is None else (comm.rank, comm.size)
    if size == 1 and params.get("solver", "libsvm") == "libsvm":  # one LIBSVM call: no per-pair overhead
        return SVMModel.from_svc(svc(**{k: v for k, v in params.items() if k != "solver"}).fit(X, y))
    labels, counts = np.unique(y, return_counts=True)
    mine = share_pairs(counts, size)[rank]
    started = time.perf_counter()
    done = [0]

    def step():
        done[0] += 1
        if progress is not None and rank == 0:
            progress(done[0], len(mine), time.perf_counter() - started)

    fits = fit_pairs(X, y, labels, mine, params, on_pair=step)
    if comm is not None:
        gathered = gather_when_ready(fits, comm)  # ranks that finish first wait without spinning a core
        if rank != 0:
            return None
        fits = {pair: fit for part in gathered for pair, fit in part.items()}
    return SVMModel.from_pairs(X, y, labels, fits, kernel=params.get("kernel", "rbf"),
                               gamma=float(params["gamma"]), degree=params.get("degree", 3),
                               coef0=params.get("coef0", 0.0))

