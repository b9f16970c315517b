"""pisvm-timing: serial-versus-parallel tables, speed-ups and predictions from pisvm-grid runs.

    pisvm-timing serial/grid.json parallel/grid.json
    pisvm-timing n1 n2 n4 n8 --out scaling        # speed-up/efficiency table + PNG
    pisvm-timing serial/grid.json --predict 80    # size a job before asking for the nodes
"""

import json
import os
import sys

from .common import OneLineParser, number, run_serial

PROG = "pisvm-timing"


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="grid.json files (or pisvm-grid output folders)")
    parser.add_argument("--predict", type=number(int, 0), nargs="+", metavar="N",
                        help="replay the first run's unit times through the scheduler on N ranks (a --solver "
                             "pisvm run: its chains, if made for N ranks with pisvm-grid --chains-for N)")
    parser.add_argument("--out", metavar="DIR", help="write timing.json, scaling.csv and scaling.png here")
    return parser


def _main(argv):
    from ..data.atomic import atomic_paths, check_outputs
    from ..grid.timing import (
        check_agreement,
        grid_span_s,
        load_run,
        plot_scaling,
        predict,
        scaling,
        side_by_side,
        speedup_rows,
    )
    from ..results.report import format_table

    args = build_parser().parse_args(argv)
    runs = [load_run(path) for path in args.runs]
    check_agreement(runs)
    outputs = [None, None, None]
    if args.out:  # checked before anything is printed
        if not os.path.isdir(args.out):
            try:
                os.makedirs(args.out)
            except OSError as error:
                raise ValueError(f"--out {args.out}: cannot make the folder ({error.strerror or error})") from None
        outputs = [os.path.join(args.out, "timing.json")] + [
            os.path.join(args.out, name) if len(runs) > 1 else None for name in ("scaling.csv", "scaling.png")]
        check_outputs(outputs, [run["path"] for run in runs])
    runs.sort(key=lambda r: r["metadata"]["ranks"])
    predictions = [(n_ranks, *predict(runs[0], n_ranks)) for n_ranks in args.predict or []]  # refusals first
    document = {"runs": []}
    for left, right in zip(runs[::2], runs[1::2] + [None]):
        def title(r):
            return f"{r['metadata']['ranks']} rank(s): {r['path']}\naccuracy % (wall minutes of the cell's units)\n"
        block = title(left) + format_table(left["cells"], "seconds_span")
        if right is not None:
            block = side_by_side(block, title(right) + format_table(right["cells"], "seconds_span"))
        print(block + "\n")
    for r in runs:
        best = r["best"]
        print(f"{r['metadata']['ranks']:>4} rank(s): whole grid {grid_span_s(r) / 60:8.2f} min, best cell "
              f"(gamma {best['gamma']:g}, C {best['C']:g}, {100 * best['accuracy']:.2f} %) "
              f"{best['seconds_span'] / 60:.2f} min")
    if len(runs) > 1:
        print("\naccuracies agree in every cell and fold")
        for r in runs[1:]:
            print(f"\nper-cell speed-up, {runs[0]['metadata']['ranks']} -> {r['metadata']['ranks']} ranks "
                  f"(cell wall-clock spans):\n" + speedup_rows(runs[0], r))
        rows = scaling(runs)
        print("\n ranks   grid min   speed-up   efficiency   best cell min")
        for row in rows:
            print(f"{row['ranks']:>6} {row['wall_s'] / 60:10.2f} {row['speedup']:9.2f}x "
                  f"{100 * row['efficiency']:10.1f} %"
                  f" {row['best_cell_s'] / 60:14.2f}")
        document["scaling"] = rows
    for n_ranks, cells, makespan, efficiency in predictions:
        print(f"\npredicted on {n_ranks} ranks from {runs[0]['path']} (replaying measured unit or chain times): "
              f"whole grid {makespan / 60:.2f} min, efficiency {100 * efficiency:.1f} %\n"
              + format_table(cells, "seconds_span"))
        document.setdefault("predictions", []).append({"ranks": n_ranks, "makespan_s": makespan,
                                                        "efficiency": efficiency, "cells": cells})
    if args.out:
        document["runs"] = [{"path": r["path"], "ranks": r["metadata"]["ranks"], "grid_s": grid_span_s(r),
                             "best": r["best"]} for r in runs]
        with atomic_paths(*outputs) as (timing_json, scaling_csv, scaling_png):  # every file or none
            with open(timing_json, "w", encoding="utf-8") as stream:
                stream.write(json.dumps(document, indent=1) + "\n")
            if scaling_csv:
                lines = ["ranks,grid_s,speedup,efficiency,best_cell_s"] + [
                    f"{r['ranks']},{r['wall_s']:.3f},{r['speedup']:.4f},{r['efficiency']:.4f},{r['best_cell_s']:.3f}"
                    for r in document["scaling"]]
                with open(scaling_csv, "w", encoding="utf-8") as stream:
                    stream.write("\n".join(lines) + "\n")
                plot_scaling(scaling_png, document["scaling"])
        print(f"{PROG}: wrote {args.out}/", file=sys.stderr)
    return 0


def main(argv=None):
    run_serial(_main, PROG, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
