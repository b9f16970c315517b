"""Benchmark pisvm-grid on the seed-shaped workload: 1 vs 2 ranks, against GridSearchCV, scheduler replay.

    python benchmarks/grid.py              # full size: 33,396 samples, 5x5 grid, 10 folds
    python benchmarks/grid.py --scale 0.1  # the same shape, 10 % of the samples
    python benchmarks/grid.py --scale 0.2 --skip-serial               # pisvm solver, 2 ranks, vs GridSearchCV
    python benchmarks/grid.py --scale 1 --skip-serial --skip-reference  # the full grid, pisvm-grid -n 2 only

Prints, for one run of each (the full grid is too long to repeat):
- wall seconds of ``pisvm-grid`` on 1 rank and on 2 ranks (``mpirun -n 2``), speed-up = t_1 / t_2;
- wall seconds of ``GridSearchCV(SVC(), cv=PredefinedSplit(<the same folds>), n_jobs=2, refit=False)``
  (no refit: pisvm-grid without --test does not refit either),
  ratio = t_gridsearchcv / t_pisvm_2 (target >= 5 with ``--solver pisvm``, issue 15; >= 1 with ``libsvm``),
  the largest difference of a cell's accuracy (percentage points; 0 and "equal" with ``libsvm``)
  and whether the best cell is the same;
- with ``--solver pisvm``: solver iterations, binary problems solved by the exact C shortcut and
  the peak memory per rank of the 2-rank run;
- with ``--solver libsvm``: the parallel efficiency of the engine's scheduler on 10, 20, 40 and
  80 ranks, replaying the unit times measured in the 1-rank run through the engine's own Scheduler.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.svm import SVC

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pisvm.data.folds import stratified_folds  # noqa: E402
from pisvm.data.libsvm import write_libsvm  # noqa: E402
from pisvm.data.synth import seed_problem  # noqa: E402
from pisvm.grid.cells import SEED_COSTS, SEED_GAMMAS, Unit, simulate_schedule  # noqa: E402

GAMMAS, COSTS = list(SEED_GAMMAS), list(SEED_COSTS)  # the seeds' grid


def _environment():
    # One node: Open MPI's shared-memory transport only (its TCP transport probes the network for about
    # a second in every process); a setting of the user's wins.
    return dict(os.environ, PYTHONPATH=str(REPO), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_btl=os.environ.get("OMPI_MCA_btl", "self,sm"))


def run_pisvm(train, out, n_ranks, folds, seed, solver):
    command = [sys.executable, "-m", "pisvm.cli.grid", str(train), "-g", *map(str, GAMMAS), "-c", *map(str, COSTS),
               "-v", str(folds), "--seed", str(seed), "--out", str(out), "-q", "--solver", solver]
    if n_ranks > 1:
        command = [shutil.which("mpirun"), "-n", str(n_ranks), "-x", "PYTHONPATH"] + command
    started = time.perf_counter()
    subprocess.run(command, check=True, env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall_s = time.perf_counter() - started
    with open(Path(out) / "grid.json") as stream:
        return wall_s, json.load(stream)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 33,396 samples")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the runs' output folders")
    parser.add_argument("--skip-serial", action="store_true",
                        help="only the 2-rank run against GridSearchCV (no 1-rank run, speed-up or replay)")
    parser.add_argument("--skip-reference", action="store_true", help="no GridSearchCV run (the full-size grid)")
    parser.add_argument("--solver", choices=["pisvm", "libsvm"], default="pisvm", help="pisvm-grid --solver")
    args = parser.parse_args(argv)

    X, y = seed_problem(scale=args.scale, random_state=args.seed)
    work = Path(tempfile.mkdtemp(prefix="pisvm-bench-"))
    train = work / "train.el"
    write_libsvm(train, X, y)
    print(f"# pisvm-grid benchmark: seed-shaped problem, {len(y)} samples x {X.shape[1]} features, "
          f"{len(np.unique(y))} classes; {len(GAMMAS)}x{len(COSTS)} grid, {args.folds} folds; "
          f"pisvm-grid --solver {args.solver}; times in wall-clock seconds, one run each", flush=True)

    # Warm-up: imports, MPI start-up and file caches, on a tiny grid.
    subprocess.run([sys.executable, "-m", "pisvm.cli.grid", str(train), "-g", "1", "-c", "1", "-v", "2",
                    "--out", str(work / "warm"), "-q", "--solver", args.solver], check=True, env=_environment(),
                   stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

    serial = None
    if not args.skip_serial:
        t1, serial = run_pisvm(train, work / "n1", 1, args.folds, args.seed, args.solver)
        print(f"pisvm-grid 1 rank:   {t1:9.1f} s", flush=True)
    t2, parallel = run_pisvm(train, work / "n2", 2, args.folds, args.seed, args.solver)
    e2 = parallel["metadata"]["wall_s"]
    if serial is None:
        print(f"pisvm-grid 2 ranks:  {t2:9.1f} s   ({e2:.1f} s inside pisvm-grid, after interpreter, imports and "
              f"MPI start-up)", flush=True)
    else:
        print(f"pisvm-grid 2 ranks:  {t2:9.1f} s   speedup = t_1 / t_2 = {t1 / t2:.2f}x (target >= 1.85x)", flush=True)
        print(f"  of which inside pisvm-grid (after interpreter, imports and MPI start-up): 1 rank "
              f"{serial['metadata']['wall_s']:.1f} s, 2 ranks {e2:.1f} s", flush=True)
        same = all(a["fold_accuracies"] == b["fold_accuracies"] for a, b in zip(serial["cells"], parallel["cells"]))
        print(f"1-rank and 2-rank tables identical: {same}", flush=True)

    if args.solver == "pisvm":
        units = parallel["units"]
        with open(work / "n2" / "journal.jsonl") as stream:
            records = [json.loads(line) for line in stream][1:]
        n_classes = len(np.unique(y))
        n_problems = sum(len(r["pairs"]) if r["pairs"] else n_classes * (n_classes - 1) // 2 for r in records)
        n_chains = len({(u["rank"], u["start"]) for u in units})
        print(f"  {sum(r['n_iter'] for r in records):,} solver iterations; "
              f"{sum(r['shortcuts'] for r in records):,} of {n_problems:,}"
              f" binary problems solved by the exact C shortcut; {n_chains} chains; "
              f"peak memory per rank (MB): {parallel['metadata']['peak_rss_mb']}", flush=True)

    if not args.skip_reference:
        fold = stratified_folds(y, n_splits=args.folds, random_state=args.seed)
        started = time.perf_counter()
        reference = GridSearchCV(SVC(kernel="rbf"), {"gamma": [float(g) for g in GAMMAS],
                                                     "C": [float(c) for c in COSTS]},
                                 cv=PredefinedSplit(fold), n_jobs=2, refit=False).fit(X, y)
        t_ref = time.perf_counter() - started
        params = reference.cv_results_["params"]
        scores = {(p["gamma"], p["C"]): s for p, s in zip(params, reference.cv_results_["mean_test_score"])}
        difference = max(abs(cell["accuracy"] - scores[(cell["gamma"], cell["C"])]) for cell in parallel["cells"])
        best = (parallel["best"]["gamma"], parallel["best"]["C"])
        best_reference = max(scores, key=lambda cell: (scores[cell], -cell[1], -cell[0]))
        target = 5.0 if args.solver == "pisvm" else 1.0
        print(f"GridSearchCV n_jobs=2: {t_ref:7.1f} s   ratio = t_gridsearchcv / t_pisvm_2 = {t_ref / t2:.2f} "
              f"(target >= {target:.2f}; {t_ref / e2:.2f} against the time inside pisvm-grid, which like "
              f"GridSearchCV's excludes interpreter start-up)", flush=True)
        print(f"  largest cell accuracy difference: {100 * difference:.3f} points (bar 0.2); every cell's accuracy "
              f"equal: {difference == 0}; same best cell: {best == best_reference} "
              f"(gamma {best[0]:g}, C {best[1]:g})", flush=True)

    if serial is not None and args.solver == "libsvm":
        seconds = {Unit(u["gamma"], u["C"], u["fold"]): u["seconds"]
                   for u in sorted(serial["units"], key=lambda unit: unit["start"])}
        print(f"scheduler replay of {len(seconds)} measured unit times (1-rank run; longest unit "
              f"{max(seconds.values()):.2f} s, total {sum(seconds.values()):.1f} s):")
        for n_ranks in (10, 20, 40, 80):
            makespan, efficiency = simulate_schedule(list(seconds), seconds.get, n_ranks)
            print(f"  {n_ranks:3d} ranks: makespan {makespan:8.1f} s   efficiency {100 * efficiency:5.1f} %"
                  + ("   (target >= 85 %)" if n_ranks == 80 else ""))
    if args.keep:
        print(f"grid.json files kept in {work} (pisvm-timing reads them)")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
