"""Colours and legends of label maps, shared by every plot of the suite.

The split plots of ``pisvm-split``, the classification maps of ``pisvm-cnn``
and the side-by-side maps of ``pisvm-compare`` draw a class in the same
colour: label ``L`` gets entry ``(L - 1) % 60`` of one 60-colour table
(matplotlib's ``tab10`` hues, then their light variants from ``tab20``, then
``tab20b`` and ``tab20c``), whatever other classes the scene has, so that
neighbouring labels get different hues; unlabelled (0) and removed pixels are
white.  Train/test masks are drawn in one way too (white removed, light grey
test, black train), in colours that no class uses.  Matplotlib is imported
inside the functions only.
"""

import numpy as np

from ..data.selection import REMOVED, TEST, TRAIN

WHITE = (1.0, 1.0, 1.0, 1.0)
SELECTION_COLOURS = {REMOVED: "white", TEST: "0.8", TRAIN: "black"}
SELECTION_TITLE = "split (black: train, grey: test)"


def class_colours(classes):
    """RGBA colour of each class label.

    Parameters
    ----------
    classes : array_like of int, shape (n_classes,)
        Labels (>= 1).

    Returns
    -------
    ndarray of shape (n_classes, 4), float64 in [0, 1]
    """
    import matplotlib

    tab20 = np.asarray(matplotlib.colormaps["tab20"].colors)
    table = np.vstack([tab20[0::2], tab20[1::2]] + [matplotlib.colormaps[name].colors for name in ("tab20b", "tab20c")])
    table = np.hstack([table, np.ones((len(table), 1))])
    return table[(np.asarray(classes, dtype=np.int64) - 1) % len(table)]


def draw_labels(axes, label_map, classes):
    """Show a label map on ``axes``: each of ``classes`` in its colour, everything else white.

    Parameters
    ----------
    axes : matplotlib.axes.Axes
    label_map : ndarray of shape (n_rows, n_cols), integer
    classes : array_like of int, shape (n_classes,)
        Sorted labels to colour (the scene's classes).

    Returns
    -------
    matplotlib.image.AxesImage
    """
    from matplotlib.colors import ListedColormap

    classes = np.asarray(classes, dtype=np.int64)
    label_map = np.asarray(label_map)
    index = np.where(np.isin(label_map, classes), np.searchsorted(classes, label_map) + 1, 0)
    palette = ListedColormap(np.vstack([WHITE, class_colours(classes)]))
    image = axes.imshow(index, cmap=palette, vmin=-0.5, vmax=len(classes) + 0.5, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    return image


def draw_selection(axes, selection):
    """Show a train/test mask on ``axes`` (:data:`SELECTION_TITLE`).

    White: removed or unlabelled; grey: test; black: train.
    """
    from matplotlib.colors import ListedColormap

    palette = ListedColormap([SELECTION_COLOURS[value] for value in (REMOVED, TEST, TRAIN)])
    image = axes.imshow(selection, cmap=palette, vmin=-0.5, vmax=2.5, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    return image


def add_class_legend(figure, classes, title="class"):
    """Put a legend of the class colours below the figure's panels (one patch per label).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        Made with ``layout='constrained'`` so that the legend gets its own room.
    classes : array_like of int, shape (n_classes,)
    title : str, default 'class'

    Returns
    -------
    matplotlib.legend.Legend
    """
    from matplotlib.patches import Patch

    classes = np.asarray(classes, dtype=np.int64)
    handles = [Patch(facecolor=colour, edgecolor="0.4", label=str(label))
               for label, colour in zip(classes, class_colours(classes))]
    return figure.legend(handles=handles, title=title, loc="outside lower center", ncols=min(len(classes), 12),
                         fontsize="small", title_fontsize="small", frameon=False)


def plot_classification_map(path, label_map, labels=None, title="classification map"):
    """Write the label map (and the ground truth, if given) as a PNG with a class legend.

    0 (unlabelled/not predicted) is white; classes have the colours of every
    other plot of the suite (:mod:`pisvm.results.maps`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [("prediction", label_map)] + ([("ground truth", labels)] if labels is not None else [])
    classes = np.unique(np.concatenate([np.asarray(image).reshape(-1) for _, image in panels]))
    classes = classes[classes > 0]
    n_rows, n_cols = label_map.shape
    figure = Figure(figsize=(min(16.0, max(5.0, 4.5 * len(panels) * n_cols / max(n_rows, 1))),
                             5.0 + 0.25 * -(-len(classes) // 12)), layout="constrained")
    FigureCanvasAgg(figure)
    for axis, (name, image) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
        draw_labels(axis, image, classes)
        axis.set_title(name)
    if len(classes):
        add_class_legend(figure, classes)
    figure.suptitle(title)
    figure.savefig(path, dpi=100)
