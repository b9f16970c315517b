"""pisvm-features: attribute-profile features of a scene, as HDF5 and as LibSVM files for pisvm-grid.

    pisvm-features ap scene.h5 --pca 4 --area 25 100 500 1000 5000 --out features.h5
    pisvm-features ap scene.h5 --pca 4 --area 25 100 500 --std 10 20 --libsvm ap --split split.h5
    pisvm-features sdap scene.h5 --panchromatic --area 25 100 500 1000 5000 --libsvm sdap --split split.h5
    pisvm-features sdap scene.h5 --pca 4 --area 25 100 500 1000 5000 --out esdap.h5

``ap`` computes the extended (multi-)attribute profile of the first ``--pca``
principal components (attributes in the order area, diagonal, inertia, std;
per attribute: thickenings, component, thinnings), optionally followed by
the spectra.  ``sdap`` computes the self-dual attribute profile on the tree
of shapes (per attribute: the image, then one filter per threshold) of one
image: the panchromatic band (``--panchromatic``, the mean of the bands),
one band (``--band I``, 0-based) or each of the first ``--pca`` principal
components (the extended profile, ESDAP).  ``--out`` writes a scene-layout
HDF5 file (``data`` of shape (n_rows, n_cols, n_features), ``labels``).
``--libsvm PREFIX`` writes the labelled pixels: with ``--split``,
``PREFIX_train.libsvm`` (selection 2) and ``PREFIX_test.libsvm`` (selection
1), features scaled to [0, 1] with the minimum and maximum of the training
pixels only, and that scaling as the svm-scale range file
``PREFIX.range`` (``pisvm-predict --range``); without it, every labelled pixel in ``PREFIX.libsvm``, scaled
with its own minimum and maximum.
"""

import argparse
import json
import os
import time

import numpy as np

from features import profiles as _profiles
from features import trees as _trees
from pisvm.cli.common import OneLineParser, number, run_serial
from pisvm.data.atomic import atomic_paths, check_outputs

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


def _add_common_arguments(command):
    """The attribute, rule, output and split options ``ap`` and ``sdap`` share."""
    command.add_argument("scene", help="scene HDF5 file (data, labels)")
    command.add_argument("--area", nargs="+", type=_threshold, metavar="T", help="area thresholds, pixels")
    command.add_argument("--diagonal", nargs="+", type=_threshold, metavar="T",
                         help="bounding-box diagonal thresholds, pixels")
    command.add_argument("--inertia", nargs="+", type=_threshold, metavar="T", help="moment of inertia thresholds")
    command.add_argument("--std", nargs="+", type=_threshold, metavar="T",
                         help="standard deviation thresholds, in the profiled image's units")
    command.add_argument("--rule", choices=sorted(_trees.RULES), default="direct", help="filtering rule")
    command.add_argument("--spectra", action="store_true", help="append the spectral bands to the profiles")
    command.add_argument("--jobs", type=number(int, 1, False), default=None,
                         help="threads (default: min(2, cores))")
    command.add_argument("--out", metavar="FILE", help="features HDF5 file (data, labels)")
    command.add_argument("--libsvm", metavar="PREFIX", help="write LibSVM files PREFIX_train/_test.libsvm "
                                                            "(with --split) or PREFIX.libsvm")
    command.add_argument("--split", metavar="SELECTION", help="selection file (pisvm-split) for --libsvm")


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    ap = commands.add_parser("ap", help="extended attribute profiles over principal components")
    _add_common_arguments(ap)
    ap.add_argument("--pca", type=number(int, 1, False), default=4, metavar="K", help="principal components profiled")
    ap.add_argument("--adjacency", type=int, choices=_trees.ADJACENCIES, default=4, help="pixel connectivity")
    sdap = commands.add_parser("sdap", help="self-dual attribute profiles (tree of shapes) of one band or of "
                                            "principal components")
    _add_common_arguments(sdap)
    source = sdap.add_mutually_exclusive_group(required=True)
    source.add_argument("--pca", type=number(int, 1, False), metavar="K",
                        help="profile each of the first K principal components (ESDAP)")
    source.add_argument("--band", type=number(int, 0, False), metavar="I", help="profile band I (0-based)")
    source.add_argument("--panchromatic", action="store_true", help="profile the mean of the bands")
    return parser


def _libsvm_paths(prefix, split):
    """The files ``--libsvm PREFIX`` writes: train, test and range files with a split, else one file."""
    if prefix is None:
        return []
    return [f"{prefix}_train.libsvm", f"{prefix}_test.libsvm", f"{prefix}.range"] if split else [f"{prefix}.libsvm"]


