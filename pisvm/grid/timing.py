"""Serial-versus-parallel timing tables from ``grid.json`` files (the seeds' HPC tables)."""

import json
import os

import numpy as np

from ..data.atomic import atomic_path
from ..results.report import aligned_text, format_table
from .cells import Unit, replay_schedule

AGREEMENT_KEYS = ("data_sha256", "test_sha256", "folds", "seed", "svm_solver", "backend", "solver")


def load_run(path):
    """Read a ``grid.json`` (or the folder holding one); ValueError if it is not a pisvm-grid result."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if not os.path.exists(os.path.join(path, "grid.json")):
            raise ValueError(f"{path}: no grid.json in this folder (not a pisvm-grid output folder)")
        path = os.path.join(path, "grid.json")
    try:
        with open(path, encoding="utf-8") as stream:
            run = json.load(stream)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a pisvm-grid grid.json (binary data at byte {error.start}, not text)") \
            from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(run, dict) or not {"cells", "metadata", "units"} <= set(run):
        raise ValueError(f"{path}: not a pisvm-grid grid.json (no cells/metadata/units)")
    run["path"] = path
    return run


def check_agreement(runs):
    """Raise ValueError if the runs are not the same grid on the same data with the same accuracies.

    Folds depend only on (labels, folds, seed), so every cell's fold
    accuracies must be equal whatever the number of ranks.
    """
    first = runs[0]
    cells = {(c["gamma"], c["C"]): c for c in first["cells"]}
    for run in runs[1:]:
        for key in AGREEMENT_KEYS:
            if run["metadata"].get(key) != first["metadata"].get(key):
                raise ValueError(f"{run['path']}: {key} differs from {first['path']} "
                                 f"({run['metadata'].get(key)!r} != {first['metadata'].get(key)!r})")
        other = {(c["gamma"], c["C"]): c for c in run["cells"]}
        if set(other) != set(cells):
            raise ValueError(f"{run['path']}: grid differs from {first['path']}")
        for key, cell in cells.items():
            if other[key]["fold_accuracies"] != cell["fold_accuracies"]:
                raise ValueError(f"accuracies disagree at gamma {key[0]:g}, C {key[1]:g}: "
                                 f"{100 * cell['accuracy']:.4f} % in {first['path']} but "
                                 f"{100 * other[key]['accuracy']:.4f} % in {run['path']}")


def _cv_units(run):
    return [unit for unit in run["units"] if unit["fold"] >= 0]


def grid_span_s(run):
    """Wall seconds of the cross-validation grid: first unit's start to last unit's end."""
    units = _cv_units(run)
    return max(u["end"] for u in units) - min(u["start"] for u in units)


def side_by_side(left, right, gap=4):
    """Join two text blocks column-wise."""
    left_lines, right_lines = left.splitlines(), right.splitlines()
    width = max(len(line) for line in left_lines)
    rows = max(len(left_lines), len(right_lines))
    left_lines += [""] * (rows - len(left_lines))
    right_lines += [""] * (rows - len(right_lines))
    return "\n".join(a.ljust(width + gap) + b for a, b in zip(left_lines, right_lines))


def speedup_rows(reference, run):
    """Per-cell speed-ups ``span_reference / span_run``, rows gamma, columns C (text table)."""
    ref = {(c["gamma"], c["C"]): c for c in reference["cells"]}
    gammas = sorted({g for g, _ in ref})
    costs = sorted({c for _, c in ref})
    cells = {(c["gamma"], c["C"]): c for c in run["cells"]}
    header = ["gamma \\ C"] + [f"{c:g}" for c in costs]
    rows = [[f"{g:g}"] + [f"{ref[(g, c)]['seconds_span'] / max(cells[(g, c)]['seconds_span'], 1e-9):.2f}x"
                          for c in costs] for g in gammas]
    return aligned_text(header, rows)


def scaling(runs):
    """Speed-up and efficiency of each run against the run with the fewest ranks.

    Returns
    -------
    list of dict
        ``ranks``, ``wall_s`` (grid span: first unit start to last unit end),
        ``speedup``, ``efficiency`` (speed-up / rank ratio), ``best_cell_s``.
    """
    reference = min(runs, key=lambda run: run["metadata"]["ranks"])
    base_s, base_ranks = grid_span_s(reference), reference["metadata"]["ranks"]
    rows = []
    for run in sorted(runs, key=lambda run: run["metadata"]["ranks"]):
        ranks = run["metadata"]["ranks"]
        wall = grid_span_s(run)
        best = run["best"]
        rows.append({"ranks": ranks, "wall_s": wall, "speedup": base_s / wall,
                     "efficiency": base_s / wall / (ranks / base_ranks), "best_cell_s": best["seconds_span"],
                     "path": run["path"]})
    return rows


def predict(run, n_ranks):
    """The table and grid time the engine's scheduler would reach on ``n_ranks``, from measured unit times.

    The run's cross-validation units are replayed through
    :func:`pisvm.grid.cells.replay_schedule` with their measured seconds.  Only
    runs of independent units (``--solver libsvm``) can be replayed: a chain
    of the pisvm solver shares its kernel blocks over many cells, and its
    grouping depends on the number of ranks.

    Raises
    ------
    ValueError
        For a run of the pisvm solver, naming the run needed.

    Returns
    -------
    cells : list of dict
        The run's cells with ``seconds_span`` replaced by the predicted span.
    makespan_s : float
    efficiency : float
    """
    if run["metadata"].get("svm_solver", "libsvm") != "libsvm":
        raise ValueError(f"{run['path']}: --predict replays independent units, and this run computed chains "
                         f"(--solver {run['metadata']['svm_solver']}) whose grouping depends on the number of ranks; "
                         "replay a --solver libsvm run, or measure the run on N ranks")
    records = sorted(_cv_units(run), key=lambda unit: unit["start"])
    seconds = {_unit(record): record["seconds"] for record in records}
    timeline = replay_schedule(list(seconds), seconds.get, n_ranks)
    cells = []
    for cell in run["cells"]:
        mine = [(start, end) for unit, start, end in timeline if (unit.gamma, unit.C) == (cell["gamma"], cell["C"])]
        cells.append(dict(cell, seconds_span=max(e for _, e in mine) - min(s for s, _ in mine)))
    makespan = max(end for _, _, end in timeline)
    return cells, makespan, sum(seconds.values()) / (n_ranks * makespan)


def _unit(record):
    return Unit(record["gamma"], record["C"], record["fold"],
                None if record["pairs"] is None else tuple(record["pairs"]))


def plot_scaling(path, rows):
    """Save speed-up and efficiency against ranks as PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    ranks = [row["ranks"] for row in rows]
    figure = Figure(figsize=(9, 3.8))
    left, right = figure.subplots(1, 2)
    left.plot(ranks, [row["speedup"] for row in rows], "o-", label="measured")
    left.plot(ranks, np.array(ranks) / ranks[0], "--", color="grey", label="ideal")
    left.set_xlabel("MPI ranks")
    left.set_ylabel("speed-up")
    left.legend()
    right.plot(ranks, [100 * row["efficiency"] for row in rows], "o-")
    right.set_ylim(0, 105)
    right.set_xlabel("MPI ranks")
    right.set_ylabel("parallel efficiency (%)")
    for axes in (left, right):
        axes.set_xscale("log", base=2)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)


__all__ = ["load_run", "check_agreement", "scaling", "predict", "plot_scaling", "format_table", "side_by_side",
           "speedup_rows", "grid_span_s"]
