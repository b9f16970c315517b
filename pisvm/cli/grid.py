"""pisvm-grid: cross-validated RBF-SVM grid search over MPI ranks.

    mpirun -n 80 pisvm-grid train.el -g 2 4 8 16 32 -c 1 10 100 1000 10000 -v 10 --test test.el --out run1

Without a training file it runs the built-in synthetic workload (the
seed-shaped problem, small scale, with a held-out test part).
"""

import contextlib
import os
import sys

import numpy as np

from ..grid.cells import SEED_COSTS, SEED_GAMMAS
from ..grid.run import SOLVERS, make_solver
from ..svm.backends import BACKENDS
from ..svm.solver import CACHE_MB
from .common import OneLineParser, class_weights, label_weight, number, run, world_comm

PROG = "pisvm-grid"


def build_parser(rank=0):
    parser = _RankParser(prog=PROG, rank=rank, description=__doc__.split("\n\n")[0])
    parser.add_argument("train", nargs="?", help="LibSVM training file (default: built-in synthetic workload)")
    parser.add_argument("-g", "--gamma", nargs="+", type=float, default=None, metavar="G",
                        help=f"RBF gamma values (default: the seeds' grid {list(SEED_GAMMAS)})")
    parser.add_argument("-c", "--cost", nargs="+", type=float, default=None, metavar="C",
                        help=f"C values (default: the seeds' grid {list(SEED_COSTS)})")
    parser.add_argument("--log2g", metavar="B,E,S", help="gamma = 2**e for e in begin,end,step (LIBSVM grid.py)")
    parser.add_argument("--log2c", metavar="B,E,S", help="C = 2**e for e in begin,end,step (LIBSVM grid.py)")
    parser.add_argument("-v", "--folds", type=int, default=10, help="cross-validation folds")
    parser.add_argument("--seed", type=number(int, 0, False), default=0, help="seed of the stratified fold assignment")
    parser.add_argument("-m", "--cache-mb", type=number(float, 0), default=CACHE_MB,
                        help="memory per solver, MB: the pisvm solver's copy of the active sub-block, "
                             "LIBSVM's kernel cache")
    parser.add_argument("-e", "--tolerance", type=number(float, 0), default=1e-3, help="solver stopping tolerance")
    parser.add_argument("--no-shrinking", action="store_true", help="turn off LIBSVM's shrinking heuristic")
    parser.add_argument("--class-weight", choices=["balanced"], help="weigh C by inverse class frequency")
    parser.add_argument("-w", "--weight", type=label_weight, action="append", default=[], metavar="LABEL=W",
                        help="C of class LABEL is W*C (LIBSVM -wi); repeatable")
    parser.add_argument("--solver", choices=SOLVERS, default=SOLVERS[0],
                        help="pisvm: the grid's own solver (one kernel block per class pair and gamma, shared "
                             "by every fold and C); libsvm: one LIBSVM fit per (gamma, C, fold) through --backend, "
                             "exactly GridSearchCV's table")
    parser.add_argument("--backend", choices=BACKENDS, default="libsvm",
                        help="library of --solver libsvm: libsvm (scikit-learn) or thundersvm")
    parser.add_argument("--test", metavar="FILE", help="LibSVM test file: train the best cell on all training "
                        "data and report OA, AA, kappa, per-class accuracy and the confusion matrix")
    parser.add_argument("--save-model", action="store_true", help="fit the best cell on all training data and "
                        "write its LIBSVM model to DIR/model (done anyway with --test)")
    parser.add_argument("--out", default="pisvm-grid-out", metavar="DIR", help="output folder")
    parser.add_argument("--resume", action="store_true", help="continue the journal in --out, skipping finished work")
    parser.add_argument("--parts", type=int, default=None, metavar="N",
                        help="split every task into N groups of one-vs-one problems (--solver pisvm: "
                             "about N pair groups per gamma) (default: as needed to give every rank work)")
    parser.add_argument("--chains-for", type=number(int, 0), default=None, metavar="N",
                        help="--solver pisvm: make the chains that N ranks get, whatever the number of ranks "
                             "(so that pisvm-timing --predict N can replay this run)")
    parser.add_argument("--synth-scale", type=float, default=0.04, metavar="F",
                        help="size of the built-in workload as a fraction of the seeds' 33,396 samples")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return parser


