"""The append-only journal of finished units that makes grid runs resumable.

``journal.jsonl`` starts with a header line describing the run (data
checksum, grid, folds, seed, solver options); every later line is one
finished unit, written and flushed (and fsync'ed) the moment it finishes.
A run killed by the scheduler loses only the units in flight; ``--resume``
reads the lines back and skips their work.  A torn last line (kill during
the write) is ignored.
"""

import base64
import json
import os

import numpy as np

HEADER_KEYS = ("data_sha256", "test_sha256", "gammas", "costs", "folds", "seed", "backend", "svm_solver", "solver")


def pack_bools(values):
    """Encode a bool array of shape (n_rows, n_values) as one base64 text, each row packed 8 values a byte."""
    packed = np.packbits(np.asarray(values, dtype=bool), axis=-1)
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack_bools(text, n_rows, n_values):
    """Decode :func:`pack_bools` text into a bool array of shape (n_rows, n_values).

    ``text`` may also be a list of one text per row (journals written before
    pisvm packed the rows together).
    """
    raw = base64.b64decode(text) if isinstance(text, str) else b"".join(base64.b64decode(row) for row in text)
    packed = np.frombuffer(raw, dtype=np.uint8).reshape(n_rows, -(-n_values // 8))
    return np.unpackbits(packed, axis=1, count=n_values).view(bool)  # 0 and 1 bytes: no copy


class Journal:
    """Append finished units to ``path``; read them back on resume.

    Parameters
    ----------
    path : str or os.PathLike
    header : dict
        The run's identity (keys of :data:`HEADER_KEYS` and more).
    resume : bool
        Continue an existing journal whose header matches ``header``;
        without it an existing journal is an error (nothing is overwritten).
    """

    def __init__(self, path, header, resume):
        self.path = os.fspath(path)
        self.records = []
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if exists and not resume:
            raise ValueError(f"{self.path} exists (an earlier run): pass --resume to continue it, "
                             "or choose another --out")
        if exists:
            self.records = self._read(header)
        self._stream = open(self.path, "a", encoding="utf-8")
        if not exists:
            self._write(dict(header, kind="header"))

    def _read(self, header):
        with open(self.path, "rb") as stream:
            content = stream.read()
        complete = content[: content.rfind(b"\n") + 1]
        if len(complete) < len(content):
            # The last line was torn by a kill during its write: drop it so
            # that appends start on a fresh line.
            with open(self.path, "r+b") as stream:
                stream.truncate(len(complete))
        lines = complete.decode("utf-8").splitlines()
        try:
            first = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            first = {}
        if first.get("kind") != "header":
            raise ValueError(f"{self.path}:1: not a pisvm-grid journal header")
        for key in HEADER_KEYS:
            if first.get(key) != header.get(key):
                raise ValueError(f"{self.path}: cannot resume, {key} differs from this run's "
                                 f"({first.get(key)!r} != {header.get(key)!r})")
        records = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise ValueError(f"{self.path}:{number}: damaged journal line") from None
        return records

    def _write(self, record):
        self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def append(self, record):
        """Write one finished unit's record and make it durable."""
        self.records.append(record)
        self._write(dict(record, kind="unit"))

    def close(self):
        self._stream.close()
