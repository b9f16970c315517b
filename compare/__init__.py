"""compare: SVM on spectra, on attribute profiles, on self-dual attribute profiles and the 3D-CNN on the same splits.

The package orchestrates only: splits come from :mod:`pisvm.data.sampling`, the
SVM runs through the :mod:`pisvm` grid engine, features from :mod:`features`
and the network from :mod:`cnn`.  Every stage is cached in the output folder.

Public API
----------
run_comparison(scene_path, splits, methods, options, out_dir, comm=None)
    -> report dict (also written as ``out_dir/report.json`` and ``report.md``)
"""

METHODS = ("svm-spectra", "svm-ap", "svm-sdap", "cnn")

from .pipeline import run_comparison  # noqa: E402

__all__ = ["METHODS", "run_comparison"]
