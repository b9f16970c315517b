"""Benchmark the CPU work of the pisvm solver's chains: the grouping of N ranks against one rank's.

    python benchmarks/chains.py --scale 0.2 --ranks 80

On N ranks the grid splits each gamma's one-vs-one pairs into more groups
(``pisvm.grid.chains.choose_groups``), and a class's own kernel block and its
held-out kernel rows are computed once per group that holds it.  This runs
the 10-fold seeds' grid on the built-in problem (``pisvm.data.synth.seed_problem``)
in one process twice, with one rank's grouping and with N ranks' (each
grouping's chains one after the other, the two groupings taking turns gamma
by gamma, so that the machine's drift touches both), and prints the CPU seconds of each
(the sum of the records' seconds: every chain's CPU time) and
ratio = work(N ranks' grouping) / work(1 rank's grouping) (target <= 1.3 at
80 ranks), with the number of chains and the longest chain's share of the
work (the bound it puts on N ranks' efficiency: 1 / (N * share)).
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pisvm.data.folds import stratified_folds  # noqa: E402
from pisvm.data.synth import seed_problem  # noqa: E402
from pisvm.grid.cells import SEED_COSTS, SEED_GAMMAS, simulate_schedule  # noqa: E402
from pisvm.grid.chains import ChainScheduler, PisvmSolver, choose_groups, make_chains  # noqa: E402
from pisvm.grid.engine import Problem, TaskResults, run_units  # noqa: E402

GAMMAS, COSTS = list(SEED_GAMMAS), list(SEED_COSTS)  # the seeds' grid


def plan(problem, n_ranks):
    """Pair groups per gamma and the chains of the grid made for ``n_ranks``."""
    groups = choose_groups(problem, len(GAMMAS), len(COSTS), n_ranks)
    return len(groups), make_chains(problem, GAMMAS, COSTS, list(range(problem.n_folds)), groups, n_ranks=n_ranks)


def work(problem, plans):
    """CPU seconds of each chain of each plan, gamma by gamma, the plans' turns alternating.

    The machine's speed drifts over a minute; taking the plans' chains of one
    gamma in turn (one plan first for even gammas, the other for odd ones)
    spreads the drift over both sums.
    """
    seconds = {n_ranks: {} for n_ranks in plans}
    for g, gamma in enumerate(GAMMAS):
        for n_ranks in (list(plans) if g % 2 == 0 else list(plans)[::-1]):
            for chain in plans[n_ranks][1]:
                if chain.gamma == gamma:
                    # run_units returns the seconds of the records it computed: the chain's CPU time.
                    seconds[n_ranks][chain] = run_units([chain], problem, PisvmSolver(), TaskResults(problem))
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.2, help="fraction of the 33,396 samples")
    parser.add_argument("--ranks", type=int, default=80, help="N: the grouping of N ranks")
    args = parser.parse_args(argv)
    X, y = seed_problem(scale=args.scale)
    problem = Problem(X, y, stratified_folds(y, 10, 0))
    print(f"# chain work: seed_problem(scale={args.scale}) {X.shape[0]} x {X.shape[1]}, 5x5 grid, 10 folds; "
          "CPU seconds of the chains, computed one after the other in one process")
    plans = {n_ranks: plan(problem, n_ranks) for n_ranks in (1, args.ranks)}
    started = time.perf_counter()
    measured = work(problem, plans)
    rows = {}
    for n_ranks, (n_groups, chains) in plans.items():
        per_chain = [measured[n_ranks][chain] for chain in chains]
        rows[n_ranks] = sum(per_chain)
        makespan, efficiency = simulate_schedule(chains, measured[n_ranks].get, n_ranks, ChainScheduler(chains))
        print(f"grouping of {n_ranks:>3} rank(s): {n_groups:>4} pair groups per gamma, {len(per_chain):>4} chains, "
              f"work {sum(per_chain):8.1f} CPU s, longest chain {max(per_chain):6.2f} s "
              f"({100 * max(per_chain) / sum(per_chain):.1f} % of the work: efficiency on {n_ranks} ranks "
              f"<= {100 * min(1.0, sum(per_chain) / (n_ranks * max(per_chain))):.0f} %), "
              f"replayed on {n_ranks} ranks {makespan:.2f} s ({100 * efficiency:.0f} % efficiency)", flush=True)
    print(f"both groupings, gamma by gamma in turn: wall {time.perf_counter() - started:.1f} s")
    print(f"ratio = work({args.ranks} ranks' grouping) / work(1 rank's) = {rows[args.ranks] / rows[1]:.2f} "
          "(target <= 1.30)")


if __name__ == "__main__":
    main()
