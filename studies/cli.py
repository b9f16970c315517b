"""pisvm-jobs: write one job script per job of a study (SLURM or PBS).

    pisvm-jobs scaling train.el --ranks 1 2 4 8 16 32 64 80 --account ACC --partition batch --out jobs/scaling
    pisvm-jobs sampling indian.h5 --sampling random size stddev --fraction 0.1 0.3 0.6 0.9 --seed 0 1 2 \\
        --account ACC --partition gpus --modules CUDA TensorFlow --out jobs/sampling
"""

import argparse
import os
import shlex
import sys

from pisvm.cli.common import OneLineParser, add_sampling_options, number, run_serial

from .scripts import SCHEDULERS

PROG = "pisvm-jobs"


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    studies = parser.add_subparsers(dest="study", required=True, parser_class=OneLineParser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--scheduler", choices=SCHEDULERS, default="slurm",
                        help="write SLURM (sbatch) or PBS/Torque (qsub) scripts")
    common.add_argument("--account", help="account / project to charge")
    common.add_argument("--partition", help="partition (SLURM) or queue (PBS)")
    common.add_argument("--modules", nargs="*", default=[], metavar="NAME",
                        help="module load names (the cluster's MPI, Python, CUDA ...)")
    common.add_argument("--time", default="02:00:00",
                        help="wall-clock limit per job: SLURM MM, HH:MM:SS or D-HH:MM:SS, PBS HH:MM:SS")
    common.add_argument("--cores-per-node", type=number(int, 0), default=40,
                        help="MPI ranks per node; nodes = ceil(ranks / this); 40 on JURECA")
    common.add_argument("--results", metavar="DIR",
                        help="result folder of the jobs when $RESULTS is unset (default: OUT/results)")
    common.add_argument("--out", required=True, help="folder for the scripts")

    scaling = studies.add_parser("scaling", parents=[common], help="pisvm-grid over rank counts")
    scaling.add_argument("train", help="LibSVM training file")
    scaling.add_argument("--test", help="LibSVM test file")
    scaling.add_argument("--ranks", type=number(int, 0), nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 80],
                         help="one job per rank count")
    scaling.add_argument("--grid", default="-g 2 4 8 16 32 -c 1 10 100 1000 10000 -v 10",
                         help="pisvm-grid grid options, quoted (default: the seeds' 5x5 grid, 10 folds)")

    sampling = studies.add_parser("sampling", parents=[common], help="splits x 3D-CNN training")
    sampling.add_argument("scene", help="scene HDF5 file")
    add_sampling_options(sampling, fractions=(0.1, 0.3, 0.6, 0.9),
                         old={"--sampling": "--modes", "--fraction": "--fractions", "--seed": "--seeds"})
    sampling.add_argument("--epochs", type=number(int, 0), default=600, help="CNN epochs")
    sampling.add_argument("--gpus", type=number(int, 0, False), default=1, help="GPUs per job")
    return parser


def check_grid_options(text):
    """Parse ``--grid`` as pisvm-grid parses its command line; ValueError naming the text and the problem."""
    from pisvm.cli.grid import build_parser as grid_parser
    from pisvm.cli.grid import grid_values

    try:
        grid_values(grid_parser().parse_args(["TRAIN"] + shlex.split(text)))
    except ValueError as error:
        raise ValueError(f"--grid {text!r}: {error}") from None


def _check_files(*paths):
    """ValueError naming the first path that is not an existing file (the jobs would fail on the cluster)."""
    for path in paths:
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{path}: no such file" + (" (a folder)" if os.path.isdir(path) else ""))


def _main(argv):
    from .scripts import check_time, sampling_study, scaling_study

    args = build_parser().parse_args(argv)
    options = dict(scheduler=args.scheduler, account=args.account, partition=args.partition, modules=args.modules,
                   time=check_time(args.time, args.scheduler), cores_per_node=args.cores_per_node,
                   results=args.results)
    if args.study == "scaling":
        check_grid_options(args.grid)
        _check_files(args.train, args.test)
    else:
        _check_files(args.scene)
    if args.study == "scaling":
        written = scaling_study(args.out, args.train, args.ranks, args.grid, args.test, **options)
    else:
        written = sampling_study(args.out, args.scene, args.sampling, args.fraction, args.seed, args.epochs,
                                 gpus=args.gpus, **options)
    print(f"{PROG}: wrote {len(written)} scripts to {args.out}/ (submit.sh submits them all)")
    return 0


def main(argv=None):
    run_serial(_main, PROG, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
