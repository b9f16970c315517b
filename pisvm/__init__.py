"""pisvm: parallel RBF-SVM grid search and the data layer of the suite.

The package holds the readers and writers (LibSVM text, scene HDF5, UPV/EHU
``.mat``), the synthetic workloads, stratified folds, classification metrics
and the MPI grid-search engine behind ``pisvm-grid``.  ``import pisvm`` needs
neither ``mpiexec`` nor TensorFlow.
"""

__version__ = "0.1.0"