class _RankParser(OneLineParser):
    """A parser whose messages (``--help``) are printed by rank 0 only."""

    def __init__(self, *args, rank=0, **kwargs):
        self.rank = rank
        super().__init__(*args, **kwargs)

    def _print_message(self, message, file=None):
        if self.rank == 0:
            super()._print_message(message, file)

    def parse_known_args(self, args=None, namespace=None):
        """Parse, reading ``--log2g -1,5,2`` as LIBSVM's grid.py does (argparse takes ``-1,5,2`` for an option)."""
        args = list(sys.argv[1:] if args is None else args)
        for k in range(len(args) - 1):
            if args[k] in ("--log2g", "--log2c") and args[k + 1][:1] == "-" and args[k + 1][1:2].isdigit():
                args[k], args[k + 1] = f"{args[k]}={args[k + 1]}", None
        return super().parse_known_args([arg for arg in args if arg is not None], namespace)


def grid_values(args):
    """The checked ``(gammas, costs)`` of parsed arguments; ValueError naming the first bad grid option.

    The one check of the grid options (pisvm-grid, and pisvm-jobs for its ``--grid``).
    """
    from ..data.folds import check_folds
    from ..grid.cells import check_grid, log2_range

    gammas = list(args.gamma or []) + (log2_range(args.log2g, "--log2g") if args.log2g else [])
    costs = list(args.cost or []) + (log2_range(args.log2c, "--log2c") if args.log2c else [])
    gammas, costs = check_grid(gammas or SEED_GAMMAS, costs or SEED_COSTS)
    check_folds(args.folds)
    if args.parts is not None and args.parts < 1:
        raise ValueError(f"parts == {args.parts}, must be >= 1")
    return gammas, costs


def load_inputs(args):
    """Rank 0: validate the arguments and read the data; ValueError on bad input.

    Returns the arrays, the fold assignment, the journal header and metadata.
    """
    from ..data.folds import stratified_folds
    from ..data.libsvm import read_libsvm, warn_test_mismatch
    from ..results.report import sha256_file

    gammas, costs = grid_values(args)
    make_solver(args.solver, args.backend, _solver_options(args, None))
    if args.save_model and args.backend != "libsvm":
        raise ValueError(f"--save-model needs --backend libsvm (backend {args.backend} gives no LIBSVM model)")
    if args.train is None:
        from sklearn.model_selection import train_test_split

        from ..data.synth import seed_problem

        if args.test:
            raise ValueError("--test needs a training file (the built-in workload has its own test part)")
        if not 0 < args.synth_scale <= 1:
            raise ValueError(f"synth-scale == {args.synth_scale}, must be in (0, 1]")
        X_all, y_all = seed_problem(scale=args.synth_scale, random_state=args.seed)
        X, X_test, y, y_test = train_test_split(X_all, y_all, test_size=1 / 3, stratify=y_all,
                                                random_state=args.seed)
        data_name = f"synthetic seed-shaped problem (scale {args.synth_scale:g}, seed {args.seed})"
        data_sha, test_sha = f"synthetic:{args.synth_scale:g}:{args.seed}", None
    else:
        X, y = read_libsvm(args.train)
        data_name, data_sha = args.train, sha256_file(args.train)
        X_test = y_test = test_sha = None
        if args.test:
            X_test, y_test = read_libsvm(args.test)
            test_sha = sha256_file(args.test)
            warn_test_mismatch(args.train, X, y, args.test, X_test, y_test)
            n_features = max(X.shape[1], X_test.shape[1])
            X = np.pad(X, ((0, 0), (0, n_features - X.shape[1])))
            X_test = np.pad(X_test, ((0, 0), (0, n_features - X_test.shape[1])))
    fold = stratified_folds(y, n_splits=args.folds, random_state=args.seed)
    class_weight = _class_weight(args, y)
    header = {"data_sha256": data_sha, "test_sha256": test_sha, "gammas": gammas, "costs": costs,
              "folds": args.folds, "seed": args.seed, "backend": args.backend, "svm_solver": args.solver,
              "solver": _solver_options(args, class_weight, json_ready=True)}
    return {"X": X, "y": y, "fold": fold, "X_test": X_test, "y_test": y_test, "gammas": gammas,
            "costs": costs, "class_weight": class_weight, "header": header, "data_name": data_name}


