"""Benchmark the fast predictor against SVC.predict, and pisvm-predict on 2 ranks against 1.

    python benchmarks/predict.py                 # one full-size fold, then pisvm-predict on 300,000+ rows
    python benchmarks/predict.py --scale 0.2     # a smaller fold and test file

Prints, for one run of each:
- seconds of ``SVC.predict`` and of :func:`pisvm.svm.predict.predict` (one BLAS thread, like LIBSVM's one
  thread) on the held-out rows of fold 0 of the seed-shaped problem (gamma 8, C 100), their ratio and
  whether the labels are identical;
- wall seconds of ``pisvm-predict`` with that model on a LibSVM file of ``--rows`` rows on 1 rank and on
  2 ranks (``mpirun -n 2``), the speed-up, whether the two output files are identical, and the peak
  memory (RSS) and CPU seconds of every rank.
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
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pisvm.data.folds import stratified_folds  # noqa: E402
from pisvm.data.libsvm import write_libsvm  # noqa: E402
from pisvm.data.synth import seed_problem  # noqa: E402
from pisvm.svm.model import SVMModel  # noqa: E402
from pisvm.svm.predict import predict  # noqa: E402
from pisvm.svm.train import svc  # noqa: E402


def _environment():
    # One node: Open MPI's shared-memory transport only (its TCP transport probes the network for about
    # a second in every process, 1 and 2 ranks alike); a setting of the user's wins.
    return dict(os.environ, PYTHONPATH=str(REPO), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl=os.environ.get("OMPI_MCA_btl", "self,sm"))


def run_predict(n_ranks, test, model, output, report):
    command = [sys.executable, "-m", "pisvm.cli.predict", str(test), str(model), str(output), "--report",
               str(report), "--ignore-labels", "-q"]
    if n_ranks > 1:
        command = [shutil.which("mpirun"), "--bind-to", "none", "-n", str(n_ranks), "-x", "PYTHONPATH"] + command
    started = time.perf_counter()
    subprocess.run(command, check=True, env=_environment(), stdout=subprocess.DEVNULL)
    wall_s = time.perf_counter() - started
    with open(report) as stream:
        return wall_s, json.load(stream)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 33,396 samples")
    parser.add_argument("--rows", type=int, default=300_000, help="rows of the pisvm-predict test file")
    parser.add_argument("--gamma", type=float, default=8.0)
    parser.add_argument("--cost", type=float, default=100.0)
    args = parser.parse_args(argv)

    X, y = seed_problem(scale=args.scale, random_state=0)
    fold = stratified_folds(y, n_splits=10, random_state=0)
    train = fold != 0
    started = time.perf_counter()
    fitted = svc(gamma=args.gamma, C=args.cost).fit(X[train], y[train])
    fit_s = time.perf_counter() - started
    model = SVMModel.from_svc(fitted)
    print(f"# predictor benchmark: seed-shaped problem, fold 0 of 10: {train.sum()} training rows, "
          f"{(~train).sum()} held-out rows, {X.shape[1]} features, {len(model.labels)} classes; gamma {args.gamma:g}, "
          f"C {args.cost:g}: {len(model.support_vectors)} support vectors (fit {fit_s:.1f} s); one run each",
          flush=True)
    started = time.perf_counter()
    reference = fitted.predict(X[~train])
    svc_s = time.perf_counter() - started
    with threadpool_limits(limits=1):
        started = time.perf_counter()
        labels = predict(model, X[~train])
        fast_s = time.perf_counter() - started
    print(f"SVC.predict: {svc_s:.3f} s   pisvm.svm.predict (1 thread): {fast_s:.3f} s   "
          f"ratio = {svc_s / fast_s:.1f}x (target >= 4x); labels identical: {np.array_equal(labels, reference)}",
          flush=True)

    work = Path(tempfile.mkdtemp(prefix="pisvm-bench-predict-"))
    try:
        model.write(work / "model")
        parts, seed = [], 1
        while sum(len(p) for p in parts) < args.rows:
            parts.append(seed_problem(scale=1.0, random_state=seed)[0])
            seed += 1
        X_test = np.vstack(parts)[:args.rows]
        write_libsvm(work / "test.el", X_test, np.zeros(len(X_test)))  # placeholder labels (--ignore-labels)
        size_mb = (work / "test.el").stat().st_size / 2**20
        runs = {}
        for n_ranks in (1, 2):
            runs[n_ranks] = run_predict(n_ranks, work / "test.el", work / "model", work / f"out{n_ranks}",
                                        work / f"report{n_ranks}.json")
        same = (work / "out1").read_bytes() == (work / "out2").read_bytes()
        (t1, r1), (t2, r2) = runs[1], runs[2]
        print(f"pisvm-predict on {args.rows} rows ({size_mb:.0f} MB of LibSVM text, OMPI_MCA_btl="
              f"{_environment()['OMPI_MCA_btl']}): 1 rank {t1:.1f} s, "
              f"2 ranks {t2:.1f} s, speed-up = {t1 / t2:.2f}x (target >= 1.8x); output files identical: {same}",
              flush=True)
        print(f"  peak memory per rank (RSS): 1 rank {r1['peak_rss_mb_per_rank'][0]:.0f} MB; 2 ranks "
              + ", ".join(f"{m:.0f}" for m in r2["peak_rss_mb_per_rank"]) + " MB; prediction inside: "
              f"1 rank {max(r1['predict_s_per_rank']):.1f} s, 2 ranks {max(r2['predict_s_per_rank']):.1f} s",
              flush=True)
        print("  CPU seconds per rank (the work each rank did; on a loaded machine the wall-clock speed-up is "
              f"bounded by the cores it gets): 1 rank {r1['cpu_s_per_rank'][0]:.1f} s; 2 ranks "
              + ", ".join(f"{c:.1f}" for c in r2["cpu_s_per_rank"]) + " s", flush=True)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
