"""Benchmark pisvm's binary SMO against LIBSVM (scikit-learn's SVC) on the grid's binary problems.

    python benchmarks/solver.py                 # 40 pairs of fold 0, full-size built-in problem
    python benchmarks/solver.py --pairs 60 --repeat 5

The problems are one-vs-one pairs of the built-in seed-shaped problem
(``pisvm.data.synth.seed_problem``, 33,396 x 30, 52 classes), trained on fold 0's
training samples (10 stratified folds) in LIBSVM's sample order.  The pairs are
the ``--hard`` same-family pairs with the most samples (classes of one family
overlap: these are the pairs with the most iterations) and pairs drawn at random
from the rest.  Settings (gamma, C): (2, 1), (8, 100), (2, 10000).

For each problem and setting it prints LIBSVM's and pisvm's iterations,
microseconds per iteration and dual objective, the relative objective
difference, and ratio = t_libsvm / t_pisvm; ``no_copy_s`` is pisvm's time
with ``cache_mb=0`` (the SMO reads the block at scattered columns, never a
compact copy of the active sub-block), ``copies`` the compact copies made.  LIBSVM is ``SVC(kernel="rbf")``
fitted on the problem's rows (its time includes computing and caching kernel
columns, as in a grid search); pisvm is ``solve_binary`` on the pair's kernel
block.  The block (all the pair's samples, all folds) is timed separately: in
the grid one block serves 10 folds x 5 values of C, and its squared distances
serve every gamma.  Times are CPU seconds of this process (``time.process_time``,
BLAS limited to one thread, the minimum over ``--repeat`` runs), so that other
load on the machine does not count.
"""

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pisvm.data.folds import stratified_folds
from pisvm.data.synth import FAMILY_SIZE, N_SEED_CLASSES, seed_problem
from pisvm.svm.solver import rbf_kernel, solve_binary  # noqa: E402

SETTINGS = [(2.0, 1.0), (8.0, 100.0), (2.0, 10000.0)]


def cpu_seconds(repeat, function, *args, **kwargs):
    """Minimum CPU time of ``repeat`` calls ``function(*args, **kwargs)``, and the last call's result."""
    best = np.inf
    for _ in range(repeat):
        started = time.process_time()
        result = function(*args, **kwargs)
        best = min(best, time.process_time() - started)
    return best, result


def all_pairs():
    """Every one-vs-one class pair (a, b), a < b, of the built-in problem."""
    return list(itertools.combinations(range(1, N_SEED_CLASSES + 1), 2))


