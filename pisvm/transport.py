"""MPI transport of the grid engine: thread-safe calls, a private communicator, waiting without spinning.

Rank 0 runs a service thread that talks MPI while its main thread computes
and may call ``Abort`` or ``Ibarrier``.  Where the MPI library granted less
than ``MPI_THREAD_MULTIPLE``, every MPI call made here goes through one lock,
as :mod:`mpi4py.futures` does, and only nonblocking calls are made under it
(a thread never sleeps in MPI while holding the lock).  Waits poll with an
exponential back-off instead of a blocking call, which in Open MPI spins a
core that the rank's own solver (or a neighbour's) needs.
"""

import contextlib
import socket
import sys
import threading
import time
import traceback
import warnings


class CollectiveError(ValueError):
    """Bad input that every rank learnt together (rank 0 checked it and broadcast the verdict).

    Only rank 0 prints it, and no rank aborts: every rank exits with status 2.
    """


_setup_lock = threading.Lock()
_state = {"level": None, "lock": None}


def thread_level():
    """The thread support the MPI library granted (``MPI.Query_thread()``), looked up once.

    Below ``MPI_THREAD_MULTIPLE`` it also creates the lock that
    :func:`serialized` holds around every MPI call; below
    ``MPI_THREAD_SERIALIZED`` (where only the main thread may call MPI) it
    warns, as :mod:`mpi4py.futures` does, since rank 0's service thread
    calls MPI.
    """
    with _setup_lock:
        if _state["level"] is None:
            from mpi4py import MPI

            level = MPI.Query_thread()
            _state["lock"] = threading.Lock() if level < MPI.THREAD_MULTIPLE else None
            _state["level"] = level
            if level < MPI.THREAD_SERIALIZED:
                name = "MPI_THREAD_SINGLE" if level == MPI.THREAD_SINGLE else "MPI_THREAD_FUNNELED"
                warnings.warn(f"the MPI library grants {name}; the grid engine's service thread needs at least "
                              "MPI_THREAD_SERIALIZED", RuntimeWarning, stacklevel=2)
    return _state["level"]


def serialized():
    """Context manager around one MPI call: the lock below MPI_THREAD_MULTIPLE, nothing otherwise."""
    thread_level()
    lock = _state["lock"]
    return lock if lock is not None else contextlib.nullcontext()


class Backoff:
    """Sleep between polls, doubling from ``max_s / 1024`` up to ``max_s`` seconds (mpi4py.futures' rule)."""

    def __init__(self, max_s):
        self.max_s = max_s
        self.min_s = max_s / 1024
        self.delay = 0.0

    def reset(self):
        """A message arrived: poll again at once."""
        self.delay = 0.0

    def sleep(self):
        time.sleep(self.delay)
        self.delay = min(self.max_s, max(self.min_s, 2 * self.delay))


def wait(request, max_s=0.02):
    """Wait for a nonblocking MPI request, polling with back-off (no spinning core)."""
    backoff = Backoff(max_s)
    while True:
        with serialized():
            if request.Test():
                return
        backoff.sleep()


def bcast_when_ready(obj, comm, root=0):
    """Broadcast ``obj`` from ``root`` once it calls this, without the other ranks spinning a core meanwhile.

    The other ranks wait in a back-off-polled ``Ibarrier`` (a plain ``bcast``
    busy-waits, stealing CPU from the root's work, such as reading the
    input, on a shared node).

    Returns
    -------
    The root's ``obj`` on every rank.
    """
    settle(comm)
    with serialized():
        return comm.bcast(obj, root=root)


def decided_by_root(check, comm, share=None):
    """Rank 0 runs ``check()`` and every rank learns the verdict: the one "rank 0 validates, then broadcasts" rule.

    Rank 0 reads and checks the input alone (the other ranks wait without
    spinning, :func:`bcast_when_ready`); a ``ValueError`` or ``OSError`` it
    raises is bad input, which every rank then raises as one
    :class:`CollectiveError` (printed by rank 0 only, no abort).

    Parameters
    ----------
    check : callable
        Called on rank 0 only, with no argument.
    comm : mpi4py.MPI.Comm or None
        None runs serially (rank 0 alone).
    share : callable, optional
        What the other ranks receive of rank 0's value (default: the value itself).

    Returns
    -------
    ``check()``'s value on rank 0, ``share(value)`` on the other ranks.

    Raises
    ------
    CollectiveError
        On every rank, with the first line of rank 0's error.

    Notes
    -----
    The broadcast message is ``(error, shared)``: ``(None, share(value))``,
    or ``(first line of the error, None)``.
    """
    rank = 0 if comm is None else comm.rank
    error = value = None
    if rank == 0:
        try:
            value = check()
        except (ValueError, OSError) as failure:
            error = str(failure).splitlines()[0] if str(failure) else type(failure).__name__
    if comm is not None:
        message = (error, value if error is not None or share is None else share(value)) if rank == 0 else None
        error, shared = bcast_when_ready(message, comm)
        value = value if rank == 0 else shared
    if error is not None:
        raise CollectiveError(error)
    return value


