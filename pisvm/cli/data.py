"""pisvm-data: import scenes and tables, export and scale LibSVM files, make synthetic workloads.

    pisvm-data import Indian_pines_corrected.mat Indian_pines_gt.mat --out indian.h5
    pisvm-data libsvm indian.h5 --out pixels.el
    pisvm-data convert table.csv --label class --out table.el
    pisvm-data scale train.el -l 0 -u 1 -s range --out train.scaled.el
    pisvm-data scale test.el -r range --out test.scaled.el
    pisvm-data synth problem --scale 0.1 --out train.el
    pisvm-data synth scene --rows 64 --cols 64 --bands 60 --out scene.h5
"""

import argparse
import functools
import sys

import numpy as np

from .common import OneLineParser, number, run_serial

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
    imported.add_argument("--cube-key", metavar="NAME",
                          help="variable of the cube in a .mat holding several 3-D arrays")
    imported.add_argument("--labels-key", metavar="NAME",
                          help="variable of the ground truth in a .mat holding several 2-D arrays")
    imported.add_argument("--out", required=True, help="scene HDF5 file to write")

    libsvm = commands.add_parser("libsvm", help="labelled pixels' spectra of a scene -> LibSVM text")
    libsvm.add_argument("scene", help="scene HDF5 file (data, labels)")
    libsvm.add_argument("--out", required=True, help="LibSVM file to write")

    convert = commands.add_parser("convert", help="a delimited text table (CSV, TSV, blanks) -> LibSVM text")
    convert.add_argument("table", help="text file: one sample a line, numeric features and one label column")
    convert.add_argument("--label", default="-1", metavar="COLUMN",
                         help="label column: 1-based number, negative from the end, or a header name "
                              "(default: -1, the last column, as in UCI tables)")
    convert.add_argument("--delimiter", help="field separator (default: the first of , ; tab in the first line, "
                                             "else runs of blanks)")
    header = convert.add_mutually_exclusive_group()
    header.add_argument("--header", action="store_true", default=None,
                        help="the first row names the columns (default: guessed: a first row without any number)")
    header.add_argument("--no-header", dest="header", action="store_false", help="the first row is data")
    convert.add_argument("--out", required=True, help="LibSVM file to write")

    scale = commands.add_parser("scale", help="scale features like LIBSVM's svm-scale (-l -u -s -r)")
    scale.add_argument("data", help="LibSVM file")
    scale.add_argument("-l", "--lower", type=float, default=-1.0, help="lower end of the scaled range")
    scale.add_argument("-u", "--upper", type=float, default=1.0, help="upper end of the scaled range")
    ranges = scale.add_mutually_exclusive_group()
    ranges.add_argument("-s", "--save", metavar="RANGE_FILE",
                        help="save the ranges (svm-scale's format) to scale test data with -r")
    ranges.add_argument("-r", "--restore", metavar="RANGE_FILE",
                        help="scale with the ranges of this file (from -s or svm-scale); -l/-u come from it")
    scale.add_argument("--out", required=True, help="LibSVM file to write")

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
    synth.add_argument("--seed", type=number(int, 0, False), default=0,
                       help="random seed (the same seed gives the same file)")
    synth.add_argument("--out", required=True, help="file to write (.el for a problem, .h5 for a scene)")
    return parser


def _files(args):
    """(inputs, outputs) of the command line."""
    if args.command == "import":
        return [args.cube, args.labels], [args.out]
    if args.command == "libsvm":
        return [args.scene], [args.out]
    if args.command == "convert":
        return [args.table], [args.out]
    if args.command == "scale":
        return [args.data, args.restore], [args.out, args.save]
    return [], [args.out]


def _main(argv):
    from ..data.atomic import STDOUT, atomic_paths, check_outputs
    from ..data.libsvm import read_libsvm, write_libsvm
    from ..data.scene import import_mat, labelled_pixels, read_scene, write_scene
    from ..data.synth import seed_problem, synthetic_scene

    args = build_parser().parse_args(argv)
    inputs, outputs = _files(args)
    check_outputs(outputs, inputs)
    # With --out - the data go to stdout: the summary line goes to stderr.
    say = functools.partial(print, file=sys.stderr if args.out == STDOUT else sys.stdout)
    if args.command == "import":
        data, labels, names = import_mat(args.cube, args.labels, args.cube_key, args.labels_key)
        write_scene(args.out, data, labels, source_cube=args.cube, source_labels=args.labels,
                    variables=list(names))
        classes, counts = np.unique(labels[labels > 0], return_counts=True)
        say(f"{args.out}: {data.shape[0]}x{data.shape[1]} pixels, {data.shape[2]} bands ({data.dtype}), "
              f"{len(classes)} classes, {counts.sum()} labelled pixels")
    elif args.command == "libsvm":
        data, labels = read_scene(args.scene)
        if not labels.any():
            raise ValueError(f"{args.scene}: no labelled pixel (every label is 0): no sample to write")
        X, y, _ = labelled_pixels(data, labels)
        write_libsvm(args.out, X, y, comment=f"labelled pixels of {args.scene}")
        say(f"{args.out}: {len(y)} samples, {X.shape[1]} features, {len(np.unique(y))} classes")
    elif args.command == "convert":
        from ..data.table import read_table

        X, y, classes = read_table(args.table, args.label, args.delimiter, args.header)
        names = " ".join(f"{number}={name}" for number, name in classes.items()) if classes else None
        write_libsvm(args.out, X, y, comment=f"from {args.table}" + (f"\nclasses: {names}" if names else ""))
        say(f"{args.out}: {len(y)} samples, {X.shape[1]} features, {len(np.unique(y))} classes"
              + (f" ({names})" if names else ""))
    elif args.command == "scale":
        from ..data.ranges import fit_ranges, read_ranges, scale_features, write_ranges

        if args.restore:
            lower, upper, ranges = read_ranges(args.restore)
        else:
            if not args.lower < args.upper:
                raise ValueError(f"-l {args.lower:g} must be below -u {args.upper:g}")
            lower, upper = args.lower, args.upper
        X, y = read_libsvm(args.data)
        if not args.restore:
            mins, maxs = fit_ranges(X)
            ranges = {j: (low, high) for j, (low, high) in enumerate(zip(mins, maxs))}
        with atomic_paths(args.out, args.save) as (out, save):  # both files or neither
            write_libsvm(out, scale_features(X, lower, upper, ranges, args.data), y)
            if save:
                write_ranges(save, lower, upper, mins, maxs)
        say(f"{args.out}: {len(y)} samples scaled to [{lower:g}, {upper:g}]"
              + (f", ranges from {args.restore}" if args.restore else "")
              + (f", ranges saved to {args.save}" if args.save else ""))
    elif args.kind == "problem":
        X, y = seed_problem(scale=args.scale, random_state=args.seed)
        write_libsvm(args.out, X, y)
        say(f"{args.out}: {len(y)} samples, {X.shape[1]} features, {len(np.unique(y))} classes")
    else:
        data, labels = synthetic_scene(args.rows, args.cols, args.bands, args.classes, random_state=args.seed)
        write_scene(args.out, data, labels, source="pisvm.data.synth.synthetic_scene", seed=args.seed)
        present = len(np.unique(labels[labels > 0]))
        classes = f"{args.classes} classes" if present == args.classes else \
            f"{present} of the {args.classes} classes asked (too few pixels for more)"
        say(f"{args.out}: {args.rows}x{args.cols} pixels, {args.bands} bands, {classes}")
    return 0


def main(argv=None):
    run_serial(_main, PROG, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
