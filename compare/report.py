"""The comparison report: per split and method, the mean and spread over seeds, maps side by side."""

import dataclasses
import json
import os

import numpy as np

from pisvm.data.atomic import atomic_path, write_atomic

METRICS = ("overall_accuracy", "average_accuracy", "kappa")


def summarize(splits, methods):
    """Mean and spread (population std) of OA, AA and kappa over the seeds of each (mode, fraction).

    Returns
    -------
    list of dict
        ``mode``, ``fraction``, ``method``, ``n_splits``, ``<metric>_mean``, ``<metric>_std``
        and the mean ``model_selection_s`` (None for a method without a grid
        search, the CNN), ``train_s`` and ``predict_s``.
    """
    groups = {}
    for split in splits:
        params = split["params"]
        key = (params.get("mode", "given"), params.get("training_fraction"))
        groups.setdefault(key, []).append(split)
    rows = []
    for (mode, fraction), members in groups.items():
        for method in methods:
            results = [s["methods"][method] for s in members]
            row = {"mode": mode, "fraction": fraction, "method": method, "n_splits": len(results)}
            for metric in METRICS:
                values = np.array([r["test"][metric] for r in results])
                row[f"{metric}_mean"], row[f"{metric}_std"] = float(values.mean()), float(values.std())
            for key in ("train_s", "predict_s"):
                row[key] = float(np.mean([r[key] for r in results]))
            selection_s = [r["model_selection_s"] for r in results if "model_selection_s" in r]
            row["model_selection_s"] = float(np.mean(selection_s)) if selection_s else None
            rows.append(row)
    return rows


def _fraction(value):
    return "-" if value is None else f"{value:g}"


def _seconds(value):
    return "-" if value is None else f"{value:.2f}"


def markdown(document):
    """The report as Markdown text."""
    methods = document["methods"]
    lines = [f"# pisvm-compare: {document['scene']}", "",
             "Every method saw the same training pixels and was scored on the same test pixels of each split "
             "(checked through the pixel-index checksums in report.json). The SVMs pick (gamma, C) by "
             f"{document['options']['folds']}-fold cross-validation on the training pixels; the CNN picks its "
             "checkpoint on validation pixels cut from the training pixels, never on the test set.", "",
             "## Mean and spread over seeds", "",
             "| mode | fraction | method | splits | OA % | AA % | kappa | model selection s | train s | predict s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in document["summary"]:
        lines.append(f"| {row['mode']} | {_fraction(row['fraction'])} | {row['method']} | {row['n_splits']} | "
                     f"{100 * row['overall_accuracy_mean']:.2f} ± {100 * row['overall_accuracy_std']:.2f} | "
                     f"{100 * row['average_accuracy_mean']:.2f} ± {100 * row['average_accuracy_std']:.2f} | "
                     f"{row['kappa_mean']:.4f} ± {row['kappa_std']:.4f} | "
                     f"{_seconds(row.get('model_selection_s'))} | {row['train_s']:.2f} | {row['predict_s']:.2f} |")
    modes = sorted({(row["mode"], row["fraction"]) for row in document["summary"]}, key=str)
    lines += ["", "## Overall accuracy (%) by sampling mode", "",
              "| method | " + " | ".join(f"{mode} {_fraction(fraction)}" for mode, fraction in modes) + " |",
              "|---|" + "---|" * len(modes)]
    by_key = {(r["method"], r["mode"], r["fraction"]): r for r in document["summary"]}
    for method in methods:
        lines.append(f"| {method} | " + " | ".join(
            f"{100 * by_key[(method, mode, fraction)]['overall_accuracy_mean']:.2f}" for mode, fraction in modes)
            + " |")
    for split in document["splits"]:
        lines += ["", f"## Split {split['split']}", "",
                  "Parameters: " + ", ".join(f"{k} {v}" for k, v in sorted(split["params"].items())), "",
                  "| method | OA % | AA % | kappa | best parameters | model selection s | train s | predict s | "
                  "train px | test px |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for method in methods:
            result = split["methods"][method]
            test = result["test"]
            params = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in result["best_params"].items() if k != "checkpoint")
            lines.append(f"| {method} | {100 * test['overall_accuracy']:.2f} | {100 * test['average_accuracy']:.2f} | "
                         f"{test['kappa']:.4f} | {params} | {_seconds(result.get('model_selection_s'))} | "
                         f"{result['train_s']:.2f} | {result['predict_s']:.2f} | "
                         f"{result['n_train']} | {result['n_test']} |")
        labels = split["methods"][methods[0]]["test"]["labels"]
        lines += ["", "Per-class accuracy (%):", "",
                  "| class | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for i, label in enumerate(labels):
            cells = []
            for method in methods:
                value = split["methods"][method]["test"]["per_class_accuracy"][i]
                cells.append("-" if value is None else f"{100 * value:.2f}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        warned = [(method, message) for method in methods
                  for message in split["methods"][method].get("training_warnings", [])]
        if warned:
            lines += ["", ("**Training warnings** (a class the network stopped predicting, or a loss that did "
                           "not move: its accuracy above is not the method's best):"), ""]
            lines += [f"- {method}: {message}" for method, message in warned]
        lines += ["", f"![maps](maps-{split['split']}.png)"]
    return "\n".join(lines) + "\n"


def write_maps(path, labels, selection, maps, methods, title):
    """Ground truth, the split and every method's classification map side by side, with a class legend (PNG).

    Classes have the colours of every other plot of the suite (:mod:`pisvm.results.maps`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pisvm.results.maps import SELECTION_TITLE, add_class_legend, draw_labels, draw_selection

    classes = np.unique(labels[labels > 0])
    panels = [("ground truth", labels), (SELECTION_TITLE, selection)] + [(method, maps[method]) for method in methods]
    legend_rows = -(-len(classes) // 12)
    figure = Figure(figsize=(3.2 * len(panels), 3.9 + 0.25 * legend_rows), layout="constrained")
    FigureCanvasAgg(figure)
    for axes, (name, image) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
        if name == SELECTION_TITLE:
            draw_selection(axes, image)
        else:
            draw_labels(axes, image, classes)
        axes.set_title(name, fontsize=9)
    add_class_legend(figure, classes)
    figure.suptitle(title, fontsize=10)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)


def write_report(out_dir, scene_path, labels, splits, methods, options):
    """Write ``report.json``, ``report.md`` and ``maps-<split>.png``; return the report dict."""
    document = {
        "scene": scene_path,
        "methods": list(methods),
        "options": dataclasses.asdict(options),
        "splits": [{"split": s["split"], "params": s["params"],
                    "methods": {m: {k: v for k, v in r.items() if k != "cached"} for m, r in s["methods"].items()}}
                   for s in splits],
        "summary": summarize(splits, methods),
    }
    for split in splits:
        write_maps(os.path.join(out_dir, f"maps-{split['split']}.png"), labels, split["selection"], split["maps"],
                   methods, f"{split['split']}")
    write_atomic(os.path.join(out_dir, "report.json"), json.dumps(document, indent=1) + "\n")
    write_atomic(os.path.join(out_dir, "report.md"), markdown(document))
    return document
