"""pisvm-data: import scenes, export LibSVM files, make synthetic workloads.

    pisvm-data import Indian_pines_corrected.mat Indian_pines_gt.mat --out indian.h5
    pisvm-data libsvm indian.h5 --out pixels.el
    pisvm-data synth problem --scale 0.1 --out train.el
    pisvm-data synth scene --rows 64 --cols 64 --bands 60 --out scene.h5
"""

import argparse
import sys

import numpy as np

from ._common import OneLineParser, number, run

PROG = "pisvm-data"


def _scale(text):
    value = number(float, 0)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text} must be in (0, 1]")
    return value


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    imported = commands.add_parser("import", help="UPV/EHU cube .mat + ground-truth .mat -> scene HDF5")
    imported.add_argument("cube", help="cube .mat (e.g. Indian_pines_corrected.mat, SalinasA.mat)")
    imported.add_argument("labels", help="ground-truth .mat (e.g. Indian_pines_gt.mat)")
    imported.add_argument("--cube-key", metavar="NAME", help="variable of the cube in a .mat holding several 3-D arrays")
    imported.add_argument("--labels-key", metavar="NAME",
                          help="variable of the ground truth in a .mat holding several 2-D arrays")
    imported.add_argument("--out", required=True, help="scene HDF5 file to write")

    libsvm = commands.add_parser("libsvm", help="labelled pixels' spectra of a scene -> LibSVM text")
    libsvm.add_argument("scene", help="scene HDF5 file (data, labels)")
    libsvm.add_argument("--out", required=True, help="LibSVM file to write")

    synth = commands.add_parser("synth", help="synthetic workloads")
    synth.add_argument("kind", choices=["problem", "scene"],
                       help="problem: the seed-shaped LibSVM problem; scene: a small hyperspectral scene")
    synth.add_argument("--scale", type=_scale, default=1.0,
                       help="problem: fraction of the seeds' 33,396 samples, in (0, 1]; the default 1 makes all "
                            "33,396")
    synth.add_argument("--rows", type=number(int, 0), default=64, help="scene: rows (pixels)")
    synth.add_argument("--cols", type=number(int, 0), default=64, help="scene: columns (pixels)")
    synth.add_argument("--bands", type=number(int, 0), default=60, help="scene: spectral bands")
    synth.add_argument("--classes", type=number(int, 0), default=6, help="scene: classes")
    synth.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same file)")
    synth.add_argument("--out", required=True, help="file to write (.el for a problem, .h5 for a scene)")
    return parser


def _main(argv):
    from ..libsvm import write_libsvm
    from ..scene import import_mat, labelled_pixels, read_scene, write_scene
    from ..synth import seed_problem, synthetic_scene

    args = build_parser().parse_args(argv)
    if args.command == "import":
        data, labels, names = import_mat(args.cube, args.labels, args.cube_key, args.labels_key)
        write_scene(args.out, data, labels, source_cube=args.cube, source_labels=args.labels,
                    variables=list(names))
        classes, counts = np.unique(labels[labels > 0], return_counts=True)
        print(f"{args.out}: {data.shape[0]}x{data.shape[1]} pixels, {data.shape[2]} bands ({data.dtype}), "
              f"{len(classes)} classes, {counts.sum()} labelled pixels")
    elif args.command == "libsvm":
        data, labels = read_scene(args.scene)
        if not labels.any():
            raise ValueError(f"{args.scene}: no labelled pixel (every label is 0): no sample to write")
        X, y, _ = labelled_pixels(data, labels)
        write_libsvm(args.out, X, y, comment=f"labelled pixels of {args.scene}")
        print(f"{args.out}: {len(y)} samples, {X.shape[1]} features, {len(np.unique(y))} classes")
    elif args.kind == "problem":
        X, y = seed_problem(scale=args.scale, random_state=args.seed)
        write_libsvm(args.out, X, y)
        print(f"{args.out}: {len(y)} samples, {X.shape[1]} features, {len(np.unique(y))} classes")
    else:
        data, labels = synthetic_scene(args.rows, args.cols, args.bands, args.classes, random_state=args.seed)
        write_scene(args.out, data, labels, source="pisvm.synth.synthetic_scene", seed=args.seed)
        print(f"{args.out}: {args.rows}x{args.cols} pixels, {args.bands} bands, {args.classes} classes")
    return 0


def main(argv=None):
    run(_main, PROG, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
