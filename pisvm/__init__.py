"""pisvm: parallel RBF-SVM grid search and the data layer of the suite.

The package holds the readers and writers (LibSVM text, scene HDF5, UPV/EHU
``.mat``), the synthetic workloads, stratified folds, classification metrics,
the MPI grid-search engine behind ``pisvm-grid`` and its scikit-learn
estimators, :class:`pisvm.SVC` and :class:`pisvm.GridSearchSVC` (loaded on
first use).  ``import pisvm`` needs neither ``mpiexec`` nor TensorFlow.
"""

__version__ = "0.1.0"

_ESTIMATORS = ("GridSearchSVC", "SVC")


def __getattr__(name):
    """``pisvm.SVC`` and ``pisvm.GridSearchSVC`` from :mod:`pisvm.estimators`, imported on first access."""
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'pisvm' has no attribute {name!r}")


__all__ = ["GridSearchSVC", "SVC", "__version__"]