def _class_weight(args, y):
    """Explicit ``{label: weight}`` (balanced weights are fixed from the whole training set)."""
    labels = np.unique(y)
    weights = {}
    if args.class_weight == "balanced":
        counts = np.array([np.sum(y == label) for label in labels])
        weights = {float(label): len(y) / (len(labels) * count) for label, count in zip(labels, counts)}
    return class_weights(args.weight, labels, weights) or None


def _solver_options(args, class_weight, json_ready=False):
    options = {"cache_mb": args.cache_mb, "tol": args.tolerance, "shrinking": not args.no_shrinking,
               "class_weight": class_weight}
    if json_ready and class_weight:
        options["class_weight"] = {f"{label:g}": weight for label, weight in sorted(class_weight.items())}
    return options


def _job(args, argv):
    """Rank 0: the grid job of the command line (reads the data; ValueError on bad input)."""
    from ..grid.engine import Problem
    from ..grid.run import GridJob

    inputs = load_inputs(args)
    header = inputs["header"]
    problem = Problem(inputs["X"], inputs["y"], inputs["fold"], inputs["X_test"], inputs["y_test"])
    metadata = {"data": inputs["data_name"], "test_data": args.test, "data_sha256": header["data_sha256"],
                "test_sha256": header["test_sha256"], "command": [PROG] + list(argv or sys.argv[1:])}
    return GridJob(problem=problem, gammas=inputs["gammas"], costs=inputs["costs"], backend=args.backend,
                   solver=_solver_options(args, inputs["class_weight"]), header=header, metadata=metadata,
                   n_parts=args.parts, plan_ranks=args.chains_for, svm_solver=args.solver,
                   model_path=_model_path(args, problem),
                   inputs=tuple(path for path in (args.train, args.test) if path))


def _model_path(args, problem):
    """Where the best cell's model is kept: DIR/model with a test set or --save-model (LIBSVM backend only)."""
    keep = args.backend == "libsvm" and (problem.X_test is not None or args.save_model)
    return os.path.join(args.out, "model") if keep else None


def _main(argv, comm):
    from ..grid.run import run_grid
    from ..results.report import TABLE_TIME, TABLE_TIME_TEXT, format_table

    rank = 0 if comm is None else comm.rank
    args = build_parser(rank).parse_args(argv)
    outcome = run_grid(lambda: _job(args, argv), args.out, comm=comm, resume=args.resume,
                       progress=not args.quiet, prog=PROG)
    if rank != 0:
        return 0
    summary, metadata = outcome
    best = summary["best"]
    print(f"{PROG}: mean {args.folds}-fold cross-validation accuracy % ({TABLE_TIME_TEXT[TABLE_TIME]}) of each "
          "(gamma, C) cell, * the best:", file=sys.stderr, flush=True)
    print(format_table(summary["cells"]))
    print(f"best: gamma {best['gamma']:g}, C {best['C']:g}: {100 * best['accuracy']:.2f} % "
          f"({args.folds}-fold cross-validation)")
    if summary["test"] is not None:
        from ..results.metrics import format_confusion, format_report

        print("\n".join(format_report(summary["test"], title="test")))
        if len(summary["test"]["labels"]) <= 20:
            print("\n".join(format_confusion(summary["test"])))
    peaks = ", ".join(f"rank {rank} {mb:.0f} MB" for rank, mb in metadata["peak_rss_mb"].items())
    print(f"{PROG}: results in {args.out}/ (grid.json, grid.csv, table.md, heatmap.png"
          + (", model" if metadata.get("model") else "") + "); "
          f"wall {metadata['wall_s'] / 60:.2f} min" + (f"; peak memory {peaks}" if peaks else ""), file=sys.stderr)
    return 0


def main(argv=None):
    comm = world_comm()
    limits = contextlib.nullcontext()
    if comm is not None:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=1)  # one BLAS thread per rank for the predictor: the ranks fill the cores
    with limits:  # a Python caller gets its BLAS threads back
        run(lambda a: _main(a, comm), PROG, argv, comm=comm)


if __name__ == "__main__":
    main()
