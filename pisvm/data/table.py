"""Delimited text tables (CSV, TSV, whitespace) with a label column, as arrays for LibSVM files."""

import csv
import os

import numpy as np

DELIMITERS = (",", ";", "\t")


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _rows(path, delimiter):
    """(line number, fields) of every non-blank line; the delimiter is guessed from the first line if None."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        lines = [(number, line.rstrip("\r\n")) for number, line in enumerate(stream, start=1)]
    lines = [(number, line) for number, line in lines if line.strip()]
    if not lines:
        raise ValueError(f"{path}: no rows")
    guessed = next((d for d in DELIMITERS if d in lines[0][1]), None)
    if delimiter is not None and delimiter not in lines[0][1]:
        holds = f"it is separated by {guessed!r}" if guessed else "it is separated by blanks"
        raise ValueError(f"{path}:{lines[0][0]}: --delimiter {delimiter!r} does not occur in the first line ({holds}; "
                         "leave --delimiter out to guess it)")
    if delimiter is None:
        delimiter = guessed
    if delimiter is None:  # runs of blanks, as in many UCI .data files
        return [(number, line.split()) for number, line in lines]
    reader = csv.reader([line for _, line in lines], delimiter=delimiter)
    return [(number, [field.strip() for field in fields]) for (number, _), fields in zip(lines, reader)]


def _label_index(label, header, n_columns, path):
    if header is not None and label in header:
        return header.index(label)
    try:
        index = int(label)
    except ValueError:
        known = f"in the header ({', '.join(header)})" if header is not None else "(the table has no header)"
        raise ValueError(f"{path}: no column {label!r} {known}") from None
    if not (1 <= index <= n_columns or -n_columns <= index <= -1):
        raise ValueError(f"{path}: --label {label}, the table has {n_columns} columns")
    return index - 1 if index > 0 else n_columns + index


def read_table(path, label="-1", delimiter=None, header=None):
    """Read a delimited text table of numeric features and one label column.

    Parameters
    ----------
    path : str or os.PathLike
        Text file, UTF-8 (a byte-order mark and CRLF line ends are fine);
        blank lines are skipped.
    label : str, default "-1"
        The label column: 1-based number, negative from the end (``-1``:
        the last column, the UCI habit), or a header name.
    delimiter : str, optional
        Field separator; by default the first of ``,`` ``;`` tab found in
        the first line, else runs of blanks.
    header : bool, optional
        Whether the first row names the columns; by default it does when
        none of its fields is a number.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns - 1), dtype float64
    y : ndarray of shape (n_rows,), dtype int64
        The labels; labels that are not all integers (class names such as
        ``Iris-setosa``) are numbered 1..K in sorted order.
    classes : dict or None
        ``{number: name}`` when labels were numbered, else None.

    Raises
    ------
    ValueError
        One line naming the file and line: rows of different lengths, a
        feature that is not a finite number (``?``, ``NA``, a decimal
        comma), an unknown label column, or no rows.
    """
    path = os.fspath(path)
    rows = _rows(path, delimiter)
    n_columns = len(rows[0][1])
    names = None
    if header is None:
        header = (all(_number(text) is None for text in rows[0][1])
                  and (len(rows) < 2 or any(_number(text) is not None for text in rows[1][1])))
    if header:
        names, rows = rows[0][1], rows[1:]
        if not rows:
            raise ValueError(f"{path}: no rows below the header")
    label_index = _label_index(label, names, n_columns, path)
    X = np.empty((len(rows), n_columns - 1))
    labels = []
    first_line = rows[0][0]
    for i, (line_number, fields) in enumerate(rows):
        if len(fields) != n_columns:
            raise ValueError(f"{path}:{line_number}: {len(fields)} fields, line {first_line} has {n_columns}")
        features = fields[:label_index] + fields[label_index + 1:]
        for j, text in enumerate(features):
            value = _number(text)
            if value is None:
                column = j + 1 if j < label_index else j + 2
                raise ValueError(f"{path}:{line_number}: column {column}: {text!r} is not a number")
            X[i, j] = value
        labels.append(fields[label_index])
    values = [_number(text) for text in labels]
    if all(value is not None and value == round(value) for value in values):
        return X, np.array(values, dtype=np.int64), None
    names_sorted = sorted(set(labels))
    number = {name: k for k, name in enumerate(names_sorted, start=1)}
    return X, np.array([number[text] for text in labels], dtype=np.int64), dict(enumerate(names_sorted, start=1))
