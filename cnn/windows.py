"""Spatial windows cut on the fly from the padded, normalised cube.

The cube is padded once by replicating its edge pixels (``mode='edge'``, as
in the reference code) and normalised with the training pixels' statistics.
:func:`window_view` returns a read-only ``as_strided`` view with one window
per pixel, so no window is ever copied until a batch is gathered from it:
the full Indian Pines scene has about 300k test windows, 21 GB if stored.
"""

import math

import keras
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .checks import check_window  # noqa: F401 (re-exported)


def normalised_padded_cube(data, mean, stddev, window_px):
    """Normalise the cube with the training statistics and pad it by half a window.

    Parameters
    ----------
    data : ndarray of shape (n_rows, n_cols, n_bands)
    mean, stddev : ndarray of shape (n_bands,)
        Statistics of the training pixels; zero entries of ``stddev`` count as 1.
    window_px : int
        Odd window side in pixels.

    Returns
    -------
    padded : ndarray of shape (n_rows + window_px - 1, n_cols + window_px - 1, n_bands), dtype float32
        C-contiguous; borders replicate the edge pixels.
    """
    half = window_px // 2
    stddev = np.where(np.asarray(stddev) == 0, 1.0, stddev)
    normalised = ((data - np.asarray(mean, dtype=np.float64)) / stddev).astype(np.float32)
    return np.ascontiguousarray(np.pad(normalised, ((half, half), (half, half), (0, 0)), mode="edge"))


def window_view(padded, window_px):
    """Return every pixel's window as a read-only strided view (no copy).

    Parameters
    ----------
    padded : ndarray of shape (n_rows + window_px - 1, n_cols + window_px - 1, n_bands)
        From :func:`normalised_padded_cube`.
    window_px : int

    Returns
    -------
    windows : ndarray of shape (n_rows, n_cols, window_px, window_px, n_bands)
        ``windows[r, c]`` is the window centred on pixel (r, c) of the
        unpadded scene, i.e. ``padded[r:r + window_px, c:c + window_px]``.
    """
    n_rows = padded.shape[0] - window_px + 1
    n_cols = padded.shape[1] - window_px + 1
    row_stride, col_stride, band_stride = padded.strides
    return as_strided(padded, shape=(n_rows, n_cols, window_px, window_px, padded.shape[2]),
                      strides=(row_stride, col_stride, row_stride, col_stride, band_stride), writeable=False)


class WindowSequence(keras.utils.PyDataset):
    """Batches of windows (and one-hot targets) gathered from a strided window view.

    One epoch visits every given pixel exactly once: ``len(self)`` is
    ``ceil(n_pixels / batch_size)`` and the last batch holds the remainder
    (the reference generator stopped one batch early).

    Parameters
    ----------
    windows : ndarray of shape (n_rows, n_cols, window_px, window_px, n_bands)
        From :func:`window_view`.
    rows, cols : ndarray of shape (n_pixels,), integer
        Pixel coordinates.
    targets : ndarray of shape (n_pixels,), integer, optional
        Class indices in ``[0, class_count)``; without them batches hold the windows only.
    class_count : int, optional
        Width of the one-hot targets; required with ``targets``.
    batch_size : int, default 50
    shuffle : bool, default False
        Draw a new pixel order at every epoch, from ``(seed, epoch)`` (so a
        resumed run shuffles as an uninterrupted one would).
    seed : int, default 0
    start_epoch : int, default 0
        Epoch number of the first epoch (resume).
    **kwargs
        Passed to ``keras.utils.PyDataset`` (``workers``, ``use_multiprocessing``).

    Yields
    ------
    x : ndarray of shape (batch, window_px, window_px, n_bands, 1), dtype float32
    y : ndarray of shape (batch, class_count), dtype float32 (with ``targets``)
    """

    def __init__(self, windows, rows, cols, targets=None, class_count=None, batch_size=50, shuffle=False, seed=0,
                 start_epoch=0, **kwargs):
        super().__init__(**kwargs)
        self.windows = windows
        self.rows = np.asarray(rows, dtype=np.intp)
        self.cols = np.asarray(cols, dtype=np.intp)
        self.targets = None if targets is None else np.asarray(targets, dtype=np.intp)
        if self.targets is not None and class_count is None:
            raise ValueError("class_count is required with targets")
        self.class_count = class_count
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = start_epoch
        self._order = self._make_order()

    def _make_order(self):
        if not self.shuffle:
            return np.arange(len(self.rows))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.rows))

    def __len__(self):
        return math.ceil(len(self.rows) / self.batch_size)

    def batch_pixels(self, index):
        """Positions (into ``rows``/``cols``) of the pixels of batch ``index`` in the current epoch."""
        return self._order[index * self.batch_size:(index + 1) * self.batch_size]

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range(0, {len(self)})")
        chosen = self.batch_pixels(index)
        x = self.windows[self.rows[chosen], self.cols[chosen]][..., np.newaxis]
        if self.targets is None:
            return (x,)
        y = np.zeros((len(chosen), self.class_count), dtype=np.float32)
        y[np.arange(len(chosen)), self.targets[chosen]] = 1.0
        return x, y

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._make_order()


def window_dataset(padded, window_px, rows, cols, targets=None, class_count=None, batch_size=50, shuffle=False,
                   seed=0):
    """A ``tf.data`` pipeline of the same batches as :class:`WindowSequence`, gathered by TensorFlow.

    The padded cube is held once as a tensor; each batch's windows are cut
    with one ``tf.gather_nd`` from a (batch, window_px, window_px, 2) index
    grid, in parallel with training and prefetched.  No Python runs per
    batch, which matters on a GPU.  Shuffling uses ``seed`` and reshuffles
    every epoch, but a resumed run does not repeat the orders of an
    uninterrupted one (use :class:`WindowSequence` for that).

    Parameters
    ----------
    padded : ndarray of shape (n_rows + window_px - 1, n_cols + window_px - 1, n_bands), float32
    window_px : int
    rows, cols : ndarray of shape (n_pixels,), integer
    targets : ndarray of shape (n_pixels,), integer, optional
        Class indices; without them the dataset yields windows only.
    class_count : int, optional
    batch_size : int, default 50
    shuffle : bool, default False
    seed : int, default 0

    Returns
    -------
    tf.data.Dataset
        Of ``x`` float32 (batch, window_px, window_px, n_bands, 1), with
        ``y`` float32 (batch, class_count) one-hot when ``targets`` are given.
    """
    import tensorflow as tf

    cube = tf.constant(padded, dtype=tf.float32)
    offsets = tf.range(window_px, dtype=tf.int64)
    items = (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))
    if targets is not None:
        if class_count is None:
            raise ValueError("class_count is required with targets")
        items += (np.asarray(targets, dtype=np.int64),)
    dataset = tf.data.Dataset.from_tensor_slices(items)
    if shuffle:
        dataset = dataset.shuffle(len(items[0]), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)

    def cut(batch_rows, batch_cols, *batch_targets):
        grid_rows = tf.broadcast_to((batch_rows[:, None] + offsets)[:, :, None], (tf.size(batch_rows), window_px,
                                                                                  window_px))
        grid_cols = tf.broadcast_to((batch_cols[:, None] + offsets)[:, None, :], (tf.size(batch_cols), window_px,
                                                                                  window_px))
        x = tf.gather_nd(cube, tf.stack([grid_rows, grid_cols], axis=-1))[..., None]
        if not batch_targets:
            return (x,)
        return x, tf.one_hot(batch_targets[0], class_count, dtype=tf.float32)

    return dataset.map(cut, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
