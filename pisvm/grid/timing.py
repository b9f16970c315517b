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
    :func:`pisvm.grid.cells.replay_schedule` with their measured seconds.  A run of
    the pisvm solver computed chains, which share their kernel blocks over
    many cells and whose grouping depends on the number of ranks: it is
    replayed chain by chain (each chain's seconds: the sum of its records')
    through :class:`pisvm.grid.chains.ChainScheduler`, and only if its chains are
    the ones ``n_ranks`` ranks get (``pisvm-grid --chains-for N``, recorded as
    ``chain_ranks``) and it was not resumed.

    Raises
    ------
    ValueError
        For a run that cannot be replayed on ``n_ranks``, naming the run needed.

    Returns
    -------
    cells : list of dict
        The run's cells with ``seconds_span`` replaced by the predicted span.
    makespan_s : float
    efficiency : float
    """
    metadata = run["metadata"]
    if metadata.get("svm_solver", "libsvm") != "libsvm":
        timeline, seconds = _replay_chains(run, n_ranks)

        def cells_of(chain):
            return {(chain.gamma, C) for _, C, _ in chain.tasks}
    else:
        records = sorted(_cv_units(run), key=lambda unit: unit["start"])
        seconds = {_unit(record): record["seconds"] for record in records}
        timeline = replay_schedule(list(seconds), seconds.get, n_ranks)

        def cells_of(unit):
            return {(unit.gamma, unit.C)}
    cells = []
    for cell in run["cells"]:
        mine = [(start, end) for unit, start, end in timeline if (cell["gamma"], cell["C"]) in cells_of(unit)]
        cells.append(dict(cell, seconds_span=max(e for _, e in mine) - min(s for s, _ in mine)))
    makespan = max(end for _, _, end in timeline)
    return cells, makespan, sum(seconds.values()) / (n_ranks * makespan)


def _replay_chains(run, n_ranks):
    """Replay a chain run's chains on ``n_ranks`` through the chain scheduler; ValueError if they are not N ranks'.

    Returns
    -------
    timeline : list of (Chain, start_s, end_s)
    seconds : dict
        ``{chain: CPU seconds}`` (the sum of its records' seconds).
    """
    from .chains import Chain, ChainScheduler

    metadata, path = run["metadata"], run["path"]
    made_for = metadata.get("chain_ranks")
    needed = (f"to predict {n_ranks} ranks, replay a run whose chains were made for them "
              f"(pisvm-grid --solver pisvm --chains-for {n_ranks}, on any number of ranks, not resumed)")
    records = _cv_units(run)
    if made_for is None or any("chain" not in record for record in records):
        raise ValueError(f"{path}: this run's chains are not recorded (a run older than --chains-for); {needed}")
    if made_for != n_ranks or metadata.get("parts") is not None:
        made = f"for {made_for} ranks" + (f" with --parts {metadata['parts']}" if metadata.get("parts") else "")
        raise ValueError(f"{path}: its chains were made {made}, and their grouping depends on the number of "
                         f"ranks; {needed}")
    if metadata.get("resumed_units"):
        raise ValueError(f"{path}: a resumed run (its chains were made twice); {needed}")
    parts = {}
    for record in records:
        parts.setdefault(record["chain"], []).append(record)
    chains, seconds = [], {}
    for index in sorted(parts):
        mine = parts[index]
        tasks = tuple((r["fold"], r["C"], tuple(r["pairs"] or ())) for r in mine)
        chain = Chain(mine[0]["gamma"], (), tasks, mine[0]["chain_cost"], index)
        chains.append(chain)
        seconds[chain] = float(sum(r["seconds"] for r in mine))
    return replay_schedule(chains, seconds.get, n_ranks, ChainScheduler(chains)), seconds


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