def settle(comm):
    """Return once every rank of ``comm`` has called this, waiting in a back-off-polled ``Ibarrier``.

    The one sleep-polled barrier (:meth:`Channel.barrier` and the ``*_when_ready`` collectives call it).

    Called before a blocking collective that some ranks reach long before
    others, it keeps the early ranks from spinning a core in that collective.
    """
    with serialized():
        request = comm.Ibarrier()
    wait(request)


def gather_when_ready(obj, comm, root=0):
    """Gather ``obj`` to ``root`` once every rank calls this, no rank spinning a core meanwhile.

    Returns
    -------
    list or None
        Every rank's ``obj`` in rank order on ``root``, None elsewhere.
    """
    settle(comm)
    with serialized():
        return comm.gather(obj, root=root)


class Channel:
    """Point-to-point traffic of one engine run on a duplicate of ``comm`` (its own message space).

    Parameters
    ----------
    comm : mpi4py.MPI.Intracomm
        Every rank of ``comm`` creates the channel together (``Dup`` is
        collective) and calls :meth:`close` at the end.
    poll_s : float
        Longest sleep between two polls for a message.
    """

    TAG = 7

    def __init__(self, comm, poll_s=0.002):
        with serialized():
            self.comm = comm.Dup()
        self.poll_s = poll_s
        self.rank, self.size = self.comm.rank, self.comm.size

    def poll(self, source=None):
        """A message from ``source`` (any rank when None) if one has arrived: ``(source, obj)``, else None."""
        from mpi4py import MPI

        status = MPI.Status()
        with serialized():
            message = self.comm.improbe(MPI.ANY_SOURCE if source is None else source, self.TAG, status)
            if message is None:
                return None
            return status.Get_source(), message.recv()

    def recv(self, source):
        """Wait for the next message from ``source``; return its object."""
        backoff = Backoff(self.poll_s)
        while (message := self.poll(source)) is None:
            backoff.sleep()
        return message[1]

    def send(self, obj, dest):
        """Send ``obj`` to ``dest`` and wait until the buffer is free."""
        with serialized():
            request = self.comm.isend(obj, dest=dest, tag=self.TAG)
        wait(request, self.poll_s)

    def barrier(self):
        """Wait until every rank reaches the barrier, polling with back-off (:func:`settle`)."""
        settle(self.comm)

    def close(self):
        """Free the duplicate communicator (every rank, after :meth:`barrier`)."""
        with serialized():
            self.comm.Free()


def abort(comm, code):
    """End every rank of the job with ``code``.

    Takes the MPI lock when it can (another thread may be inside an MPI call)
    but aborts after a second regardless: ending the job matters more.
    """
    thread_level()
    lock = _state["lock"]
    if lock is not None:
        lock.acquire(timeout=1.0)
    comm.Abort(code)


def abort_job(comm, prog, error, code=1):
    """Report ``error`` in one line naming the rank, then end every rank of the job.

    Used once ranks work together (after the job was broadcast), where the
    other ranks would otherwise wait forever for this one.  ``ValueError``
    and ``OSError`` (bad input, a full disk) get the one line only; any
    other exception is a bug, and its traceback follows the line.
    """
    message = str(error).splitlines()[0] if str(error) else ""
    kind = "" if isinstance(error, (ValueError, OSError)) else f"{type(error).__name__}: "
    print(f"{prog}: error in rank {comm.rank} of {comm.size} on {socket.gethostname()}: {kind}{message}",
          file=sys.stderr, flush=True)
    if kind:
        traceback.print_exception(error, file=sys.stderr)
        sys.stderr.flush()
    abort(comm, code)


__all__ = ["Backoff", "Channel", "CollectiveError", "abort", "abort_job", "bcast_when_ready", "decided_by_root",
           "gather_when_ready",
           "serialized", "settle", "thread_level", "wait"]
