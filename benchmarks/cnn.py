"""Benchmark the 3D-CNN input pipelines against plain Keras on pre-cut NumPy windows.

    python benchmarks/cnn.py                 # the seeds' full size: 33,424 training, 300,000 test windows, 58 classes
    nice -n 10 python benchmarks/cnn.py --scale 0.01   # 1 % of the windows (CPU)

The standard model (9x9 windows over 220 bands) is trained for one epoch and
predicts the test pixels, fed three ways, in the same run and process:

- reference: ``model.fit`` / ``model.predict`` on windows pre-cut into one
  NumPy array (the cutting time is printed apart and not counted);
- pisvm PyDataset: :class:`cnn.windows.WindowSequence` over the strided view;
- pisvm tf.data: :func:`cnn.windows.window_dataset` (``tf.gather_nd``).

Each line gives windows/second and ``ratio = t_ref / t_pisvm`` (>= 1: pisvm
is no slower).  The last lines give the peak resident-memory growth of
whole-scene prediction (every pixel) for ``predict_scene`` and for the
pre-cut reference; on a CPU it includes the model's activations (the first
convolution's output is 2 MiB per 9x9x220 window, so keep --predict-batch
small there).  Targets on one H100 at full size: one training epoch
<= 1 s, the 300k test windows < 10 s.
"""

import argparse
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

N_TRAIN_FULL = 33_424
N_TEST_FULL = 300_000


class PeakRSS:
    """Sample this process's resident memory every ``period_s`` seconds; ``peak_mb`` is the maximum seen."""

    def __init__(self, period_s=0.005):
        self.period_s = period_s
        self.page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20

    def rss_mb(self):
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self.page_mb

    def __enter__(self):
        self.baseline_mb = self.peak_mb = self.rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.rss_mb())
            time.sleep(self.period_s)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.rss_mb())

    @property
    def growth_mb(self):
        return self.peak_mb - self.baseline_mb


