"""studies: job scripts for whole studies (scaling of pisvm-grid, sampling x 3D-CNN) and ``pisvm-jobs``.

This package sits above the others: it writes command lines of ``pisvm-grid``,
``pisvm-timing``, ``pisvm-split`` and ``pisvm-cnn``, so that the core package
:mod:`pisvm` need not know any other package's command line.

Public API
----------
job_script(name, payload, scheduler="slurm", ...) -> str
scaling_study(folder, train, ranks, ...) -> list of paths
sampling_study(folder, scene, modes, fractions, seeds, ...) -> list of paths
check_time(text, scheduler) -> str
"""

from .scripts import SCHEDULERS, check_time, job_script, sampling_study, scaling_study

__all__ = ["SCHEDULERS", "check_time", "job_script", "sampling_study", "scaling_study"]
