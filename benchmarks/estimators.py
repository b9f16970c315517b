"""Benchmark pisvm.GridSearchSVC and pisvm.SVC against scikit-learn's GridSearchCV and SVC in the same run.

    python benchmarks/estimators.py                                  # grid at scale 0.2, one full-size fold
    python benchmarks/estimators.py --grid-scale 0.1 --fold-scale 0.3  # a quicker run of the same shapes
    python benchmarks/estimators.py --skip-reference --skip-fold      # threads only: n_jobs 2 against 1

Prints, for one run of each after a small warm-up (the grid and the full-size fits are too long to repeat):
- the grid (seed-shaped problem at ``--grid-scale``, 5x5 grid, 10 stratified folds): wall seconds of
  ``GridSearchCV(sklearn.svm.SVC(), cv=PredefinedSplit(folds), n_jobs=2)`` and of
  ``GridSearchSVC(pisvm.SVC(), cv=10, n_jobs=2)`` on the same folds (both refit the best cell),
  ratio = t_gridsearchcv / t_pisvm (target >= 4), the largest difference of a ``mean_test_score``
  (percentage points, bar 0.2) and whether the best parameters are the same;
- threads: ``GridSearchSVC(n_jobs=1)`` and ``n_jobs=2`` in one process, in turn, ``--repeat`` times:
  each run's t_1 / t_2, the speed-up = best t_1 / best t_2 (target >= 1.7; the machine's noise only
  adds time) and whether every run's ``cv_results_`` table is identical;
- one fold (seed-shaped problem at ``--fold-scale``, fold 0 of 10 held out, gamma 8, C 100):
  ``sklearn.svm.SVC`` against ``pisvm.SVC`` (and ``pisvm.SVC(n_jobs=2)``) fit seconds (target: ratio >= 1)
  and predict seconds on the held-out rows, one BLAS thread, best of 3 (target >= 5), and whether
  the labels are identical.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.svm import SVC as SklearnSVC
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pisvm import SVC, GridSearchSVC  # noqa: E402
from pisvm.data.folds import stratified_folds  # noqa: E402
from pisvm.data.synth import seed_problem  # noqa: E402
from pisvm.grid.cells import SEED_COSTS, SEED_GAMMAS  # noqa: E402

GAMMAS, COSTS = list(SEED_GAMMAS), list(SEED_COSTS)  # the seeds' grid


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def table(search):
    return {key: np.asarray(value).tolist() for key, value in search.cv_results_.items()
            if key.startswith(("split", "mean_test", "std_test", "rank"))}


def bench_grid(scale, n_folds, seed, reference=True, repeat=3):
    X, y = seed_problem(scale=scale, random_state=seed)
    folds = stratified_folds(y, n_folds, seed)
    grid = {"gamma": GAMMAS, "C": COSTS}
    print(f"# grid: seed-shaped problem at scale {scale}: {len(y)} samples x {X.shape[1]} features, "
          f"{len(np.unique(y))} classes; {len(GAMMAS)}x{len(COSTS)} grid, {n_folds} folds; wall-clock seconds, "
          f"one run each (the threads: {repeat} runs in turn)", flush=True)
    if reference:
        t_ref, baseline = timed(lambda: GridSearchCV(SklearnSVC(), grid, cv=PredefinedSplit(folds), n_jobs=2).fit(X, y))
        print(f"GridSearchCV(SVC(), n_jobs=2):   {t_ref:8.1f} s", flush=True)
    t_2, ours = timed(lambda: GridSearchSVC(SVC(), grid, cv=n_folds, random_state=seed, n_jobs=2).fit(X, y))
    line = f"GridSearchSVC(SVC(), n_jobs=2):  {t_2:8.1f} s"
    if reference:
        worst = 100 * np.abs(ours.cv_results_["mean_test_score"] - baseline.cv_results_["mean_test_score"]).max()
        splits = [f"split{k}_test_score" for k in range(n_folds)]
        n_equal = sum(int(np.sum(ours.cv_results_[key] == baseline.cv_results_[key])) for key in splits)
        line += (f"   ratio = t_gridsearchcv / t_pisvm = {t_ref / t_2:.2f} (target >= 4); largest mean_test_score "
                 f"difference {worst:.3f} points (bar 0.2); split scores equal: {n_equal} of "
                 f"{len(splits) * len(ours.cv_results_['params'])}; same best parameters: "
                 f"{ours.best_params_ == baseline.best_params_} ({ours.best_params_})")
    print(line, flush=True)
    threads_speed_up(X, y, grid, n_folds, seed, repeat, table(ours))


def threads_speed_up(X, y, grid, n_folds, seed, repeat, first_table):
    """``n_jobs=1`` and ``n_jobs=2`` in turn, ``repeat`` times, so that the machine's drift touches both."""
    best, ratios, tables = {1: np.inf, 2: np.inf}, [], {repr(first_table)}
    for _ in range(repeat):
        seconds = {}
        for n_jobs in (1, 2):
            seconds[n_jobs], search = timed(
                lambda jobs=n_jobs: GridSearchSVC(SVC(), grid, cv=n_folds, random_state=seed, n_jobs=jobs).fit(X, y))
            best[n_jobs] = min(best[n_jobs], seconds[n_jobs])
            tables.add(repr(table(search)))
        ratios.append(seconds[1] / seconds[2])
        print(f"GridSearchSVC(SVC(), n_jobs=1):  {seconds[1]:8.1f} s   n_jobs=2: {seconds[2]:8.1f} s   "
              f"t_1 / t_2 = {ratios[-1]:.2f}", flush=True)
    print(f"threads: speed-up = best t_1 / best t_2 = {best[1] / best[2]:.2f} (target >= 1.7); median of the "
          f"{repeat} runs' t_1 / t_2 = {np.median(ratios):.2f}; every table identical: {len(tables) == 1}", flush=True)


