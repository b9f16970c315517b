"""The accuracy / minutes table and the result files of a grid run."""

import csv
import hashlib
import io
import json
import os

import numpy as np

from ..data.atomic import atomic_path, write_atomic


def best_cell(cells):
    """Pick the best cell: highest mean accuracy; ties go to smaller C, then smaller gamma."""
    return max(cells, key=lambda cell: (cell["accuracy"], -cell["C"], -cell["gamma"]))


def sha256_file(path):
    """Hex SHA-256 of a file's bytes (the data checksum recorded with results)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _number(value):
    return f"{value:g}"


TABLE_TIME = "seconds_sum"
"""The time a grid table shows per cell: CPU seconds spent on the cell (its serial cost), as minutes."""

TABLE_TIME_TEXT = {"seconds_sum": "CPU minutes spent on the cell: its solves and scoring plus its share of the "
                                  "kernel blocks and rows it shared with other cells",
                   "seconds_span": "minutes of wall clock from the cell's first unit start to its last unit's end"}
"""What the minutes of a table mean, for each time key."""


def table_rows(cells, time_key=TABLE_TIME):
    """Rows of the seeds' table: one per gamma, one column per C, "accuracy % (minutes)".

    Returns
    -------
    header : list of str
    rows : list of list of str
        The best cell is marked with ``*``.
    """
    gammas = sorted({cell["gamma"] for cell in cells})
    costs = sorted({cell["C"] for cell in cells})
    by_key = {(cell["gamma"], cell["C"]): cell for cell in cells}
    best = best_cell(cells)
    header = ["gamma \\ C"] + [_number(c) for c in costs]
    rows = []
    for gamma in gammas:
        row = [_number(gamma)]
        for C in costs:
            cell = by_key[(gamma, C)]
            mark = "*" if cell is best else " "
            row.append(f"{100 * cell['accuracy']:.2f} ({cell[time_key] / 60:.2f}){mark}")
        rows.append(row)
    return header, rows


def format_table(cells, time_key=TABLE_TIME):
    """The table as aligned text for a terminal."""
    return aligned_text(*table_rows(cells, time_key))


def aligned_text(header, rows):
    """A text table: ``header`` and ``rows`` (lists of str), each column right-aligned, two spaces apart."""
    widths = [max(len(line[i]) for line in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(text.rjust(width) for text, width in zip(line, widths)) for line in [header] + rows)


def format_markdown(cells, time_key=TABLE_TIME):
    """The table as Markdown."""
    header, rows = table_rows(cells, time_key)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def grid_csv(cells):
    """One CSV line per cell: gamma, C, accuracy, seconds and the fold accuracies."""
    n_folds = len(cells[0]["fold_accuracies"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["gamma", "C", "accuracy", "seconds_sum", "seconds_span"] + [f"fold{k}" for k in range(n_folds)])
    for cell in cells:
        writer.writerow([cell["gamma"], cell["C"], f"{cell['accuracy']:.6f}", f"{cell['seconds_sum']:.3f}",
                         f"{cell['seconds_span']:.3f}"] + [f"{a:.6f}" for a in cell["fold_accuracies"]])
    return out.getvalue()


def write_heatmap(path, cells):
    """Save the accuracy heatmap (rows gamma, columns C) as PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    gammas = sorted({cell["gamma"] for cell in cells})
    costs = sorted({cell["C"] for cell in cells})
    grid = np.array([[next(c["accuracy"] for c in cells if c["gamma"] == g and c["C"] == C) for C in costs]
                     for g in gammas]) * 100
    figure = Figure(figsize=(1.2 * len(costs) + 2.5, 0.8 * len(gammas) + 1.8))
    axes = figure.add_subplot()
    image = axes.imshow(grid, cmap="viridis", aspect="auto")
    axes.set_xticks(range(len(costs)), [_number(c) for c in costs])
    axes.set_yticks(range(len(gammas)), [_number(g) for g in gammas])
    axes.set_xlabel("C")
    axes.set_ylabel("gamma")
    axes.set_title("cross-validation accuracy (%)")
    for i in range(len(gammas)):
        for j in range(len(costs)):
            axes.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center",
                      color="white" if grid[i, j] < grid.max() - 0.5 * np.ptp(grid) else "black", fontsize=8)
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)


def write_results(out_dir, summary, metadata):
    """Write ``grid.json``, ``grid.csv``, ``table.md`` and ``heatmap.png`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
    summary : dict
        From :func:`pisvm.grid.search.grid_search`.
    metadata : dict
        Run metadata (ranks, hosts, folds, seed, checksum, versions, ...).
    """
    cells = summary["cells"]
    document = {
        "cells": [{key: cell[key] for key in ("gamma", "C", "accuracy", "fold_accuracies",
                                               "seconds_sum", "seconds_span")} for cell in cells],
        "best": {key: summary["best"][key] for key in ("gamma", "C", "accuracy", "seconds_sum", "seconds_span")},
        "test": summary["test"],
        "metadata": metadata,
        "units": [{key: record[key] for key in ("gamma", "C", "fold", "pairs", "seconds", "start", "end",
                                                "rank", "host", "chain", "chain_cost") if key in record}
                  for record in summary["records"]],
    }
    write_atomic(os.path.join(out_dir, "grid.json"), json.dumps(document, indent=1) + "\n")
    write_atomic(os.path.join(out_dir, "grid.csv"), grid_csv(cells))
    markdown = [f"# pisvm-grid: {metadata['data']}", "",
                f"Cells: cross-validation accuracy % ({TABLE_TIME_TEXT[TABLE_TIME]}); * marks the best cell.", "",
                format_markdown(cells), ""]
    if summary["test"] is not None:
        from .metrics import format_confusion, format_report

        markdown += ["```", *format_report(summary["test"], title=f"Test (gamma {summary['best']['gamma']:g}, "
                                                                 f"C {summary['best']['C']:g})"),
                     "", *format_confusion(summary["test"]), "```", ""]
    write_atomic(os.path.join(out_dir, "table.md"), "\n".join(markdown))
    write_heatmap(os.path.join(out_dir, "heatmap.png"), cells)
