"""pisvm-jobs: write one job script per job of a study (SLURM or PBS).

    pisvm-jobs scaling train.el --ranks 1 2 4 8 16 32 64 80 --account ACC --partition batch --out jobs/scaling
    pisvm-jobs sampling indian.h5 --modes random size stddev --fractions 0.1 0.3 0.6 0.9 --seeds 0 1 2 \\
        --account ACC --partition gpus --modules CUDA TensorFlow --out jobs/sampling
"""

import argparse
import sys

from ..sampling import MODES
from ._common import OneLineParser, fraction, run

PROG = "pisvm-jobs"


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    studies = parser.add_subparsers(dest="study", required=True, parser_class=OneLineParser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--scheduler", choices=["slurm", "pbs"], default="slurm")
    common.add_argument("--account", help="account / project to charge")
    common.add_argument("--partition", help="partition (SLURM) or queue (PBS)")
    common.add_argument("--modules", nargs="*", default=[], help="module load names")
    common.add_argument("--time", default="02:00:00", help="wall-clock limit per job, HH:MM:SS")
    common.add_argument("--cores-per-node", type=int, default=40, help="ranks per node (JURECA: 40... 128)")
    common.add_argument("--out", required=True, help="folder for the scripts")

    scaling = studies.add_parser("scaling", parents=[common], help="pisvm-grid over rank counts")
    scaling.add_argument("train", help="LibSVM training file")
    scaling.add_argument("--test", help="LibSVM test file")
    scaling.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 80])
    scaling.add_argument("--grid", default="-g 2 4 8 16 32 -c 1 10 100 1000 10000 -v 10",
                         help="pisvm-grid grid options, quoted")

    sampling = studies.add_parser("sampling", parents=[common], help="splits x 3D-CNN training")
    sampling.add_argument("scene", help="scene HDF5 file")
    sampling.add_argument("--modes", nargs="+", choices=MODES, default=["random"])
    sampling.add_argument("--fractions", type=fraction, nargs="+", default=[0.1, 0.3, 0.6, 0.9])
    sampling.add_argument("--seeds", type=int, nargs="+", default=[0])
    sampling.add_argument("--epochs", type=int, default=600)
    sampling.add_argument("--gpus", type=int, default=1, help="GPUs per job")
    return parser


def _main(argv):
    from ..jobs import sampling_study, scaling_study

    args = build_parser().parse_args(argv)
    options = dict(scheduler=args.scheduler, account=args.account, partition=args.partition, modules=args.modules,
                   time=args.time, cores_per_node=args.cores_per_node)
    if args.study == "scaling":
        if any(n < 1 for n in args.ranks):
            raise ValueError(f"ranks == {min(args.ranks)}, must be >= 1")
        written = scaling_study(args.out, args.train, args.ranks, args.grid, args.test, **options)
    else:
        written = sampling_study(args.out, args.scene, args.modes, args.fractions, args.seeds, args.epochs,
                                 gpus=args.gpus, **options)
    print(f"{PROG}: wrote {len(written)} scripts to {args.out}/ (submit.sh submits them all)")
    return 0


def main(argv=None):
    run(_main, PROG, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
