"""pisvm-compare: SVM on spectra, SVM on attribute profiles and the 3D-CNN on the same splits.

    pisvm-compare scene.h5 --sampling random size --fraction 0.1 --seed 0 1 2 --out cmp
    mpirun -n 8 pisvm-compare scene.h5 --split split.h5 --methods svm-spectra svm-ap --out cmp
"""

import sys

from features.profiles import AREA_THRESHOLDS
from pisvm.cli.common import CollectiveError, OneLineParser, add_sampling_options, number, run_mpi
from pisvm.data.folds import check_folds
from pisvm.grid.cells import SEED_COSTS, SEED_GAMMAS
from pisvm.grid.run import SOLVERS
from pisvm.svm.backends import BACKENDS

PROG = "pisvm-compare"


def build_parser():
    from . import METHODS

    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("scene", help="scene HDF5 file (pisvm-data import)")
    splits = parser.add_mutually_exclusive_group()
    splits.add_argument("--split", nargs="+", metavar="SELECTION", help="selection files (pisvm-split)")
    add_sampling_options(parser, group=splits, old={"--seed": "--seeds"})
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), metavar="METHOD",
                        help=f"methods among {', '.join(METHODS)}")
    parser.add_argument("-g", "--gamma", nargs="+", type=number(float, 0), default=list(SEED_GAMMAS),
                        metavar="G", help="RBF gamma values of the SVMs' grid")
    parser.add_argument("-c", "--cost", nargs="+", type=number(float, 0), default=list(SEED_COSTS),
                        metavar="C", help="C values of the SVMs' grid")
    parser.add_argument("-v", "--folds", type=int, default=10, help="SVM cross-validation folds")
    parser.add_argument("--solver", choices=SOLVERS, default="pisvm",
                        help="SVM grid solver (see pisvm-grid --solver)")
    parser.add_argument("--backend", choices=BACKENDS, default="libsvm",
                        help="library of --solver libsvm: libsvm or thundersvm")
    parser.add_argument("--pca", type=number(int, 0), default=4,
                        help="principal components profiled (svm-ap, svm-sdap)")
    parser.add_argument("--area", nargs="+", type=number(float, 0), default=list(AREA_THRESHOLDS),
                        help="area thresholds of the attribute profiles, pixels")
    parser.add_argument("--epochs", type=number(int, 0), default=600, help="CNN epochs")
    parser.add_argument("--batch", type=number(int, 0), default=50, help="CNN batch size")
    parser.add_argument("--window", type=number(int, 0), default=9, help="CNN window side, pixels (odd)")
    parser.add_argument("--out", default="pisvm-compare-out", help="output and cache folder")
    return parser


def _main(argv, comm):
    from .pipeline import CompareOptions, SplitSpec, run_comparison

    args = build_parser().parse_args(argv)
    try:
        check_folds(args.folds)
    except ValueError as error:  # every rank parsed the same -v: an error they all know
        raise CollectiveError(str(error)) from None
    if args.window % 2 == 0:
        raise CollectiveError(f"window == {args.window}, must be odd")
    if args.split:
        specs = [SplitSpec(path=path) for path in args.split]
        tags = [spec.tag for spec in specs]
        if len(set(tags)) != len(tags):
            raise CollectiveError("two --split files share a name; rename one")
    else:
        specs = []
        for mode in args.sampling:
            for share in args.fraction:
                for seed in (args.seed if mode == "random" else args.seed[:1]):
                    specs.append(SplitSpec(mode=mode, fraction=share, seed=seed))
    if args.solver == "pisvm" and args.backend != "libsvm":
        raise CollectiveError(f"--backend {args.backend} runs with --solver libsvm only (--solver pisvm is its own)")
    options = CompareOptions(gammas=tuple(args.gamma), costs=tuple(args.cost), folds=args.folds,
                             backend=args.backend, solver=args.solver, pca=args.pca, area=tuple(args.area),
                             epochs=args.epochs,
                             batch=args.batch, window=args.window)
    try:
        report = run_comparison(args.scene, specs, args.methods, options, args.out, comm=comm)
    except (ValueError, OSError) as error:
        # Rank 0 found bad input (or an unwritable output folder) and already released the other ranks.
        raise CollectiveError(str(error) or type(error).__name__) from None
    if report is not None:
        print(f"{PROG}: report in {args.out}/report.md and {args.out}/report.json")
    return 0


def main(argv=None):
    run_mpi(_main, PROG, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
