"""What every console script shares: one-line errors and MPI-safe exits."""

import argparse
import math
import os
import signal
import socket
import sys
import threading
import traceback
import warnings

from ..transport import CollectiveError, abort


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are bad input: one line through :func:`run`, exit status 2.

    Every rank parses the same arguments, so the error is a :class:`CollectiveError`.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise CollectiveError(message)


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each option's default once, and only where there is one.

    Unlike ``ArgumentDefaultsHelpFormatter`` it adds no ``(default: ...)``
    to a help text that already says what the default is, to flags
    (options that take no value), or for ``None`` or an empty list
    (required options, options whose absence means "not used").
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or action.required or action.nargs == 0 or default is None
                or default is argparse.SUPPRESS or (isinstance(default, (list, tuple)) and not default)):
            return text
        if isinstance(action.default, (list, tuple)):
            return f"{text} (default: {' '.join(str(value) for value in action.default)})"
        return super()._get_help_string(action)


def number(kind, minimum, strict=True):
    """An argparse type: a finite ``kind`` (int or float) above ``minimum`` (``>=`` it when not ``strict``)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") \
                from None
        if not math.isfinite(value) or (value <= minimum if strict else value < minimum):
            raise argparse.ArgumentTypeError(f"{text} must be {'>' if strict else '>='} {minimum}")
        return value
    return parse


def fraction(text):
    """An argparse type: a share strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"fraction {text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"fraction == {text}, must be in (0, 1)")
    return value


def add_sampling_options(parser, fractions=(0.1,), group=None, old=None):
    """Add the options of split sampling, one spelling on every command: ``--sampling``, ``--fraction``, ``--seed``.

    Each takes one or more values (``args.sampling``, ``args.fraction``,
    ``args.seed`` are lists).  pisvm-split, pisvm-compare and pisvm-jobs
    sampling call this.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    fractions : tuple of float, default (0.1,)
        Default of ``--fraction``.
    group : argparse group, optional
        Where ``--sampling`` goes (pisvm-compare: exclusive with ``--split``).
    old : dict, optional
        ``{new option: old spelling}`` accepted but hidden from the help, for
        one release (job scripts written before the options were renamed).
    """
    from ..data.sampling import MODES

    (group or parser).add_argument("--sampling", nargs="+", choices=MODES, default=["random"], metavar="MODE",
                                   help=f"sampling modes among {', '.join(MODES)}: random draws each class's "
                                        "pixels at random; size / stddev sample DBSCAN clusters, largest / most "
                                        "varied first")
    parser.add_argument("--fraction", nargs="+", type=fraction, default=list(fractions),
                        help="training shares of each class's pixels")
    parser.add_argument("--seed", nargs="+", type=number(int, 0, False), default=[0],
                        help="seeds of random sampling (cluster sampling is deterministic)")
    kinds = {"--sampling": {"choices": MODES, "metavar": "MODE"}, "--fraction": {"type": fraction},
             "--seed": {"type": number(int, 0, False)}}
    for new, spelling in (old or {}).items():
        parser.add_argument(spelling, dest=new.lstrip("-"), nargs="+", default=argparse.SUPPRESS,
                            help=argparse.SUPPRESS, **kinds[new])


def label_weight(text):
    """An argparse type: ``LABEL=WEIGHT`` (LIBSVM ``-wi``, option ``-w``), returned as ``(float(label), weight)``."""
    label, sep, value = text.partition("=")
    try:
        label = float(label)
    except ValueError:
        sep = ""
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not LABEL=WEIGHT")
    return label, number(float, 0)(value)


def class_weights(pairs, labels, weights=None):
    """``{label: weight}``: the ``-w LABEL=W`` pairs multiplied into ``weights``; ValueError naming an unknown label.

    Parameters
    ----------
    pairs : list of (float, float)
        Parsed by :func:`label_weight`; a label given twice gets the product.
    labels : array-like
        The classes of the training data.
    weights : dict, optional
        Weights to start from (balanced weights, for example).
    """
    weights = dict(weights or {})
    for label, value in pairs:
        if label not in labels:
            raise ValueError(f"-w {label:g}={value:g}: no such class in the training data")
        weights[label] = weights.get(label, 1.0) * value
    return weights