def _write_libsvm(paths, samples, labels, selection, comment):
    """Write the LibSVM file(s) to ``paths`` (see :func:`_libsvm_paths`)."""
    from pisvm.data.libsvm import write_libsvm
    from pisvm.data.ranges import fit_unit_scaling, write_ranges
    from pisvm.data.selection import TEST, TRAIN

    labelled = labels != 0
    if selection is None:
        index = np.flatnonzero(labelled)
        scaled = fit_unit_scaling(samples, index).transform(np.asarray(samples[index], dtype=np.float64))
        write_libsvm(paths[0], scaled, labels.reshape(-1)[index], comment=comment)
        return
    train = np.flatnonzero(labelled & (selection == TRAIN))
    test = np.flatnonzero(labelled & (selection == TEST))
    # [0, 1] from the training pixels only; test values are not clipped (svm-scale -r).
    samples = np.asarray(samples, dtype=np.float64)
    scaler = fit_unit_scaling(samples, train)
    scaled_train, scaled_test = scaler.transform(samples[train]), scaler.transform(samples[test])
    write_libsvm(paths[0], scaled_train, labels.reshape(-1)[train], comment=comment)
    write_libsvm(paths[1], scaled_test, labels.reshape(-1)[test], comment=comment)
    # The same scaling as an svm-scale range file, for pisvm-predict on the whole scene (--range);
    # a feature constant on the training pixels has span 1, as in MinMaxScaler.
    low, high = scaler.data_min_, scaler.data_max_
    write_ranges(paths[2], 0.0, 1.0, low, np.where(high > low, high, low + 1.0))


def _self_dual_features(data, args, attributes):
    """The ``sdap`` features of a scene cube: (planes of shape (n_features, n_rows, n_cols), float64; description)."""
    description = {"attributes": attributes, "filtering_rule": args.rule, "spectra": bool(args.spectra)}
    if args.pca is not None:
        planes = _profiles.extended_self_dual_profiles(data, args.pca, attributes, filtering_rule=args.rule,
                                                       spectra=args.spectra, n_jobs=args.jobs)
        return planes, dict(description, source="pca", n_components=args.pca)
    if args.panchromatic:
        image, source = data.mean(axis=2, dtype=np.float64), {"source": "panchromatic"}
    else:
        image, source = np.ascontiguousarray(data[:, :, args.band]), {"source": "band", "band": args.band}
    planes = _profiles.self_dual_profiles(image, attributes, filtering_rule=args.rule, n_jobs=args.jobs)
    planes = _profiles.stack_spectra(planes, data) if args.spectra else planes.astype(np.float64)
    return planes, dict(description, **source)


def _main(argv):
    args = build_parser().parse_args(argv)
    from pisvm.data.scene import read_scene, write_scene

    attributes = {name: getattr(args, flag) for flag, name in ATTRIBUTE_FLAGS.items()
                  if getattr(args, flag) is not None}
    if not attributes:
        raise ValueError("no attribute given: pass at least one of --area, --diagonal, --inertia, --std")
    if args.out is None and args.libsvm is None:
        raise ValueError("no output given: pass --out FILE and/or --libsvm PREFIX")
    if args.split is not None and args.libsvm is None:
        raise ValueError("--split is only used with --libsvm PREFIX")
    libsvm_paths = _libsvm_paths(args.libsvm, args.split is not None)
    check_outputs([args.out, *libsvm_paths], [args.scene, args.split])
    data, labels = read_scene(args.scene)
    if args.libsvm is not None and not labels.any():
        raise ValueError(f"{args.scene}: no labelled pixel (every label is 0): nothing to write to --libsvm")
    if args.pca is not None and args.pca > data.shape[2]:
        raise ValueError(f"--pca == {args.pca}, must be <= the scene's {data.shape[2]} bands")
    if getattr(args, "band", None) is not None and args.band >= data.shape[2]:
        raise ValueError(f"--band == {args.band}, must be < the scene's {data.shape[2]} bands (0-based)")
    selection = None
    if args.split is not None:
        from pisvm.data.selection import read_selection

        selection, _ = read_selection(args.split, shape=labels.shape)
        if not ((selection == 2) & (labels != 0)).any():
            raise ValueError(f"{args.split}: no labelled training pixel (selection == 2) in {args.scene}: "
                             "cannot scale features")
    start = time.perf_counter()
    if args.command == "ap":
        feature_planes = _profiles.extended_profiles(data, args.pca, attributes, adjacency=args.adjacency,
                                                     filtering_rule=args.rule, spectra=args.spectra,
                                                     n_jobs=args.jobs)
        description = {"n_components": args.pca, "attributes": attributes, "adjacency": args.adjacency,
                       "filtering_rule": args.rule, "spectra": bool(args.spectra)}
    else:
        feature_planes, description = _self_dual_features(data, args, attributes)
    wall_s = time.perf_counter() - start
    samples = feature_planes.reshape(feature_planes.shape[0], -1).T
    with atomic_paths(args.out, *libsvm_paths) as (out, *libsvm_tmps):  # every file or none
        if out is not None:
            write_scene(out, np.moveaxis(feature_planes, 0, 2), labels, source=os.fspath(args.scene),
                        profile=json.dumps(description))
        if libsvm_tmps:
            comment = f"pisvm-features {args.command} {os.path.basename(args.scene)} {json.dumps(description)}"
            _write_libsvm(libsvm_tmps, samples, labels, selection, comment)
    written = ([args.out] if args.out is not None else []) + libsvm_paths
    print(f"{PROG}: {feature_planes.shape[0]} features x {samples.shape[0]} pixels in {wall_s:.2f} s "
          f"-> {', '.join(written)}")
    return 0


def main(argv=None):
    """Console entry point: one-line errors, exit status 2 on bad input."""
    return run_serial(_main, PROG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