def bench_fold(scale, seed):
    X, y = seed_problem(scale=scale, random_state=seed)
    folds = stratified_folds(y, 10, seed)
    train = folds != 0
    X_train, y_train, X_test = X[train], y[train], X[~train]
    print(f"# one fold: seed-shaped problem at scale {scale}, fold 0 of 10: {len(y_train)} training rows, "
          f"{len(X_test)} held-out rows; gamma 8, C 100; one BLAS thread; fit one run, predict best of 3", flush=True)
    with threadpool_limits(limits=1, user_api="blas"):
        t_fit_ref, reference = timed(lambda: SklearnSVC(gamma=8, C=100).fit(X_train, y_train))
        t_fit, ours = timed(lambda: SVC(gamma=8, C=100).fit(X_train, y_train))
        t_fit_2, threaded = timed(lambda: SVC(gamma=8, C=100, n_jobs=2).fit(X_train, y_train))
        t_predict_ref = min(timed(lambda: reference.predict(X_test))[0] for _ in range(3))
        t_predict = min(timed(lambda: ours.predict(X_test))[0] for _ in range(3))
    ours_labels, reference_labels = ours.predict(X_test), reference.predict(X_test)
    n_differ = int(np.sum(ours_labels != reference_labels))
    print(f"fit:     sklearn.svm.SVC {t_fit_ref:7.2f} s   pisvm.SVC {t_fit:7.2f} s   ratio = {t_fit_ref / t_fit:.2f} "
          f"(target >= 1); pisvm.SVC(n_jobs=2) {t_fit_2:7.2f} s   ratio = {t_fit_ref / t_fit_2:.2f}; "
          f"{len(ours.support_)} support vectors (sklearn {len(reference.support_)}); dual_coef_ and intercept_ "
          f"identical to sklearn's: {np.array_equal(ours.dual_coef_, reference.dual_coef_)} and "
          f"{np.array_equal(ours.intercept_, reference.intercept_)}; "
          f"n_jobs=1 and 2 models equal: {np.array_equal(ours.dual_coef_, threaded.dual_coef_)}")
    print(f"predict: sklearn.svm.SVC {t_predict_ref:7.3f} s   pisvm.SVC {t_predict:7.3f} s   "
          f"ratio = {t_predict_ref / t_predict:.1f} (target >= 5); labels identical to sklearn's: {n_differ == 0} "
          f"({n_differ} of {len(X_test)} differ); "
          f"sklearn's model through pisvm's predictor: "
          f"{np.array_equal(SVC.from_sklearn(reference).predict(X_test), reference.predict(X_test))}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid-scale", type=float, default=0.2, help="fraction of the 33,396 samples for the grid")
    parser.add_argument("--fold-scale", type=float, default=1.0, help="fraction of the samples for the one-fold fits")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of n_jobs=1 and n_jobs=2, in turn, for the threads' speed-up (default 3)")
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--skip-fold", action="store_true")
    parser.add_argument("--skip-reference", action="store_true",
                        help="no GridSearchCV run (the threads' speed-up only)")
    args = parser.parse_args(argv)
    X, y = seed_problem(scale=0.02, random_state=args.seed)  # warm-up: imports, the loky workers, first calls
    GridSearchCV(SklearnSVC(), {"gamma": [8]}, cv=3, n_jobs=2).fit(X, y)
    GridSearchSVC(SVC(), {"gamma": [8]}, cv=3, n_jobs=2).fit(X, y)
    if not args.skip_grid:
        bench_grid(args.grid_scale, args.folds, args.seed, reference=not args.skip_reference, repeat=args.repeat)
    if not args.skip_fold:
        bench_fold(args.fold_scale, args.seed)


if __name__ == "__main__":
    main()
