"""Results: classification metrics, classification maps, grid tables and result files.  It imports only
the layers below it (:mod:`pisvm.svm`, :mod:`pisvm.data`, :mod:`pisvm.transport`)."""
