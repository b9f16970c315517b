"""scikit-learn estimators over the suite's engine: :class:`SVC` and :class:`GridSearchSVC`.

:class:`SVC` is an RBF C-SVC with ``sklearn.svm.SVC``'s parameters and
fitted attributes; it trains with the grid's own SMO
(:func:`pisvm.svm.solver.solve_rbf`, or LIBSVM with ``solver="libsvm"``) and
predicts with the fast predictor (:func:`pisvm.svm.predict.predict`).
:class:`GridSearchSVC` is ``GridSearchCV`` over (gamma, C) for it, run by the
grid engine: chains of kernel blocks shared by every fold and every C, on
threads in one process or over MPI ranks.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import _ovr_decision_function, check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from .data.folds import stratified_folds
from .grid.cells import TEST_FOLD, check_grid
from .grid.chains import PisvmSolver
from .grid.engine import Problem, TaskResults, UnitSolver, run_units
from .svm.backends import LibsvmBackend
from .svm.model import SVMModel, read_model
from .svm.onevsone import class_pairs
from .svm.predict import predict as fast_predict
from .svm.solver import libsvm_max_iter
from .svm.train import solve_pair_rbf
from .svm.train import svc as libsvm_svc

SOLVERS = ("pisvm", "libsvm")
"""Values of ``SVC(solver=...)``: the grid's own solver, or scikit-learn's LIBSVM."""


class SVC(ClassifierMixin, BaseEstimator):
    """RBF C-support vector classifier, one-vs-one, trained by the grid's solver, predicted by the fast predictor.

    A drop-in for ``sklearn.svm.SVC(kernel="rbf")``: the same parameters
    (those that concern an RBF C-SVC), the same fitted attributes with the same
    meaning and layout, the same labels.  ``fit`` solves every one-vs-one
    binary problem with the grid's SMO, :func:`pisvm.svm.solver.solve_rbf`
    (LIBSVM's SMO in Cython without the GIL, computing the kernel rows it
    reads on demand) or, with ``solver="libsvm"``, with scikit-learn's LIBSVM; ``predict`` and
    ``decision_function`` use :func:`pisvm.svm.predict.predict` (kernel rows by
    BLAS, LIBSVM's vote), whose labels are LIBSVM's.

    Parameters
    ----------
    C : float, default 1.0
        Regularization parameter, > 0; class ``i`` gets ``C * class_weight_[i]``.
    gamma : {"scale", "auto"} or float, default "scale"
        RBF kernel width, > 0: ``K(x, x') = exp(-gamma |x - x'|^2)``.  "scale"
        is ``1 / (n_features * X.var())`` (1.0 when ``X.var()`` is 0), "auto"
        is ``1 / n_features``, as in ``sklearn.svm.SVC``.
    tol : float, default 1e-3
        Stopping tolerance of the SMO (LIBSVM ``-e``), > 0.
    shrinking : bool, default True
        LIBSVM's shrinking heuristic (``-h``).
    cache_size : float, default 200
        Memory of one binary solve, in MB: LIBSVM's kernel cache
        (``solver="libsvm"``), or the pisvm SMO's compact copy of the active
        sub-block once shrinking has made it small enough (``cache_mb`` of
        :func:`pisvm.svm.solver.solve_rbf`; the kernel rows themselves are held
        in full, as float64).
    class_weight : dict or "balanced", default None
        ``{label: weight}``: class ``label`` gets ``C * weight``; "balanced"
        weighs classes by ``n_samples / (n_classes * count)``.
    decision_function_shape : {"ovr", "ovo"}, default "ovr"
        Shape of :meth:`decision_function` for three classes or more, as in
        ``sklearn.svm.SVC``.
    solver : {"pisvm", "libsvm"}, default "pisvm"
        "pisvm": the grid's own solver; "libsvm": scikit-learn's LIBSVM
        (``sklearn.svm.SVC.fit``), whose fitted attributes it copies.
    n_jobs : int, default None
        Threads of ``fit`` with the pisvm solver (None: 1, -1: every core):
        the one-vs-one problems are solved side by side; the model does not
        depend on it.  ``predict`` runs BLAS with its own thread settings.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    class_weight_ : ndarray of shape (n_classes,)
        Factor of ``C`` of each class.
    support_ : ndarray of shape (n_SV,), dtype int32
        Training-sample indices of the support vectors, grouped by class in
        ``classes_`` order, ascending inside a class.
    support_vectors_ : ndarray of shape (n_SV, n_features)
    n_support_ : ndarray of shape (n_classes,), dtype int32
        Support vectors of each class.
    dual_coef_ : ndarray of shape (n_classes - 1, n_SV)
        Coefficients of the support vectors in the one-vs-one decision
        functions, LIBSVM's layout (and sign, except for two classes, where the
        sign is flipped so that > 0 means ``classes_[1]``, as in
        ``sklearn.svm.SVC``).
    intercept_ : ndarray of shape (n_classes * (n_classes - 1) / 2,)
        Constants of the decision functions (``-rho``; ``rho`` for two classes).
    n_iter_ : ndarray of shape (n_classes * (n_classes - 1) / 2,), dtype int32
        SMO iterations of each binary problem.
    fit_status_ : int
        0 when every binary problem converged, 1 when one stopped at the
        iteration limit (a ``ConvergenceWarning`` was given).
    shape_fit_ : tuple of int
        ``(n_samples, n_features)`` of the training data.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names.

    Notes
    -----
    The gamma used (after "scale" or "auto") is ``_gamma``, as in
    ``sklearn.svm.SVC``.  Sparse input is refused (the pisvm solver works on
    dense kernel blocks).  With the default solver the support vectors,
    coefficients and intercepts are LIBSVM's, bit for bit: the SMO takes
    LIBSVM's steps on LIBSVM's own kernel values (its formula, with the BLAS
    ``ddot`` that scikit-learn's LIBSVM calls, rounded to float32 as its cache
    holds them; :func:`pisvm.svm.solver.solve_rbf`).

    Examples
    --------
    >>> from pisvm import SVC
    >>> X = [[0.0, 0.0], [0.1, 0.2], [0.9, 1.0], [1.0, 0.8]]
    >>> SVC(C=10, gamma=1).fit(X, [0, 0, 1, 1]).predict([[0.95, 0.9]])
    array([1])
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0.0, None, closed="neither")],
        "gamma": [StrOptions({"scale", "auto"}), Interval(Real, 0.0, None, closed="neither")],
        "tol": [Interval(Real, 0.0, None, closed="neither")],
        "shrinking": ["boolean"],
        "cache_size": [Interval(Real, 0.0, None, closed="neither")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "decision_function_shape": [StrOptions({"ovr", "ovo"})],
        "solver": [StrOptions(set(SOLVERS))],
        "n_jobs": [Integral, None],
    }

    def __init__(self, *, C=1.0, gamma="scale", tol=1e-3, shrinking=True, cache_size=200.0, class_weight=None,
                 decision_function_shape="ovr", solver="pisvm", n_jobs=None):
        self.C = C
        self.gamma = gamma
        self.tol = tol
        self.shrinking = shrinking
        self.cache_size = cache_size
        self.class_weight = class_weight
        self.decision_function_shape = decision_function_shape
        self.solver = solver
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the one-vs-one classifiers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples (converted to float64, C order).
        y : array-like of shape (n_samples,)
            Class labels, at least two classes.

        Returns
        -------
        self : SVC
        """
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(classes)} class")
        self.class_weight_ = compute_class_weight(self.class_weight, classes=classes, y=y)
        self.classes_ = classes
        self._gamma = _resolve_gamma(self.gamma, X)
        weights = dict(enumerate(self.class_weight_.tolist()))
        sign = -1.0 if len(classes) == 2 else 1.0  # scikit-learn flips the binary decision function
        if self.solver == "libsvm":
            fitted = libsvm_svc(gamma=self._gamma, C=self.C, cache_mb=self.cache_size, tol=self.tol,
                                shrinking=self.shrinking, class_weight=weights).fit(X, y_index)
            support, n_support = fitted.support_, fitted.n_support_
            # Public attributes, back in LIBSVM's signs (as pisvm.svm.model.SVMModel.from_svc reads them).
            coef, rho = sign * np.asarray(fitted.dual_coef_), -sign * np.asarray(fitted.intercept_)
            n_iter, self.fit_status_ = fitted.n_iter_, int(fitted.fit_status_)
        else:
            solutions = _solve_pairs(X, y_index, len(classes), self._gamma, self.C, self.class_weight_,
                                     dict(tol=self.tol, shrinking=self.shrinking, cache_mb=self.cache_size),
                                     effective_n_jobs(self.n_jobs))
            support, n_support, coef, rho, n_iter = _assemble(X, y_index, len(classes), solutions)
            sizes = np.bincount(y_index)
            self.fit_status_ = int(any(n >= libsvm_max_iter(sizes[a] + sizes[b])
                                       for n, (a, b) in zip(n_iter, class_pairs(len(classes)))))
        self.support_ = np.asarray(support, dtype=np.int32)
        self.support_vectors_ = X[self.support_]
        self.n_support_ = np.asarray(n_support, dtype=np.int32)
        self.dual_coef_ = sign * np.asarray(coef, dtype=np.float64)
        self.intercept_ = -sign * np.asarray(rho, dtype=np.float64)
        self.n_iter_ = np.asarray(n_iter, dtype=np.int32)
        self.shape_fit_ = X.shape
        return self

    def _libsvm_model(self, labels=None):
        """The fitted model in LIBSVM's layout and signs (:class:`pisvm.svm.model.SVMModel`).

        ``labels`` default to the class indices ``0 .. n_classes - 1``.
        """
        sign = -1.0 if len(self.classes_) == 2 else 1.0
        labels = np.arange(len(self.classes_)) if labels is None else labels
        return SVMModel(labels, self.support_vectors_, sign * self.dual_coef_, sign * -self.intercept_,
                        self.n_support_, kernel="rbf", gamma=self._gamma)

    def predict(self, X):
        """Predict class labels (LIBSVM's one-vs-one vote; ties go to the first class in ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``, identical to ``sklearn.svm.SVC.predict``'s for the same model.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, order="C", reset=False)
        return self.classes_.take(fast_predict(self._libsvm_model(), X).astype(np.intp))

    def decision_function(self, X):
        """Decision values, as ``sklearn.svm.SVC.decision_function``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), (n_samples, n_classes) or (n_samples, n_classes * (n_classes - 1) / 2)
            Two classes: > 0 means ``classes_[1]``.  More classes: with
            ``decision_function_shape="ovo"`` one column per class pair in
            LIBSVM's order (> 0 means the pair's first class); with "ovr" the
            votes of each class plus a confidence term in (-1/3, 1/3), as
            scikit-learn computes it.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, order="C", reset=False)
        _, values = fast_predict(self._libsvm_model(), X, decision=True)
        n_classes = len(self.classes_)
        if n_classes == 2:
            return -values[:, 0]
        if self.decision_function_shape == "ovr":
            return _ovr_decision_function(values < 0, -values, n_classes)
        return values

    def write_model(self, path):
        """Write the fitted model as a LIBSVM model file (``svm-predict``, ``libsvm.svmutil``, ``pisvm-predict``).

        Parameters
        ----------
        path : str or os.PathLike
            Written atomically (temporary file, then rename).

        Raises
        ------
        ValueError
            When the class labels are not integers (LIBSVM files hold integer labels).
        """
        check_is_fitted(self)
        if not np.issubdtype(self.classes_.dtype, np.number):
            raise ValueError(f"LIBSVM model files hold integer class labels; classes_ is of dtype "
                             f"{self.classes_.dtype} ({self.classes_[:3].tolist()} ...)")
        self._libsvm_model(self.classes_).write(path)

    @classmethod
    def from_model(cls, path, n_features=None):
        """A fitted :class:`SVC` from a LIBSVM model file (``svm-train``, ``pisvm-train``, :meth:`write_model`).

        Parameters
        ----------
        path : str or os.PathLike
            An RBF ``c_svc`` model.
        n_features : int, optional
            Features the model predicts from (``n_features_in_``); by default
            the highest feature index of its support vectors (the file does
            not record the width of the training data).

        Returns
        -------
        SVC
            With ``C`` unknown (the file does not hold it: left at its
            default) and without ``support_`` (the file does not hold the
            training-sample indices).  Classes are sorted, as scikit-learn
            orders them; a file whose labels are in another order (LIBSVM
            orders them by first appearance) is reordered, which changes
            only which class wins a tied vote (the lowest label, as in
            ``sklearn.svm.SVC``, instead of the first in the file).
        """
        model = read_model(path)
        if model.svm_type != "c_svc" or model.kernel != "rbf":
            raise ValueError(f"{os.fspath(path)}: a {model.svm_type} model with kernel {model.kernel}; "
                             "pisvm.SVC holds c_svc models with kernel rbf")
        if len(model.labels) < 2:
            raise ValueError(f"{os.fspath(path)}: {len(model.labels)} class; an SVC needs at least 2")
        model = _sorted_classes(model)
        width = model.n_features if n_features is None else int(n_features)
        if width < model.n_features:
            raise ValueError(f"n_features == {width}, but the model's support vectors use "
                             f"{model.n_features} features")
        estimator = cls(gamma=model.gamma)
        support_vectors = np.zeros((len(model.support_vectors), width))
        support_vectors[:, :model.n_features] = model.support_vectors
        n_classes = len(model.labels)
        sign = -1.0 if n_classes == 2 else 1.0
        estimator.classes_ = model.labels.astype(np.int64)
        estimator.class_weight_ = np.ones(n_classes)
        estimator._gamma = model.gamma
        estimator.support_vectors_ = support_vectors
        estimator.n_support_ = model.n_support.astype(np.int32)
        estimator.dual_coef_ = sign * model.dual_coef
        estimator.intercept_ = -sign * model.rho
        estimator.n_iter_ = np.zeros(len(model.rho), dtype=np.int32)
        estimator.fit_status_ = 0
        estimator.n_features_in_ = width
        return estimator

    @classmethod
    def from_sklearn(cls, estimator):
        """A fitted :class:`SVC` with the parameters and fitted attributes of a fitted ``sklearn.svm.SVC``.

        Parameters
        ----------
        estimator : sklearn.svm.SVC
            Fitted, with ``kernel="rbf"``, on dense data.

        Returns
        -------
        SVC
            Predicts the same labels (with the fast predictor).
        """
        check_is_fitted(estimator)
        if estimator.kernel != "rbf" or getattr(estimator, "_sparse", False):
            raise ValueError(f"{estimator!r}: pisvm.SVC holds RBF models fitted on dense data")
        params = {name: getattr(estimator, name) for name in ("C", "gamma", "tol", "shrinking", "cache_size",
                                                              "class_weight", "decision_function_shape")}
        converted = cls(**params)
        for name in ("classes_", "class_weight_", "support_", "support_vectors_", "dual_coef_", "intercept_",
                     "fit_status_", "shape_fit_", "n_features_in_", "feature_names_in_", "_gamma"):
            if hasattr(estimator, name):
                setattr(converted, name, getattr(estimator, name))
        converted.n_support_ = np.asarray(estimator.n_support_, dtype=np.int32)
        converted.n_iter_ = np.asarray(estimator.n_iter_, dtype=np.int32)
        return converted

    def to_sklearn(self):
        """A fitted ``sklearn.svm.SVC`` with this model (its ``predict`` gives the same labels, more slowly).

        scikit-learn has no public way to build a fitted ``SVC`` from its
        attributes, so this sets the private ones its ``predict`` reads
        (checked with scikit-learn 1.9).

        Returns
        -------
        sklearn.svm.SVC
        """
        from sklearn.svm import SVC as SklearnSVC

        check_is_fitted(self)
        converted = SklearnSVC(C=self.C, kernel="rbf", gamma=self.gamma, tol=self.tol, shrinking=self.shrinking,
                               cache_size=self.cache_size, class_weight=self.class_weight,
                               decision_function_shape=self.decision_function_shape)
        sign = -1.0 if len(self.classes_) == 2 else 1.0
        n_sv = len(self.support_vectors_)
        for name in ("classes_", "class_weight_", "support_vectors_", "dual_coef_", "intercept_", "fit_status_",
                     "n_features_in_", "feature_names_in_", "_gamma"):
            if hasattr(self, name):
                setattr(converted, name, getattr(self, name))
        converted.support_ = getattr(self, "support_", np.arange(n_sv, dtype=np.int32))
        converted.shape_fit_ = getattr(self, "shape_fit_", (n_sv, self.n_features_in_))
        converted._n_support = self.n_support_.astype(np.int32)
        converted._dual_coef_ = sign * self.dual_coef_
        converted._intercept_ = sign * self.intercept_
        converted._probA = converted._probB = np.empty(0)
        converted._sparse = False
        converted._num_iter = converted.n_iter_ = self.n_iter_.astype(np.int32)
        converted._effective_probability = False
        return converted


def _resolve_gamma(gamma, X):
    """The numeric gamma of ``SVC(gamma=...)`` on training data ``X`` (scikit-learn's rules)."""
    if gamma == "scale":
        variance = X.var()
        return 1.0 / (X.shape[1] * variance) if variance != 0 else 1.0
    if gamma == "auto":
        return 1.0 / X.shape[1]
    return float(gamma)


def _solve_pairs(X, y_index, n_classes, gamma, C, class_weight, options, n_jobs):
    """Solve every one-vs-one problem by :func:`pisvm.svm.solver.solve_rbf` on ``n_jobs`` threads, largest first.

    Each pair's SMO computes the kernel rows it reads, on demand, without the
    GIL; a pair's solution depends on its two classes only.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y_index : ndarray of shape (n_samples,)
        Class index of each sample.
    n_classes : int
    gamma, C : float
    class_weight : ndarray of shape (n_classes,)
        Factor of ``C`` of each class.
    options : dict
        ``tol``, ``shrinking`` and ``cache_mb`` of :func:`pisvm.svm.solver.solve_rbf`.
    n_jobs : int

    Returns
    -------
    dict
        ``{(a, b): (samples, solution)}``: the pair's training-sample indices
        (class a's, then class b's) and its :class:`pisvm.svm.solver.BinarySolution`.
    """
    members = [np.flatnonzero(y_index == c) for c in range(n_classes)]
    pairs = sorted(class_pairs(n_classes), key=lambda pair: -(len(members[pair[0]]) + len(members[pair[1]])))

    def solve(pair):
        a, b = pair
        return solve_pair_rbf(X, members[a], members[b], C * class_weight[a], C * class_weight[b], gamma, **options)

    with ThreadPoolExecutor(n_jobs) as pool:
        return dict(zip(pairs, pool.map(solve, pairs)))


def _assemble(X, y_index, n_classes, solutions):
    """The multi-class model of binary solutions, in scikit-learn's layout.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y_index : ndarray of shape (n_samples,)
        Class index of each sample.
    n_classes : int
    solutions : dict
        ``{(a, b): (samples, pisvm.svm.solver.BinarySolution)}`` from :func:`_solve_pairs`.

    Returns
    -------
    support : ndarray of shape (n_SV,)
    n_support : ndarray of shape (n_classes,)
    coef : ndarray of shape (n_classes - 1, n_SV)
        LIBSVM's signs.
    rho : ndarray of shape (n_pairs,)
    n_iter : list of int, one per pair of :func:`pisvm.svm.onevsone.class_pairs`
    """
    fits = {}
    used = np.zeros(len(y_index), dtype=bool)
    for (a, b), (samples, solution) in solutions.items():
        support = np.flatnonzero(solution.alpha)
        coef = solution.alpha[support] * np.where(y_index[samples[support]] == a, 1.0, -1.0)
        fits[(a, b)] = (samples[support], coef, solution.rho)
        used[samples[support]] = True
    model = SVMModel.from_pairs(X, y_index, np.arange(n_classes), fits)
    support = np.concatenate([np.flatnonzero(used & (y_index == c)) for c in range(n_classes)])  # from_pairs' order
    n_iter = [solutions[pair][1].n_iter for pair in class_pairs(n_classes)]
    return support, model.n_support, model.dual_coef, model.rho, n_iter


def _sorted_classes(model):
    """The same one-vs-one model with its classes in ascending label order (:class:`pisvm.svm.model.SVMModel`)."""
    order = np.argsort(model.labels, kind="stable")
    if np.array_equal(order, np.arange(len(order))):
        return model
    n_classes = len(order)
    position = np.empty(n_classes, dtype=np.int64)
    position[order] = np.arange(n_classes)
    start = model.sv_start
    columns = [np.arange(start[c], start[c + 1]) for c in range(n_classes)]
    new_columns = np.concatenate([columns[c] for c in order])
    new_start = np.concatenate([[0], np.cumsum(model.n_support[order])])
    dual_coef = np.zeros_like(model.dual_coef)
    for c in range(n_classes):
        block = slice(new_start[position[c]], new_start[position[c] + 1])
        for d in range(n_classes):
            if d == c:
                continue
            # An SV of class c keeps its coefficient against class d in row d - 1 (d > c) or d (d < c),
            # with the sign of the pair's first class: it flips when the new order swaps c and d.
            flip = -1.0 if (c < d) != (position[c] < position[d]) else 1.0
            dual_coef[position[d] - (position[d] > position[c]), block] = (
                flip * model.dual_coef[d - (d > c), columns[c]])
    pair_index = {pair: p for p, pair in enumerate(class_pairs(n_classes))}
    rho = np.array([model.rho[pair_index[(min(order[u], order[v]), max(order[u], order[v]))]]
                    * (-1.0 if order[u] > order[v] else 1.0) for u, v in class_pairs(n_classes)])
    return SVMModel(model.labels[order], model.support_vectors[new_columns], dual_coef, rho,
                    model.n_support[order], kernel=model.kernel, gamma=model.gamma)


class GridSearchSVC(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Cross-validated grid search of an RBF :class:`SVC` over (gamma, C), run by the grid engine.

    ``GridSearchCV(SVC(), param_grid)`` with the same interface and results
    (``cv_results_``, ``best_params_``, ``best_estimator_``, ...), computed the
    way ``pisvm-grid`` computes its table: with ``SVC(solver="pisvm")`` (the
    default) in chains, where one RBF kernel block per (gamma, class pair)
    serves every fold and every C, and a C whose solution has no multiplier at
    its bound serves every larger C without a solve; with
    ``SVC(solver="libsvm")`` one LIBSVM fit per (gamma, C, fold), exactly
    ``GridSearchCV``'s, scored by the fast predictor.  The work runs on
    ``n_jobs`` threads (the SMO, LIBSVM and the predictor release the GIL), or
    over the ranks of an MPI communicator.

    Parameters
    ----------
    estimator : SVC or Pipeline
        An :class:`SVC`, whose parameters other than ``gamma`` and ``C``
        (``tol``, ``shrinking``, ``cache_size``, ``class_weight`` as None or a
        dict, ``solver``) apply to every fit, or a ``Pipeline`` ending in one:
        its transformers are fitted on each split's training samples, as in
        ``GridSearchCV``, so each split is a grid of its own (its kernel
        blocks serve its C values, not the other splits).
    param_grid : dict
        ``{"gamma": [...], "C": [...]}`` (for a Pipeline ``{"<step>__gamma":
        [...], "<step>__C": [...]}``, ``<step>`` the name of its last step),
        lists of numbers > 0; either key may be left out (the estimator's
        value is used).  Candidates are
        ``sklearn.model_selection.ParameterGrid(param_grid)``, in its order.
    cv : int, cross-validation generator or iterable, default 5
        An int gives :func:`pisvm.data.folds.stratified_folds` (scikit-learn's
        ``StratifiedKFold(cv, shuffle=True, random_state=random_state)``); a
        splitter or an iterable of ``(train, test)`` index arrays is used as
        given.  When the test sets partition the samples (k-fold splitters),
        every fold shares the kernel blocks; otherwise each split is a grid
        of its own.
    refit : bool, default True
        Fit ``best_estimator_`` on all of ``X`` with the best parameters.
    n_jobs : int, default None
        Threads in this process (None: 1, -1: every core), BLAS kept to one
        thread each; the refit runs on as many when the estimator's own
        ``n_jobs`` is None.  Not used over MPI, where each rank computes one
        piece of work at a time.
    random_state : int, default 0
        Seed of the folds when ``cv`` is an int.
    comm : mpi4py.MPI.Comm, optional
        Run over its ranks; every rank calls ``fit`` with the same data and
        gets the same results.  By default ``MPI.COMM_WORLD`` when the process
        was started by ``mpirun`` with more than one rank, else none (pass
        ``MPI.COMM_SELF`` to stay in one process under ``mpirun``).

    Attributes
    ----------
    cv_results_ : dict of ndarray
        scikit-learn's keys: ``params``, ``param_gamma``, ``param_C``,
        ``split<k>_test_score`` (accuracy on split k's test samples),
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time`` (seconds).  The engine times a (gamma, C, split)
        task as a whole, in CPU seconds of the thread that computed it (its
        solves and its share of the kernel blocks and of the scoring): that is
        the fit time, and the score time is 0.
    best_index_ : int
        Index of the best candidate: highest ``mean_test_score``, the first
        in candidate order on ties (``GridSearchCV``'s rule).
    best_params_ : dict
    best_score_ : float
    best_estimator_ : SVC or Pipeline
        A clone of ``estimator`` with the best parameters, fitted on all of
        ``X``; only with ``refit``.
    refit_time_ : float
        Seconds of the refit (only with ``refit``).
    n_splits_ : int
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    The table is the same for any ``n_jobs`` and any number of ranks: pair
    decision values near 0 are recomputed in a fixed order
    (:mod:`pisvm.grid.chains`).  With ``SVC(solver="libsvm")`` every score equals
    ``GridSearchCV(sklearn.svm.SVC(), ...)``'s on the same folds.  With the
    default solver the SMO takes LIBSVM's steps too (:class:`SVC`), so the
    scores are equal as well, except where the C shortcut reuses a solution
    that LIBSVM, solving again from zero, ends elsewhere within its
    tolerance (tested within 0.2 points).
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "param_grid": [dict],
        "cv": ["cv_object"],
        "refit": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "comm": [None, HasMethods(["Get_size", "Get_rank"])],
    }

    def __init__(self, estimator, param_grid, *, cv=5, refit=True, n_jobs=None, random_state=0, comm=None):
        self.estimator = estimator
        self.param_grid = param_grid
        self.cv = cv
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.comm = comm

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Run the grid search (and the refit).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : GridSearchSVC
        """
        svc, transform, prefix = self._check_estimator()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(classes)} class")
        candidates = list(ParameterGrid(self.param_grid))
        cells = [(float(c.get(f"{prefix}gamma", svc.gamma)), float(c.get(f"{prefix}C", svc.C))) for c in candidates]
        gammas, costs = check_grid([g for g, _ in cells], [C for _, C in cells])
        solver = _engine_solver(svc, classes)
        jobs, n_splits = _split_jobs(self.cv, self.random_state, X, y, y_index, transform)
        comm = _world() if self.comm is None else self.comm
        scores = times = None
        results = _run(jobs, gammas, costs, solver, effective_n_jobs(self.n_jobs), comm)
        if results is not None:
            scores, times = _tables(results, jobs, cells, n_splits)
        mpi = comm is not None and comm.Get_size() > 1
        if mpi:
            from .transport import bcast_when_ready

            scores, times = bcast_when_ready((scores, times), comm)
        self.cv_results_ = _cv_results(candidates, scores, times)
        self.best_index_ = int(np.argmin(self.cv_results_["rank_test_score"]))
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.n_splits_ = n_splits
        self.classes_ = classes
        if self.refit:
            clock = time.perf_counter()
            best = clone(self.estimator).set_params(**self.best_params_)
            # The search's threads fit the best estimator too, unless it has its own n_jobs (the model does not
            # depend on it); over MPI every rank refits on one thread.
            threads = {f"{prefix}n_jobs": self.n_jobs} if svc.n_jobs is None and not mpi else {}
            self.best_estimator_ = best.set_params(**threads).fit(X, y).set_params(**dict.fromkeys(threads))
            self.refit_time_ = time.perf_counter() - clock
        return self

    def _check_estimator(self):
        """``(svc, transform, prefix)``: the SVC, the Pipeline's transformers (or None), its parameters' prefix."""
        svc, transform, prefix = self.estimator, None, ""
        if isinstance(self.estimator, Pipeline):
            name, svc = self.estimator.steps[-1]
            transform, prefix = self.estimator[:-1], f"{name}__"
        if not isinstance(svc, SVC):
            raise TypeError(f"estimator == {self.estimator!r}, must be a pisvm.SVC or a Pipeline ending in one")
        allowed = (f"{prefix}gamma", f"{prefix}C")
        unknown = sorted(set(self.param_grid) - set(allowed))
        if unknown:
            raise ValueError(f"param_grid key {unknown[0]!r} not in {{{allowed[0]!r}, {allowed[1]!r}}} "
                             "(GridSearchSVC searches gamma and C; set other parameters on the estimator)")
        for name, values in self.param_grid.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
                raise ValueError(f"param_grid[{name!r}] == {values!r}, must be a non-empty list of numbers > 0")
        gammas = self.param_grid.get(allowed[0], [svc.gamma])
        if any(isinstance(g, str) for g in gammas):
            raise ValueError("gamma 'scale' or 'auto' depends on each fold's training samples; GridSearchSVC needs "
                             f"numbers > 0 (in param_grid[{allowed[0]!r}] or as the estimator's gamma)")
        if isinstance(svc.class_weight, str):
            raise ValueError("class_weight='balanced' depends on each fold's training labels; pass the weights as "
                             "a dict, e.g. dict(zip(classes, compute_class_weight('balanced', classes=classes, y=y)))")
        return svc, transform, prefix

    def predict(self, X):
        """Predict class labels with ``best_estimator_`` (needs ``refit=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._refitted("predict").predict(X)

    def decision_function(self, X):
        """Decision values of ``best_estimator_`` (needs ``refit=True``; see :meth:`SVC.decision_function`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), (n_samples, n_classes) or (n_samples, n_classes * (n_classes - 1) / 2)
        """
        return self._refitted("decision_function").decision_function(X)

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``best_estimator_`` on ``(X, y)`` (needs ``refit=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        score : float
            Fraction of correctly classified samples.
        """
        return self._refitted("score").score(X, y, sample_weight=sample_weight)

    def _refitted(self, method):
        """``best_estimator_``; NotFittedError before ``fit``, AttributeError after a fit with ``refit=False``."""
        check_is_fitted(self)
        if not hasattr(self, "best_estimator_"):
            raise AttributeError(f"This GridSearchSVC was fitted with refit=False; {method} needs refit=True")
        return self.best_estimator_


def _world():
    """``MPI.COMM_WORLD`` when this process was started by mpirun with more than one rank, else None."""
    size = os.environ.get("OMPI_COMM_WORLD_SIZE") or os.environ.get("PMI_SIZE") or "1"
    if int(size) <= 1:
        return None
    from mpi4py import MPI

    return MPI.COMM_WORLD


def _engine_solver(estimator, classes):
    """The engine's solver for an :class:`SVC`'s settings; class weights keyed by class index."""
    weights = None
    if estimator.class_weight:
        weights = dict(enumerate(compute_class_weight(estimator.class_weight, classes=classes,
                                                      y=classes).tolist()))
    if estimator.solver == "libsvm":
        return UnitSolver(LibsvmBackend(cache_mb=estimator.cache_size, tol=estimator.tol,
                                        shrinking=estimator.shrinking, class_weight=weights))
    return PisvmSolver(tol=estimator.tol, shrinking=estimator.shrinking, class_weight=weights,
                       cache_mb=estimator.cache_size)


def _split_jobs(cv, random_state, X, y, y_index, transform=None):
    """The engine's problems of the cross-validation: ``[(Problem, folds), ...]`` and the number of splits.

    Without ``transform``, splits whose test sets partition the samples (and
    whose training sets are the rest, in sample order) make one problem with
    a fold per split.  Other splits, and every split with ``transform`` (a
    Pipeline's transformers, fitted on the split's training samples), make
    one problem each, its test set scored as :data:`pisvm.grid.cells.TEST_FOLD`.
    """
    if isinstance(cv, Integral):
        fold = stratified_folds(y, n_splits=int(cv), random_state=random_state)
        splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(int(cv))]
    else:
        splits = [(np.asarray(train), np.asarray(test))
                  for train, test in check_cv(cv, y, classifier=True).split(X, y)]
    if transform is None:
        fold = np.full(len(y), -1, dtype=np.int64)
        partition = True
        for k, (_, test) in enumerate(splits):
            partition = partition and bool(np.all(fold[test] == -1))
            fold[test] = k
        partition = partition and bool(np.all(fold >= 0)) and all(
            np.array_equal(train, np.flatnonzero(fold != k)) for k, (train, _) in enumerate(splits))
        if partition:
            return [(Problem(X, y_index, fold), list(range(len(splits))))], len(splits)
    jobs = []
    for train, test in splits:
        X_train, X_test = X[train], X[test]
        if transform is not None:
            fitted = clone(transform)
            X_train = fitted.fit_transform(X_train, y[train])
            X_test = fitted.transform(X_test)
        jobs.append((Problem(np.ascontiguousarray(X_train, dtype=np.float64), y_index[train],
                             np.zeros(len(train), dtype=np.int64), np.ascontiguousarray(X_test, dtype=np.float64),
                             y_index[test]), [TEST_FOLD]))
    return jobs, len(splits)


def _run(jobs, gammas, costs, solver, n_jobs, comm):
    """Compute every task of ``jobs``; a :class:`pisvm.grid.engine.TaskResults` per job on rank 0, None elsewhere.

    One process: every job's units on ``n_jobs`` threads.  MPI: each job by
    :func:`pisvm.grid.engine.run_units` over the ranks.  BLAS runs one thread per
    worker (the cores are the workers').
    """
    with threadpool_limits(limits=1, user_api="blas"):
        if comm is not None and comm.Get_size() > 1:
            rank, size = comm.Get_rank(), comm.Get_size()
            collected = []
            for problem, folds in jobs:
                results = TaskResults(problem) if rank == 0 else None
                units = solver.plan(problem, gammas, costs, folds, size) if rank == 0 else []
                run_units(units, problem, solver, results, comm=comm)
                collected.append(results)
            return collected if rank == 0 else None
        collected = [TaskResults(problem) for problem, _ in jobs]
        work = [(j, unit) for j, (problem, folds) in enumerate(jobs)
                for unit in solver.plan(problem, gammas, costs, folds, n_jobs)]
        with ThreadPoolExecutor(n_jobs) as pool:
            for (j, _), records in zip(work, pool.map(lambda item: solver.compute(item[1], jobs[item[0]][0]), work)):
                for record in records:
                    collected[j].add(record)
        return collected


def _tables(results, jobs, cells, n_splits):
    """Accuracy and seconds of every (candidate, split): two ndarrays of shape (n_candidates, n_splits)."""
    scores = np.empty((len(cells), n_splits))
    times = np.empty((len(cells), n_splits))
    for i, (gamma, C) in enumerate(cells):
        for k in range(n_splits):
            collected, task = (results[0], (gamma, C, k)) if len(jobs) == 1 else (results[k], (gamma, C, TEST_FOLD))
            outcome = collected.outcome[task]
            scores[i, k] = outcome["correct"] / outcome["n_test"]
            times[i, k] = outcome["seconds"]
    return scores, times


def _cv_results(candidates, scores, times):
    """``cv_results_`` from the tables, with ``GridSearchCV``'s keys and formulas."""
    results = {}

    def store(name, array, splits=False, rank=False):
        if splits:
            for k in range(array.shape[1]):
                results[f"split{k}_{name}"] = array[:, k]
        means = np.average(array, axis=1)
        results[f"mean_{name}"] = means
        results[f"std_{name}"] = np.sqrt(np.average((array - means[:, np.newaxis]) ** 2, axis=1))
        if rank:
            results[f"rank_{name}"] = rankdata(-means, method="min").astype(np.int32, copy=False)

    store("fit_time", times)
    store("score_time", np.zeros_like(times))
    for name in sorted({key for candidate in candidates for key in candidate}):
        values = np.empty(len(candidates), dtype=object)
        values[:] = [candidate.get(name) for candidate in candidates]
        results[f"param_{name}"] = np.ma.MaskedArray(values, mask=[name not in c for c in candidates])
    results["params"] = candidates
    store("test_score", scores, splits=True, rank=True)
    return results