def best_time(function, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 33,424 / 300,000 windows")
    parser.add_argument("--bands", type=int, default=220)
    parser.add_argument("--classes", type=int, default=58)
    parser.add_argument("--window", type=int, default=9, help="window side, pixels")
    parser.add_argument("--batch", type=int, default=50, help="training batch, windows")
    parser.add_argument("--predict-batch", type=int, default=1024, help="prediction batch, windows")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats of each case (best kept)")
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale {args.scale} must be in (0, 1]")

    import keras
    import tensorflow as tf

    import cnn
    from cnn.windows import WindowSequence, normalised_padded_cube, window_dataset, window_view
    from pisvm.data.sampling import training_statistics
    from pisvm.data.synth import synthetic_scene

    n_train = max(args.classes, round(N_TRAIN_FULL * args.scale))
    n_test = max(args.classes, round(N_TEST_FULL * args.scale))
    side = math.ceil(math.sqrt(n_train + n_test))
    data, labels = synthetic_scene(side, side, args.bands, args.classes, unlabelled_fraction=0.0,
                                   random_state=args.seed)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(side * side)
    selection = np.zeros(side * side, dtype=np.int8)
    selection[order[:n_train]] = 2
    selection[order[n_train:n_train + n_test]] = 1
    selection = selection.reshape(side, side)
    mean, stddev = training_statistics(data, selection)
    classes = np.arange(1, args.classes + 1)
    w = args.window
    devices = tf.config.list_physical_devices("GPU")
    device = f"{len(devices)} GPU(s)" if devices else f"CPU only ({os.cpu_count()} cores)"
    print(f"# 3D-CNN benchmark: scene {side}x{side} px, {args.bands} bands, {args.classes} classes, window {w}x{w}; "
          f"{n_train} training, {n_test} test windows (scale {args.scale:g}); batch {args.batch} / "
          f"{args.predict_batch}; {device}; TensorFlow {tf.__version__}, Keras {keras.__version__}; "
          f"best of {args.repeats}", flush=True)

    config = cnn.CNNConfig(window_px=w, batch_size=args.batch, mixed_precision=args.mixed_precision, epochs=1)
    model = cnn.build_standard_model((w, w, args.bands, 1), args.classes, config)
    cnn.compile_model(model, config)
    print(f"# model: {model.count_params():,} parameters", flush=True)

    padded = normalised_padded_cube(data, mean, stddev, w)
    windows = window_view(padded, w)
    train_rows, train_cols = np.nonzero(selection == 2)
    test_rows, test_cols = np.nonzero(selection == 1)
    targets = labels[train_rows, train_cols] - 1

    started = time.perf_counter()
    x_train = np.ascontiguousarray(windows[train_rows, train_cols][..., None])
    y_train = keras.utils.to_categorical(targets, args.classes).astype(np.float32)
    x_test = np.ascontiguousarray(windows[test_rows, test_cols][..., None])
    cut_s = time.perf_counter() - started
    print(f"# reference pre-cut windows: {(x_train.nbytes + x_test.nbytes) / 2**20:.0f} MiB in {cut_s:.2f} s "
          f"(not counted below)", flush=True)

    sequence = WindowSequence(windows, train_rows, train_cols, targets, args.classes, args.batch, shuffle=True,
                              seed=args.seed)
    dataset = window_dataset(padded, w, train_rows, train_cols, targets, args.classes, args.batch, shuffle=True,
                             seed=args.seed)
    train_cases = {
        "reference numpy fit": lambda: model.fit(x_train, y_train, batch_size=args.batch, epochs=1, shuffle=True,
                                                 verbose=0),
        "pisvm PyDataset fit": lambda: model.fit(sequence, epochs=1, shuffle=False, verbose=0),
        "pisvm tf.data fit": lambda: model.fit(dataset, epochs=1, shuffle=False, verbose=0),
    }
    print(f"{'case':24s} {'epoch [s]':>10s} {'windows/s':>11s} {'ratio = t_ref / t':>18s}", flush=True)
    reference_s = None
    for name, function in train_cases.items():
        function()  # warm-up: tracing and first-epoch start-up
        wall_s = best_time(function, args.repeats)
        reference_s = reference_s or wall_s
        print(f"{name:24s} {wall_s:10.2f} {n_train / wall_s:11.0f} {reference_s / wall_s:18.2f}", flush=True)

    def predict_reference():
        return model.predict(x_test, batch_size=args.predict_batch, verbose=0).argmax(axis=1)

    test_mask = selection == 1
    predict_cases = {
        "reference numpy predict": predict_reference,
        "pisvm PyDataset predict": lambda: cnn.predict_scene(model, data, mean, stddev, w, args.predict_batch,
                                                             classes, mask=test_mask),
        "pisvm tf.data predict": lambda: cnn.predict_scene(model, data, mean, stddev, w, args.predict_batch,
                                                           classes, mask=test_mask, pipeline="tfdata"),
    }
    print(f"{'case':24s} {'test set [s]':>12s} {'windows/s':>11s} {'ratio = t_ref / t':>18s}", flush=True)
    reference_s = None
    results = {}
    for name, function in predict_cases.items():
        results[name] = function()  # warm-up
        wall_s = best_time(function, args.repeats)
        reference_s = reference_s or wall_s
        print(f"{name:24s} {wall_s:12.2f} {n_test / wall_s:11.0f} {reference_s / wall_s:18.2f}", flush=True)
    reference_labels = classes[results["reference numpy predict"]]
    same = all(np.array_equal(results[name][test_mask], reference_labels) for name in list(results)[1:])
    print(f"# predictions of the three pipelines identical: {same}", flush=True)

    x_train = x_test = None  # free the pre-cut windows before the memory cases
    n_pixels = side * side
    precut_mb = n_pixels * w * w * args.bands * 4 / 2**20
    with PeakRSS() as memory:
        cnn.predict_scene(model, data, mean, stddev, w, args.predict_batch, classes)
    print(f"whole-scene prediction ({n_pixels} windows), predict_scene PyDataset: peak RSS growth "
          f"{memory.growth_mb:8.0f} MiB", flush=True)
    with PeakRSS() as memory:
        cnn.predict_scene(model, data, mean, stddev, w, args.predict_batch, classes, pipeline="tfdata")
    print(f"whole-scene prediction ({n_pixels} windows), predict_scene tf.data:   peak RSS growth "
          f"{memory.growth_mb:8.0f} MiB", flush=True)
    with PeakRSS() as memory:
        everything = np.ascontiguousarray(windows.reshape(-1, w, w, args.bands)[..., None])
        model.predict(everything, batch_size=args.predict_batch, verbose=0).argmax(axis=1)
        del everything
    print(f"whole-scene prediction ({n_pixels} windows), reference pre-cut:       peak RSS growth "
          f"{memory.growth_mb:8.0f} MiB (the windows alone: {precut_mb:.0f} MiB)", flush=True)


if __name__ == "__main__":
    main()
