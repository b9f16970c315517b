"""Results: classification metrics, classification maps, grid tables, result files and progress lines.  It imports only
the layers below it (:mod:`pisvm.svm`, :mod:`pisvm.data`, :mod:`pisvm.transport`)."""
