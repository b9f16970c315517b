"""SVM solvers behind one interface: fit on a training set, predict a test set.

Every backend is a small object with ``name``, ``supports_pairs`` and

``fit(X_train, y_train, gamma, C)``
    returns a fitted model with ``predict(X)``;
``fit_predict(X_train, y_train, X_test, gamma, C)``
    returns the predicted labels of ``X_test``;

backends with ``supports_pairs`` also have

``fit_predict_pairs(X_train, y_train, X_test, gamma, C, pairs)``
    trains the one-vs-one binary problems ``pairs`` (class index pairs
    ``(a, b)``, ``a < b``, into ``numpy.unique(y_train)``) and returns, for
    each, a bool array of shape (n_test,): True where class ``a`` wins.

LIBSVM solves a multi-class problem as exactly these binary problems, and
:func:`pisvm.svm.onevsone.vote` combines pair results as LIBSVM does.
"""

import numpy as np

from .model import SVMModel
from .predict import predict_pairs
from .train import fit_pairs, svc

BACKENDS = ("libsvm", "thundersvm")


class LibsvmBackend:
    """LIBSVM through scikit-learn's ``SVC`` (RBF kernel, one-vs-one), predictions by :mod:`pisvm.svm.predict`.

    Parameters
    ----------
    cache_mb : float, default 200
        Kernel cache of one solver, in MB.
    tol : float, default 1e-3
        Stopping tolerance (LIBSVM ``-e``).
    shrinking : bool, default True
        LIBSVM's shrinking heuristic (``-h``).
    class_weight : dict, optional
        ``{label: weight}``; class ``label`` gets ``C * weight`` (LIBSVM ``-wi``).
    """

    name = "libsvm"
    supports_pairs = True

    def __init__(self, cache_mb=200.0, tol=1e-3, shrinking=True, class_weight=None):
        self.cache_mb = cache_mb
        self.tol = tol
        self.shrinking = shrinking
        self.class_weight = class_weight

    def _params(self, gamma, C):
        return {"gamma": gamma, "C": C, "cache_mb": self.cache_mb, "tol": self.tol, "shrinking": self.shrinking,
                "class_weight": self.class_weight}

    def fit(self, X_train, y_train, gamma, C):
        """Return the fitted :class:`pisvm.svm.model.SVMModel` (``predict(X)`` gives labels, as ``SVC.predict``)."""
        return SVMModel.from_svc(svc(**self._params(gamma, C)).fit(X_train, y_train))

    def fit_predict(self, X_train, y_train, X_test, gamma, C):
        return self.fit(X_train, y_train, gamma, C).predict(X_test)

    def fit_predict_pairs(self, X_train, y_train, X_test, gamma, C, pairs):
        classes = np.unique(y_train)
        fits = fit_pairs(X_train, y_train, classes, pairs, self._params(gamma, C))
        model = SVMModel.from_pairs(X_train, y_train, classes, fits, gamma=gamma)
        return predict_pairs(model, X_test, pairs)


class ThundersvmBackend:
    """ThunderSVM (``thundersvm`` package; the PyPI ``thundersvm-cpu`` wheel on CPUs).

    ThunderSVM runs its own one-vs-one loop in C++ with OpenMP threads, so
    tasks are not split into pairs.  Same parameters as :class:`LibsvmBackend`
    (``n_jobs`` threads per solver, default 1 so that MPI ranks do not
    oversubscribe cores).
    """

    name = "thundersvm"
    supports_pairs = False

    def __init__(self, cache_mb=200.0, tol=1e-3, shrinking=True, class_weight=None, n_jobs=1):
        try:
            import thundersvm
        except (ImportError, OSError) as error:
            raise ValueError(f"backend 'thundersvm' is not usable here ({error}); "
                             "install it with: pip install 'pisvm[thundersvm]'") from None
        self._module = thundersvm
        self.cache_mb = cache_mb
        self.tol = tol
        self.shrinking = shrinking
        self.class_weight = class_weight
        self.n_jobs = n_jobs

    def fit(self, X_train, y_train, gamma, C):
        """Return the fitted ``thundersvm.SVC`` (``predict(X)`` gives labels as floats)."""
        model = self._module.SVC(kernel="rbf", gamma=gamma, C=C, tol=self.tol, shrinking=self.shrinking,
                                 cache_size=self.cache_mb,
                                 class_weight=class_weights(self.class_weight, np.unique(y_train)),
                                 n_jobs=self.n_jobs, verbose=False)
        return model.fit(X_train, y_train)

    def fit_predict(self, X_train, y_train, X_test, gamma, C):
        predicted = self.fit(X_train, y_train, gamma, C).predict(X_test)
        return np.asarray(predicted).astype(y_train.dtype)


def class_weights(weights, classes):
    """The part of ``{label: weight}`` that concerns ``classes`` (None when empty).

    A binary problem of the one-vs-one split (or a fold's training set) sees
    only some classes; LIBSVM weighs each of them by its own weight, and
    scikit-learn refuses weights of absent labels.
    """
    if not weights:
        return None
    present = set(np.asarray(classes).tolist())
    return {label: weight for label, weight in weights.items() if label in present} or None


def make_backend(name, **options):
    """Return the backend called ``name`` (one of :data:`BACKENDS`) built with ``options``."""
    if name == "libsvm":
        return LibsvmBackend(**options)
    if name == "thundersvm":
        return ThundersvmBackend(**options)
    raise ValueError(f"backend {name!r} not in {{{', '.join(repr(b) for b in BACKENDS)}}}")


__all__ = ["BACKENDS", "LibsvmBackend", "ThundersvmBackend", "make_backend"]
