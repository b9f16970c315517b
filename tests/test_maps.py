"""One colour per class in every plot (pisvm.results.maps): split PNGs, classification maps, comparison maps."""

import numpy as np
from matplotlib.figure import Figure

from compare.report import write_maps
from pisvm.cli.split import plot_selection
from pisvm.results.maps import add_class_legend, class_colours


def _colours_in(path):
    from matplotlib.image import imread

    image = imread(path)[..., :3]
    return {tuple(pixel) for pixel in np.round(image.reshape(-1, 3) * 255).astype(int)}


def _rgb(label):
    return tuple(np.round(class_colours([label])[0, :3] * 255).astype(int))


def test_a_label_has_one_colour_whatever_the_other_classes():
    np.testing.assert_array_equal(class_colours([1, 10, 14])[1:], class_colours([10, 14]))
    assert len({tuple(colour) for colour in class_colours(np.arange(1, 61))}) == 60  # the seeds' 58 classes fit


def test_split_plot_and_comparison_maps_draw_each_class_in_the_same_colour(tmp_path):
    labels = np.zeros((30, 40), dtype=np.int64)
    labels[2:12, 2:18], labels[15:28, 5:20], labels[5:25, 25:38] = 3, 7, 12
    selection = np.where(labels > 0, 1, 0).astype(np.int8)
    selection[2:6, 2:18] = selection[15:18, 5:20] = selection[5:9, 25:38] = 2
    wrong = labels.copy()
    wrong[labels == 7] = 3  # a method that calls class 7 class 3
    plot_selection(tmp_path / "split.png", labels, selection, "split")
    write_maps(tmp_path / "maps.png", labels, selection, {"svm": labels, "cnn": wrong}, ["svm", "cnn"], "maps")
    for name in ("split.png", "maps.png"):
        colours = _colours_in(tmp_path / name)
        for label in (3, 7, 12):
            assert _rgb(label) in colours, (name, label)


def test_class_legend_lists_every_class_in_its_colour():
    figure = Figure(layout="constrained")
    figure.subplots()
    legend = add_class_legend(figure, [1, 10, 14])
    assert [text.get_text() for text in legend.get_texts()] == ["1", "10", "14"]
    np.testing.assert_allclose([patch.get_facecolor() for patch in legend.get_patches()],
                               class_colours([1, 10, 14]))
