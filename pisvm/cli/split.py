"""pisvm-split: train/test selection files of a scene, by random or cluster sampling.

    pisvm-split indian.h5 --sampling random --fraction 0.1 --seed 0 --out split.h5
    pisvm-split indian.h5 --sampling random size stddev --fraction 0.1 0.3 0.6 0.9 --seed 0 1 2 --out splits/

One selection file per (mode, fraction, seed) in the reference layout
(``selection`` 0 removed / 1 test / 2 train, ``mean`` and ``stddev`` of the
training pixels, the split parameters as datasets), and a PNG plot of the
split next to each file.  Cluster modes are deterministic, so they ignore
``--seed`` and write one file per fraction.
"""

import os
from pathlib import Path

import numpy as np

from ..data.atomic import atomic_path, atomic_paths, check_outputs
from .common import OneLineParser, add_sampling_options, number, run_serial

PROG = "pisvm-split"


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("scene", help="scene HDF5 file (data, labels)")
    add_sampling_options(parser, old={"--sampling": "--mode"})
    parser.add_argument("--remove-labels", nargs="*", type=int, default=[], metavar="LABEL",
                        help="classes left out of both sets")
    parser.add_argument("--epsilon", type=number(float, 0), default=1.5, help="DBSCAN radius, pixels")
    parser.add_argument("--min-points", type=number(int, 1, False), default=9, help="DBSCAN min_samples")
    parser.add_argument("--out", required=True,
                        help="selection file (.h5) for one split, or a directory for several")
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    return parser


def _jobs(args):
    """(mode, fraction, seed or None) for every file to write."""
    jobs = []
    for mode in dict.fromkeys(args.sampling):
        for fraction in dict.fromkeys(args.fraction):
            seeds = dict.fromkeys(args.seed) if mode == "random" else [None]
            jobs.extend((mode, fraction, seed) for seed in seeds)
    return jobs


def _path(args, mode, fraction, seed, several):
    out = Path(args.out)
    if not several and out.suffix in (".h5", ".hdf5"):
        return out
    stem = Path(args.scene).stem
    name = f"{stem}_{mode}_f{fraction:g}" + (f"_s{seed}" if seed is not None else "") + ".h5"
    return out / name


def plot_selection(path, labels, selection, title):
    """Write a PNG of the labels and the selection side by side, with a class legend (no pyplot, no global state).

    Classes have the colours of every other plot of the suite (:mod:`pisvm.results.maps`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..results.maps import SELECTION_TITLE, add_class_legend, draw_labels, draw_selection

    n_rows, n_cols = labels.shape
    classes = np.unique(labels[labels > 0])
    width_in = min(16.0, max(6.0, 2 * 4.0 * n_cols / max(n_rows, 1)))
    figure = Figure(figsize=(width_in, 4.5 + 0.25 * -(-len(classes) // 12)), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    draw_labels(left, labels, classes)
    left.set_title("labels (white: unlabelled or removed)")
    draw_selection(right, selection)
    right.set_title(SELECTION_TITLE)
    add_class_legend(figure, classes)
    figure.suptitle(title)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)


def _main(argv):
    from ..data.sampling import make_selection, selection_counts, training_statistics
    from ..data.scene import read_scene
    from ..data.selection import write_selection

    args = build_parser().parse_args(argv)
    jobs = _jobs(args)
    several = len(jobs) > 1
    out = Path(args.out)
    if several and out.suffix in (".h5", ".hdf5"):
        raise ValueError(f"--out {args.out} is one file but {len(jobs)} splits were asked: give a directory")
    data, labels = read_scene(args.scene)
    present = set(np.unique(labels[labels > 0]).tolist())
    unknown = sorted(set(args.remove_labels) - present)
    if unknown:
        raise ValueError(f"--remove-labels {unknown[0]} is not a label of {args.scene} (labels {sorted(present)})")
    if not present - set(args.remove_labels):
        raise ValueError(f"{args.scene}: no labelled pixel is left after removing {args.remove_labels}")
    if several or out.suffix not in (".h5", ".hdf5"):
        os.makedirs(out, exist_ok=True)
    elif out.parent != Path(""):
        os.makedirs(out.parent, exist_ok=True)
    paths = [_path(args, mode, fraction, seed, several) for mode, fraction, seed in jobs]
    plots = [None if args.no_plot else path.with_suffix(".png") for path in paths]
    check_outputs(paths + plots, [args.scene])
    lines = []
    with atomic_paths(*paths, *plots) as tmps:  # every split or none
        for (mode, fraction, seed), path, tmp, plot in zip(jobs, paths, tmps, tmps[len(paths):]):
            selection, attrs = make_selection(labels, mode, fraction, data=data, random_state=seed,
                                              epsilon=args.epsilon, min_points=args.min_points,
                                              remove_labels=args.remove_labels)
            mean, stddev = training_statistics(data, selection)
            write_selection(tmp, selection, mean, stddev, scene=os.fspath(args.scene), **attrs)
            counts = selection_counts(labels, selection)
            n_train = sum(train for train, _ in counts.values())
            n_test = sum(test for _, test in counts.values())
            if plot is not None:
                setting = f"seed {seed}" if seed is not None else f"eps {args.epsilon:g}, min points {args.min_points}"
                plot_selection(plot, np.where(selection > 0, labels, 0), selection,
                               f"{Path(args.scene).name}: {mode}, fraction {fraction:g}, {setting}")
            lines.append(f"{path}: {mode} fraction {fraction:g}"
                         + (f" seed {seed}" if seed is not None else
                            f" epsilon {args.epsilon:g} min_points {args.min_points}")
                         + f": {n_train} train, {n_test} test pixels, {len(counts)} classes "
                           f"(train share {n_train / max(n_train + n_test, 1):.3f})")
    print("\n".join(lines))
    return 0


def main(argv=None):
    run_serial(_main, PROG, argv)


if __name__ == "__main__":
    main()
