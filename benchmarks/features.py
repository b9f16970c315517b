"""Attribute profiles: pisvm's Cython trees (features) against sap (higra) in the same run.

    nice -n 10 python benchmarks/features.py            # full size, every case
    python benchmarks/features.py --scale 0.25          # rows and columns x 0.25 (1/16 of the pixels)
    python benchmarks/features.py --cases esdap-pca4 sdap-band   # the self-dual profiles only

Cases (area thresholds 25 100 500 1000 5000, 4-adjacency, direct rule):

``eap-pca4``
    extended area profile of the first 4 principal components of a synthetic
    1417 x 614 scene (the full Indian Pines flight line's size), end to end:
    the same scikit-learn PCA, then the profiles (44 float64 images);
``ap-band``
    area profile of one 4096 x 4096 uint16 band (11 images);
``esdap-pca4``
    extended self-dual area profile (tree of shapes) of the first 4 principal
    components of the same kind of synthetic 1417 x 614 scene, end to end
    (24 float64 images);
``sdap-band``
    self-dual area profile of one 2048 x 2048 uint16 band made like
    ``ap-band``'s (6 images).

Each (case, implementation, size) runs in its own Python process (its own
peak RSS, VmHWM, sap's progress bars off) on inputs generated once with fixed seeds:
one warm-up on a 64 x 64 input, then ``--repeats`` timed runs (the minimum
is kept).  The output of both implementations is hashed and compared.
``cpu_ratio`` is sap's CPU time over pisvm's (all of pisvm's threads
counted), a steadier comparison than wall time when other jobs share the
cores.  The
linearity column repeats the case at half the rows and columns and reports
``growth = (t / pixel at full size) / (t / pixel at a quarter of the pixels)``
(1.0 = linear).  ``before`` is pisvm's worker's peak RSS after loading the
input and warming up, before the timed runs (the peaks include it).  Tests
never assert on these numbers.
"""

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = [25, 100, 500, 1000, 5000]
#: case -> (rows, cols, input kind: a synthetic "cube" or "band").
CASES = {"eap-pca4": (1417, 614, "cube"), "ap-band": (4096, 4096, "band"),
         "esdap-pca4": (1417, 614, "cube"), "sdap-band": (2048, 2048, "band")}
N_BANDS = 60
N_COMPONENTS = 4