def _format_warning(message, category, filename, lineno, line=None):
    return f"warning: {message}\n"


LAUNCHER_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID")
"""Where mpirun (Open MPI, PMIx, MPICH/Intel MPI) and srun tell a process its rank."""


def world_comm():
    """The commands' communicator: ``MPI.COMM_WORLD`` when the job runs on more than one rank, else None."""
    from mpi4py import MPI

    return MPI.COMM_WORLD if MPI.COMM_WORLD.size > 1 else None


def run_mpi(main, prog, argv=None):
    """:func:`run` for a command with MPI work: ``main(argv, comm)``, ``comm`` from :func:`world_comm`."""
    comm = world_comm()
    run(lambda args: main(args, comm), prog, argv, comm=comm)


def run_serial(main, prog, argv=None):
    """:func:`run` for a command without MPI work: under mpirun or srun only rank 0 runs it.

    Every rank would otherwise do the same work, print every message and
    write every file once per rank.  The rank is read from the launcher's
    environment, so MPI is never initialised.
    """
    rank = next((os.environ[name] for name in LAUNCHER_RANK_VARIABLES if name in os.environ), "0")
    if rank.isdigit() and int(rank) > 0:
        sys.exit(0)
    run(main, prog, argv)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every ``with`` block (temporary files) unwinds as on SIGINT."""


def _terminate(signum, frame):
    raise Terminated


def run(main, prog, argv=None, comm=None):
    """Call ``main(argv)`` and turn failures into one line and an exit status.

    ``ValueError`` and ``OSError`` are bad input: ``prog: error: message`` on
    stderr, exit status 2, no traceback.  Any other exception is a bug or a
    system failure: its traceback goes to stderr with a ``rank r of s on
    host`` header, and under MPI (``comm.size > 1``) the whole job is aborted
    so that no rank hangs in a collective call.  SIGTERM ends the command as
    SIGINT does (``with`` blocks unwind, temporary files are removed), with
    exit status 143.  The warning format and the SIGTERM handler are the
    caller's again when ``run`` returns.

    Parameters
    ----------
    main : callable
        ``main(argv)``; returns an exit status or None.
    prog : str
        Command name used in messages.
    argv : list of str, optional
    comm : mpi4py.MPI.Comm, optional
        The job's communicator.
    """
    formatwarning, warnings.formatwarning = warnings.formatwarning, _format_warning
    rank = 0 if comm is None else comm.rank
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        status = main(argv)
    except CollectiveError as error:
        if rank == 0:
            print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr, flush=True)
        sys.exit(2)
    except (ValueError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
        if comm is not None and comm.size > 1:
            # Only reached when one rank alone found the error (input errors
            # are agreed collectively before work starts): end the job.
            abort(comm, 2)
        sys.exit(2)
    except KeyboardInterrupt as error:
        terminated = isinstance(error, Terminated)
        print(f"{prog}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr, flush=True)
        if comm is not None and comm.size > 1:
            abort(comm, 143 if terminated else 130)
        sys.exit(143 if terminated else 130)
    except Exception:  # noqa: BLE001 - last resort: report where, then end every rank
        rank, size = (comm.rank, comm.size) if comm is not None else (0, 1)
        print(f"{prog}: error in rank {rank} of {size} on {socket.gethostname()}:\n"
              f"{traceback.format_exc()}", file=sys.stderr, flush=True)
        if comm is not None and comm.size > 1:
            abort(comm, 1)
        sys.exit(1)
    finally:  # a Python caller gets its warnings and signal handling back
        warnings.formatwarning = formatwarning
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    sys.exit(status or 0)
