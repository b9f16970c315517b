"""Data layer: LibSVM text, tables, range files, scenes, selections, sampling, synthetic workloads, folds
and atomic output files.  It imports nothing else from :mod:`pisvm`."""