def _make_inputs(case, n_rows, n_cols, folder):
    """Write the case's input (fixed seeds) to ``folder``; return its path."""
    path = Path(folder) / f"{case}-{n_rows}x{n_cols}.npy"
    if path.exists():
        return path
    if CASES[case][2] == "cube":
        # Fields (Voronoi cells of random seeds, about one per 1500 pixels) of
        # 16 classes with smooth spectra, scaled per field, plus noise.
        from scipy.spatial import cKDTree

        rng = np.random.default_rng(0)
        n_fields = max(4, n_rows * n_cols // 1500)
        seeds = rng.uniform((0, 0), (n_rows, n_cols), size=(n_fields, 2))
        grid = np.stack(np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij"), axis=-1)
        _, field = cKDTree(seeds).query(grid.reshape(-1, 2))
        wavelengths = np.linspace(0.0, 1.0, N_BANDS)
        centres = rng.uniform(0, 1, size=(16, 3))
        spectra = 0.3 + 0.2 * np.exp(-((wavelengths[None, None, :] - centres[:, :, None]) / 0.1) ** 2).sum(axis=1)
        classes = rng.integers(0, 16, size=n_fields)
        scale = rng.uniform(0.8, 1.2, size=n_fields)
        cube = (spectra[classes[field]] * scale[field, None]).astype(np.float32)
        cube += rng.normal(scale=0.02, size=cube.shape).astype(np.float32)
        np.save(path, cube.reshape(n_rows, n_cols, N_BANDS))
    else:
        from scipy.ndimage import gaussian_filter

        rng = np.random.default_rng(0)
        field = gaussian_filter(rng.normal(size=(n_rows, n_cols)), sigma=8.0)
        field = field / (np.abs(field).max() + 1e-12) + 0.05 * rng.normal(size=field.shape)
        band = np.round((field - field.min()) / (field.max() - field.min()) * 4095).astype(np.uint16)
        np.save(path, band)
    return path


def _compute(case, impl, data):
    """One run of ``impl`` ('sap' or 'pisvm') on ``data``; returns the features array."""
    attributes = {"area": THRESHOLDS}
    self_dual = case.startswith("sdap") or case.startswith("esdap")
    if impl == "pisvm":
        import features

        if case == "eap-pca4":
            return features.extended_profiles(data, N_COMPONENTS, attributes)
        if case == "esdap-pca4":
            return features.extended_self_dual_profiles(data, N_COMPONENTS, attributes)
        if self_dual:
            return features.self_dual_profiles(data, attributes)
        return features.attribute_profiles(data, attributes)
    import sap

    profile = sap.self_dual_attribute_profiles if self_dual else sap.attribute_profiles
    if CASES[case][2] == "cube":
        from features import principal_components

        components = principal_components(data, N_COMPONENTS)
        return np.concatenate([profile(pc, attributes).vectorize() for pc in components])
    return profile(data, attributes).vectorize()


def _peak_rss_mb():
    """Peak resident memory of this process in MB: VmHWM (reset at exec, unlike ru_maxrss,
    which Linux carries over from the parent), ru_maxrss where /proc is absent."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(case, impl, path, repeats):
    """Run in a fresh process: warm up, time, print one JSON line."""
    data = np.load(path)
    small = data[:64, :64].copy()
    _compute(case, impl, small)  # warm-up: imports, first calls
    rss_input_mb = _peak_rss_mb()
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        out = _compute(case, impl, data)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    digest = hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()[:16]
    print(json.dumps({"wall_s": min(times), "cpu_s": min(cpu_times), "peak_rss_mb": _peak_rss_mb(),
                      "input_rss_mb": rss_input_mb, "digest": digest, "shape": list(out.shape),
                      "dtype": str(out.dtype)}))


def _run_worker(case, impl, path, repeats):
    env = dict(os.environ, TQDM_DISABLE="1",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, __file__, "--worker", case, impl, str(path), str(repeats)],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{impl} worker for {case} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="factor on rows and columns (0 < scale <= 1)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per case (minimum kept)")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        case, impl, path, repeats = args.worker
        _worker(case, impl, path, int(repeats))
        return 0
    if not 0 < args.scale <= 1 or args.repeats < 1:
        parser.error("--scale must be in (0, 1] and --repeats >= 1")
    import sap  # noqa: F401 - the reference must be installed

    print(f"# features vs sap, area thresholds {THRESHOLDS}, 4-adjacency (ap), direct rule; "
          f"repeats {args.repeats} (min), scale {args.scale}, {os.cpu_count()} CPUs")
    print(f"# {'case':<10} {'size [px]':>12} {'sap_s [s]':>10} {'pisvm_s [s]':>11} {'ratio':>7} "
          f"{'identical':>9} {'sap_peak [MB]':>13} {'pisvm_peak [MB]':>15} {'before [MB]':>11} "
          f"{'sap_growth':>10} {'pisvm_growth':>12} {'cpu_ratio':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-features-") as folder:
        for case in args.cases:
            rows, cols, _ = CASES[case]
            full = (max(64, round(rows * args.scale)), max(64, round(cols * args.scale)))
            half = (max(64, full[0] // 2), max(64, full[1] // 2))
            results = {}
            for size in (full, half):
                path = _make_inputs(case, *size, folder)
                for impl in ("sap", "pisvm"):
                    results[impl, size] = _run_worker(case, impl, path, args.repeats)
                path.unlink()
            sap_full, ours_full = results["sap", full], results["pisvm", full]
            identical = (sap_full["digest"] == ours_full["digest"] and sap_full["shape"] == ours_full["shape"]
                         and sap_full["dtype"] == ours_full["dtype"]
                         and results["sap", half]["digest"] == results["pisvm", half]["digest"])

            def growth(impl, results=results, full=full, half=half):
                per_full = results[impl, full]["wall_s"] / (full[0] * full[1])
                per_half = results[impl, half]["wall_s"] / (half[0] * half[1])
                return per_full / per_half

            print(f"  {case:<10} {f'{full[0]}x{full[1]}':>12} {sap_full['wall_s']:>10.2f} "
                  f"{ours_full['wall_s']:>11.2f} {sap_full['wall_s'] / ours_full['wall_s']:>7.1f} "
                  f"{str(identical):>9} {sap_full['peak_rss_mb']:>13.0f} {ours_full['peak_rss_mb']:>15.0f} "
                  f"{ours_full['input_rss_mb']:>11.0f} {growth('sap'):>10.2f} {growth('pisvm'):>12.2f} "
                  f"{sap_full['cpu_s'] / ours_full['cpu_s']:>9.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    # Run as a script, this file's folder comes first on sys.path and its name
    # would shadow the ``features`` package: put the repository there instead.
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    raise SystemExit(main())
