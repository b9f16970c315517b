"""pisvm-features: attribute-profile features of a scene, as HDF5 and as LibSVM files for pisvm-grid.

    pisvm-features ap scene.h5 --pca 4 --area 25 100 500 1000 5000 --out features.h5
    pisvm-features ap scene.h5 --pca 4 --area 25 100 500 --std 10 20 --libsvm ap --split split.h5

``ap`` computes the extended (multi-)attribute profile of the first ``--pca``
principal components (attributes in the order area, diagonal, inertia, std;
per attribute: thickenings, component, thinnings), optionally followed by
the spectra.  ``--out`` writes a scene-layout HDF5 file (``data`` of shape
(n_rows, n_cols, n_features), ``labels``).  ``--libsvm PREFIX`` writes the
labelled pixels: with ``--split``, ``PREFIX_train.libsvm`` (selection 2) and
``PREFIX_test.libsvm`` (selection 1), features scaled to [0, 1] with the
minimum and maximum of the training pixels only, and that scaling as the
svm-scale range file ``PREFIX.range`` (``pisvm-predict --range``); without it, every labelled
pixel in ``PREFIX.libsvm``, scaled with its own minimum and maximum.
"""

import argparse
import json
import os
import time

import numpy as np

from features import profiles as _profiles
from features import trees as _trees
from pisvm.cli._common import OneLineParser, number, run
from pisvm.scaling import scale_to_unit

PROG = "pisvm-features"

#: CLI flag -> attribute name, in the order the features are laid out.
ATTRIBUTE_FLAGS = {"area": "area", "diagonal": "diagonal", "inertia": "moment_of_inertia", "std": "std"}


def _threshold(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"threshold {text!r} is not a number") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"threshold == {text}, must be finite and > 0")
    return int(value) if value == int(value) else value


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    ap = commands.add_parser("ap", help="extended attribute profiles over principal components",
                             formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("scene", help="scene HDF5 file (data, labels)")
    ap.add_argument("--pca", type=number(int, 1, False), default=4, metavar="K", help="principal components profiled")
    ap.add_argument("--area", nargs="+", type=_threshold, metavar="T", help="area thresholds, pixels")
    ap.add_argument("--diagonal", nargs="+", type=_threshold, metavar="T",
                    help="bounding-box diagonal thresholds, pixels")
    ap.add_argument("--inertia", nargs="+", type=_threshold, metavar="T", help="moment of inertia thresholds")
    ap.add_argument("--std", nargs="+", type=_threshold, metavar="T",
                    help="standard deviation thresholds, in principal-component units")
    ap.add_argument("--adjacency", type=int, choices=[4, 8], default=4, help="pixel connectivity")
    ap.add_argument("--rule", choices=sorted(_trees.RULES), default="direct", help="filtering rule")
    ap.add_argument("--spectra", action="store_true", help="append the spectral bands to the profiles")
    ap.add_argument("--jobs", type=number(int, 1, False), default=None, help="threads (default: min(2, cores))")
    ap.add_argument("--out", metavar="FILE", help="features HDF5 file (data, labels)")
    ap.add_argument("--libsvm", metavar="PREFIX", help="write LibSVM files PREFIX_train/_test.libsvm "
                                                       "(with --split) or PREFIX.libsvm")
    ap.add_argument("--split", metavar="SELECTION", help="selection file (pisvm-split) for --libsvm")
    return parser


def _write_libsvm(prefix, samples, labels, selection, comment):
    """Write the LibSVM file(s); return their paths."""
    from pisvm.libsvm import write_libsvm
    from pisvm.selection import TEST, TRAIN
    from pisvm.svmscale import write_range

    labelled = labels != 0
    if selection is None:
        index = np.flatnonzero(labelled)
        if index.size == 0:
            raise ValueError("scene has no labelled pixel (labels are all 0): nothing to write to --libsvm")
        (scaled,) = scale_to_unit(samples[index])
        path = f"{prefix}.libsvm"
        write_libsvm(path, scaled, labels.reshape(-1)[index], comment=comment)
        return [path]
    train = np.flatnonzero(labelled & (selection == TRAIN))
    test = np.flatnonzero(labelled & (selection == TEST))
    if train.size == 0:
        raise ValueError("split has no labelled training pixel (selection == 2): cannot scale features")
    scaled_train, scaled_test = scale_to_unit(samples[train], samples[test])
    paths = [f"{prefix}_train.libsvm", f"{prefix}_test.libsvm", f"{prefix}.range"]
    write_libsvm(paths[0], scaled_train, labels.reshape(-1)[train], comment=comment)
    write_libsvm(paths[1], scaled_test, labels.reshape(-1)[test], comment=comment)
    # The same scaling as an svm-scale range file, for pisvm-predict on the whole scene (--range);
    # a feature constant on the training pixels has span 1, as in scale_to_unit.
    low, high = samples[train].min(axis=0), samples[train].max(axis=0)
    write_range(paths[2], low, np.where(high > low, high, low + 1.0))
    return paths


def _main(argv):
    args = build_parser().parse_args(argv)
    from pisvm.scene import read_scene, write_scene

    attributes = {name: getattr(args, flag) for flag, name in ATTRIBUTE_FLAGS.items()
                  if getattr(args, flag) is not None}
    if not attributes:
        raise ValueError("no attribute given: pass at least one of --area, --diagonal, --inertia, --std")
    if args.out is None and args.libsvm is None:
        raise ValueError("no output given: pass --out FILE and/or --libsvm PREFIX")
    if args.split is not None and args.libsvm is None:
        raise ValueError("--split is only used with --libsvm PREFIX")
    data, labels = read_scene(args.scene)
    if args.pca > data.shape[2]:
        raise ValueError(f"--pca == {args.pca}, must be <= the scene's {data.shape[2]} bands")
    selection = None
    if args.split is not None:
        from pisvm.selection import read_selection

        selection, _ = read_selection(args.split, shape=labels.shape)
    start = time.perf_counter()
    feature_planes = _profiles.extended_profiles(data, args.pca, attributes, adjacency=args.adjacency,
                                                 filtering_rule=args.rule, spectra=args.spectra,
                                                 n_jobs=args.jobs)
    wall_s = time.perf_counter() - start
    samples = feature_planes.reshape(feature_planes.shape[0], -1).T
    description = {"n_components": args.pca, "attributes": attributes, "adjacency": args.adjacency,
                   "filtering_rule": args.rule, "spectra": bool(args.spectra)}
    written = []
    if args.out is not None:
        write_scene(args.out, np.moveaxis(feature_planes, 0, 2), labels, source=os.fspath(args.scene),
                    profile=json.dumps(description))
        written.append(args.out)
    if args.libsvm is not None:
        comment = f"pisvm-features ap {os.path.basename(args.scene)} {json.dumps(description)}"
        written += _write_libsvm(args.libsvm, samples, labels, selection, comment)
    print(f"{PROG}: {feature_planes.shape[0]} features x {samples.shape[0]} pixels in {wall_s:.2f} s "
          f"-> {', '.join(written)}")
    return 0


def main(argv=None):
    """Console entry point: one-line errors, exit status 2 on bad input."""
    return run(_main, PROG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
