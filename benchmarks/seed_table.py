"""The built-in problem's 10-fold table against the seeds' serial table (Indian Pines, processed).

    python benchmarks/seed_table.py               # full size: 33,396 samples, 5x5 grid, 10 folds
    python benchmarks/seed_table.py --scale 0.2   # the same shape, 20 % of the samples

Writes ``seed_problem(scale, random_state=--seed)`` (all of it, no test part held out, as
the seeds cross-validated their whole training file) to a LibSVM file, runs
``mpirun -n 2 pisvm-grid`` on it over the seeds' grid (gamma 2..32 x C 1..10,000,
``--folds`` stratified folds) and prints, for every cell, our accuracy, the seeds'
and the difference (ours - seeds', percentage points), the largest absolute
difference, the wall time, and the three checks of the table's shape:

- the best cell's accuracy is in [74, 80] %;
- gamma 2 / C 1 is at least 15 points below the best cell;
- every cell of the C = 10,000 column is within 4 points of the best cell.

The exit status is 0 when all three pass, 1 otherwise.  The full size took 6.0 minutes
(2 ranks on 2 shared cores, 2026-12-03); scale 0.3 about 2.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pisvm.data.libsvm import write_libsvm  # noqa: E402
from pisvm.data.synth import seed_problem  # noqa: E402
from pisvm.grid.cells import SEED_COSTS, SEED_GAMMAS  # noqa: E402

GAMMAS, COSTS = list(SEED_GAMMAS), list(SEED_COSTS)  # the seeds' grid
SEED_TABLE = [  # accuracy %, rows gamma (GAMMAS), columns C (COSTS): the seeds' serial 10-fold table
    [48.90, 65.01, 73.21, 75.55, 74.42],
    [57.53, 70.74, 75.94, 76.04, 74.06],
    [64.18, 74.45, 77.00, 75.78, 74.58],
    [68.37, 76.20, 76.51, 75.32, 74.72],
    [70.17, 75.48, 74.88, 74.08, 73.84],
]


def shape_checks(table):
    """The three checks of a table's shape, as ``[(description, passed), ...]``.

    Parameters
    ----------
    table : list of list of float
        Accuracy %, 5 x 5, rows ``GAMMAS``, columns ``COSTS``.
    """
    best = max(max(row) for row in table)
    column = [row[-1] for row in table]
    return [
        (f"best cell {best:.2f} % in [74, 80]", 74 <= best <= 80),
        (f"gamma 2 / C 1 {table[0][0]:.2f} % is {best - table[0][0]:.2f} points below the best (>= 15)",
         best - table[0][0] >= 15),
        (f"C = 10,000 column at most {best - min(column):.2f} points below the best (<= 4)", best - min(column) <= 4),
    ]


def format_report(table, seeds=SEED_TABLE):
    """Our table, the seeds' and the differences as text lines, with the largest difference and the checks."""
    lines = ["gamma \\ C " + "".join(f"{c:>24g}" for c in COSTS),
             "          " + "".join(f"{'ours  seeds   diff':>24}" for _ in COSTS)]
    for gamma, ours, theirs in zip(GAMMAS, table, seeds):
        lines.append(f"{gamma:<10g}" + "".join(f"{a:>10.2f}{b:>7.2f}{a - b:>+7.2f}" for a, b in zip(ours, theirs)))
    worst = max((abs(a - b), gamma, c) for gamma, ours, theirs in zip(GAMMAS, table, seeds)
                for c, a, b in zip(COSTS, ours, theirs))
    lines.append(f"largest difference: {worst[0]:.2f} points (gamma {worst[1]:g}, C {worst[2]:g})")
    lines += [f"{'PASS' if passed else 'FAIL'}  {text}" for text, passed in shape_checks(table)]
    return lines


def run_grid(scale, folds, seed, ranks, out):
    """Run ``pisvm-grid`` on the built-in problem; return the 5 x 5 accuracy table (%), wall seconds, samples."""
    X, y = seed_problem(scale=scale, random_state=seed)
    out.mkdir(parents=True, exist_ok=True)
    train = out / "train.el"
    write_libsvm(train, X, y)
    command = [sys.executable, "-m", "pisvm.cli.grid", str(train), "-g", *map(str, GAMMAS), "-c", *map(str, COSTS),
               "-v", str(folds), "--seed", str(seed), "--out", str(out / "grid"), "-q"]
    if ranks > 1:
        command = [shutil.which("mpirun"), "-n", str(ranks), "-x", "PYTHONPATH"] + command
    # One node: Open MPI's shared-memory transport only; a setting of the user's wins.
    env = dict(os.environ, PYTHONPATH=str(REPO), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl=os.environ.get("OMPI_MCA_btl", "self,sm"))
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall_s = time.perf_counter() - started
    with open(out / "grid" / "grid.json") as stream:
        cells = {(cell["gamma"], cell["C"]): 100 * cell["accuracy"] for cell in json.load(stream)["cells"]}
    return [[cells[gamma, c] for c in COSTS] for gamma in GAMMAS], wall_s, len(y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the seeds' 33,396 samples")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seed of the problem and of the folds")
    parser.add_argument("--ranks", type=int, default=2, help="MPI ranks of pisvm-grid (1: no mpirun)")
    parser.add_argument("--out", help="keep the LibSVM file and pisvm-grid's output in this folder")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pisvm-seed-table-"))
    try:
        table, wall_s, n_samples = run_grid(args.scale, args.folds, args.seed, args.ranks, out)
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    print(f"# seed_problem(scale={args.scale:g}, random_state={args.seed}): {n_samples} samples; "
          f"{args.folds}-fold accuracy % against the seeds' serial table; pisvm-grid on {args.ranks} "
          f"rank(s): {wall_s:.1f} s wall")
    lines = format_report(table)
    print("\n".join(lines))
    return 0 if all(passed for _, passed in shape_checks(table)) else 1


if __name__ == "__main__":
    sys.exit(main())
