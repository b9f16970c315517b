"""pisvm-train: train an SVM on a LibSVM file and write a LIBSVM model file (svm-train's habits).

    pisvm-train train.el train.el.model -g 8 -c 100
    mpirun -n 16 pisvm-train train.el model -g 8 -c 100 -m 500

Under mpirun the one-vs-one binary problems are split over the ranks and
rank 0 writes one model, the same on every number of ranks.  The RBF kernel
is trained by the grid's own solver (``--solver pisvm``, the model that
pisvm-grid's cells are scored with); ``--solver libsvm`` and the other
kernels by LIBSVM, whose model is the one ``svm-train`` writes.
"""

import os
import sys
import time

import numpy as np

from ..results.progress import Progress
from ..svm.solver import CACHE_MB
from ..svm.train import SOLVERS
from ..transport import decided_by_root
from .common import OneLineParser, class_weights, label_weight, number, run_mpi

PROG = "pisvm-train"
KERNEL_CODES = {0: "linear", 1: "polynomial", 2: "rbf", 3: "sigmoid"}


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0], add_help=False)
    parser.add_argument("train", help="LibSVM training file")
    parser.add_argument("model", nargs="?", help="model file to write (default: TRAIN's name + .model, "
                                                 "in the current folder)")
    parser.add_argument("-t", "--kernel", type=int, choices=sorted(KERNEL_CODES), default=2,
                        help="kernel: 0 linear, 1 polynomial, 2 RBF, 3 sigmoid")
    parser.add_argument("-d", "--degree", type=number(int, 0), default=3, help="degree of the polynomial kernel")
    parser.add_argument("-g", "--gamma", type=number(float, 0), default=None,
                        help="gamma of the kernel (default 1 / number of features)")
    parser.add_argument("-r", "--coef0", type=float, default=0.0, help="coef0 of the polynomial/sigmoid kernel")
    parser.add_argument("-c", "--cost", type=number(float, 0), default=1.0, help="C")
    parser.add_argument("-m", "--cache-mb", type=number(float, 0), default=CACHE_MB, help="kernel cache per solver, MB")
    parser.add_argument("-e", "--tolerance", type=number(float, 0), default=1e-3, help="stopping tolerance")
    parser.add_argument("-h", "--shrinking", type=int, choices=[0, 1], default=1, help="shrinking heuristic")
    parser.add_argument("-w", "--weight", type=label_weight, action="append", default=[], metavar="LABEL=W",
                        help="C of class LABEL is W*C (LIBSVM -wi); repeatable")
    parser.add_argument("--solver", choices=SOLVERS, default=None,
                        help="pisvm: the grid's own SMO (RBF kernel only); libsvm: scikit-learn's LIBSVM, "
                             "svm-train's model exactly (default: pisvm for -t 2, libsvm otherwise)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--help", action="help", help="show this help message and exit")
    return parser


def load_inputs(args):
    """Rank 0: read and check the training file; return the training arrays and solver parameters."""
    from ..data.libsvm import read_libsvm

    X, y = read_libsvm(args.train)
    labels = np.unique(y)
    if not np.all(labels == np.round(labels)):
        raise ValueError(f"{args.train}: labels must be integers (classes) for a LIBSVM model")
    if len(labels) < 2:
        raise ValueError(f"{args.train}: one class only ({labels[0]:g}); a classifier needs two")
    class_weight = class_weights(args.weight, labels)
    params = {"gamma": args.gamma if args.gamma is not None else 1.0 / X.shape[1], "C": args.cost,
              "kernel": KERNEL_CODES[args.kernel], "degree": args.degree, "coef0": args.coef0,
              "cache_mb": args.cache_mb, "tol": args.tolerance, "shrinking": bool(args.shrinking),
              "class_weight": class_weight or None,
              "solver": args.solver or ("pisvm" if args.kernel == 2 else "libsvm")}
    return {"X": X, "y": y, "params": params}


def _main(argv, comm):
    from ..data.atomic import check_outputs
    from ..svm.train import train_model

    rank, size = (0, 1) if comm is None else (comm.rank, comm.size)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.solver == "pisvm" and args.kernel != 2:
        parser.error(f"--solver pisvm trains the RBF kernel (-t 2) only, not -t {args.kernel}: use --solver libsvm")
    model_path = args.model or os.path.basename(args.train) + ".model"

    def check():
        check_outputs([model_path], [args.train])
        return load_inputs(args)

    payload = decided_by_root(check, comm)
    X, y, params = payload["X"], payload["y"], payload["params"]
    if rank == 0 and not args.quiet:
        print(f"{PROG}: {args.train}: {len(y)} samples, {X.shape[1]} features, {len(np.unique(y))} classes; "
              f"{params['kernel']} kernel, gamma {params['gamma']:g}, C {params['C']:g}; solver {params['solver']}; "
              f"{size} rank(s)",
              file=sys.stderr, flush=True)
    started = time.perf_counter()
    meter = Progress(0, f"{PROG}: rank 0", enabled=not args.quiet, unit="binary problems")
    model = train_model(X, y, params, comm=comm, progress=meter)
    if rank != 0:
        return 0
    model.write(model_path)
    print(f"{PROG}: {len(model.support_vectors)} support vectors; model written to {model_path} "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return 0


def main(argv=None):
    run_mpi(_main, PROG, argv)


if __name__ == "__main__":
    main()