def same_family(pairs):
    """The pairs whose classes belong to one family (they overlap)."""
    return [p for p in pairs if (p[0] - 1) // FAMILY_SIZE == (p[1] - 1) // FAMILY_SIZE]


def choose_pairs(y, train, n_pairs, n_hard, seed):
    """The ``n_hard`` largest same-family pairs and ``n_pairs - n_hard`` random other pairs."""
    counts = np.bincount(y[train], minlength=N_SEED_CLASSES + 1)
    pairs = all_pairs()
    hard = sorted(same_family(pairs), key=lambda p: -(counts[p[0]] + counts[p[1]]))[:n_hard]
    rest = [p for p in pairs if p not in hard]
    chosen = np.random.RandomState(seed).choice(len(rest), n_pairs - len(hard), replace=False)
    return hard + sorted(rest[k] for k in chosen)


def libsvm_objective(clf, K, index):
    """LIBSVM's dual objective 0.5 a'Qa - e'a from a fitted binary SVC."""
    coef = clf._dual_coef_[0]  # y_k alpha_k in LIBSVM's signs
    rows = index[clf.support_]
    return 0.5 * coef @ K[np.ix_(rows, rows)] @ coef - np.abs(coef).sum()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=40, help="number of class pairs (default 40)")
    parser.add_argument("--hard", type=int, default=12, help="of which same-family pairs (default 12)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per problem (default 3)")
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flip", type=float, default=0.0,
                        help="swap the labels of this share of each pair's training samples (label noise: "
                             "many multipliers at their bound and long solves, the solver's hard case)")
    args = parser.parse_args(argv)
    n_all, n_same = len(all_pairs()), len(same_family(all_pairs()))
    if not 0 <= args.hard <= min(args.pairs, n_same) or args.pairs > n_all or args.repeat < 1:
        parser.error(f"need 0 <= --hard <= {n_same}, --hard <= --pairs <= {n_all} and --repeat >= 1 "
                     f"(got --hard {args.hard}, --pairs {args.pairs}, --repeat {args.repeat})")

    X, y = seed_problem(scale=1.0, random_state=args.seed)
    fold = stratified_folds(y, 10, args.seed)
    train = fold != 0
    pairs = choose_pairs(y, train, args.pairs, args.hard, args.seed)
    print(f"# binary SMO benchmark: {len(pairs)} class pairs of fold 0 ({args.hard} same-family), "
          f"built-in problem {X.shape[0]} x {X.shape[1]}, labels of {100 * args.flip:g} % of each pair's "
          f"training samples swapped, tol {args.tol:g}; CPU times, min of {args.repeat}")
    print(f"{'pair':>7} {'n':>5} {'gamma':>5} {'C':>6} | {'iter_lib':>8} {'us/it_lib':>9} {'obj_lib':>13} | "
          f"{'iter_pi':>8} {'us/it_pi':>8} {'obj_pi':>13} | {'rel_obj':>8} {'block_ms':>8} {'copies':>6} "
          f"{'no_copy_s':>9} {'pi_s':>7} {'ratio':>6}")
    totals = {setting: np.zeros(7) for setting in SETTINGS}  # lib s, pisvm s, block s, lib it, pisvm it, max rel,
    # pisvm s without the compact copy
    with threadpool_limits(1):
        for a, b in pairs:
            rows = np.flatnonzero((y == a) | (y == b))
            X_pair, y_pair, in_train = X[rows], y[rows], train[rows]
            # LIBSVM's order: the first class's samples, then the second's, each in data order.
            index = np.concatenate([np.flatnonzero(in_train & (y_pair == a)),
                                    np.flatnonzero(in_train & (y_pair == b))])
            flipped = np.random.RandomState(args.seed).uniform(size=len(index)) < args.flip
            signs = np.where((y_pair[index] == a) != flipped, 1, -1).astype(np.int8)
            X_fit, y_fit = X_pair[index], np.where(signs > 0, a, b)
            for gamma, C in SETTINGS:
                t_block, K = cpu_seconds(args.repeat, rbf_kernel, X_pair, X_pair, gamma, float32=True)
                t_pisvm, solution = cpu_seconds(args.repeat, solve_binary, K, index, signs, C, C, tol=args.tol)
                t_no_copy, _ = cpu_seconds(args.repeat, solve_binary, K, index, signs, C, C, tol=args.tol,
                                           cache_mb=0)
                t_lib, clf = cpu_seconds(args.repeat, SVC(C=C, gamma=gamma, tol=args.tol).fit, X_fit, y_fit)
                objective = libsvm_objective(clf, K, index)
                rel = abs(solution.objective - objective) / abs(objective)
                n_lib = int(clf.n_iter_[0])
                print(f"{a:>3}-{b:<3} {len(index):>5} {gamma:>5g} {C:>6g} | {n_lib:>8} "
                      f"{t_lib / n_lib * 1e6:>9.2f} {objective:>13.6f} | {solution.n_iter:>8} "
                      f"{t_pisvm / max(solution.n_iter, 1) * 1e6:>8.2f} {solution.objective:>13.6f} | "
                      f"{rel:>8.1e} {t_block * 1e3:>8.2f} {solution.n_copies:>6} {t_no_copy:>9.3f} {t_pisvm:>7.3f} "
                      f"{t_lib / t_pisvm:>6.2f}", flush=True)
                totals[(gamma, C)] += [t_lib, t_pisvm, t_block, n_lib, solution.n_iter, 0, t_no_copy]
                totals[(gamma, C)][5] = max(totals[(gamma, C)][5], rel)
    print(f"# totals over {len(pairs)} pairs: CPU seconds; ratio = t_libsvm / t_pisvm; ratio_grid charges each "
          "solve 1/50 of its kernel block (a block serves 10 folds x 5 C), ratio_block the whole block; "
          "copy_gain = t_pisvm(cache_mb=0) / t_pisvm")
    print(f"{'gamma':>5} {'C':>6} | {'iter_lib':>9} {'iter_pi':>9} {'it_ratio':>8} | {'us/it_lib':>9} "
          f"{'us/it_pi':>8} | {'t_lib_s':>8} {'t_pi_s':>8} {'block_s':>8} | {'max_rel_obj':>11} "
          f"{'ratio':>6} {'ratio_grid':>10} {'ratio_block':>11} {'copy_gain':>9}")
    for (gamma, C), (t_lib, t_pisvm, t_block, n_lib, n_pisvm, rel, t_no_copy) in totals.items():
        print(f"{gamma:>5g} {C:>6g} | {n_lib:>9.0f} {n_pisvm:>9.0f} {n_pisvm / n_lib:>8.3f} | "
              f"{t_lib / n_lib * 1e6:>9.2f} {t_pisvm / n_pisvm * 1e6:>8.2f} | {t_lib:>8.3f} {t_pisvm:>8.3f} "
              f"{t_block:>8.3f} | {rel:>11.1e} {t_lib / t_pisvm:>6.2f} {t_lib / (t_pisvm + t_block / 50):>10.2f} "
              f"{t_lib / (t_pisvm + t_block):>11.2f} {t_no_copy / t_pisvm:>9.2f}")


if __name__ == "__main__":
    main()
