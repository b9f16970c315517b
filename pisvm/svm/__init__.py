"""The one-vs-one RBF-SVM: pair rules and the vote, kernels, the SMO solver, LIBSVM models, the fast
predictor and fitting.  It imports only :mod:`pisvm.data` and :mod:`pisvm.transport`."""
