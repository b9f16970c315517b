"""One-vs-one SVM models: built from scikit-learn fits or from binary pair fits, read and written as LIBSVM files.

A model holds what LIBSVM's ``svm_model`` holds for ``c_svc``: the class
labels in model order, the support vectors grouped by class, the dual
coefficients, one ``rho`` per class pair and the kernel parameters.  For
the pair (i, j), i < j, the decision value of a sample x is

    sum over SVs s of class i of coef[j - 1, s] K(x, s)
  + sum over SVs s of class j of coef[i, s] K(x, s)  -  rho[p]

and class i wins the pair when it is > 0 (LIBSVM's sign; scikit-learn flips
it for binary problems).  The text format is LIBSVM's, so models move both
ways between pisvm and ``svm-train``/``svm-predict``/``libsvm.svmutil``.
"""

import os

import numpy as np

from ..data.atomic import atomic_path
from .onevsone import class_pairs

KERNELS = ("linear", "polynomial", "rbf", "sigmoid")
"""Kernels pisvm predicts with (LIBSVM's ``kernel_type`` names); ``precomputed`` is refused."""

SVM_TYPES = ("c_svc", "nu_svc")
"""Model types pisvm predicts with (both are one-vs-one classifiers with the same file layout)."""

_SKLEARN_KERNELS = {"linear": "linear", "poly": "polynomial", "rbf": "rbf", "sigmoid": "sigmoid"}


class SVMModel:
    """A one-vs-one SVM classifier in LIBSVM's layout.

    Parameters
    ----------
    labels : array-like of shape (n_class,)
        Class labels in model order (LIBSVM: order of first appearance in the
        training file; scikit-learn: sorted).  Ties in the vote go to the
        lowest position in this order.
    support_vectors : array-like of shape (n_sv, n_features)
        Grouped by class, in ``labels`` order.
    dual_coef : array-like of shape (n_class - 1, n_sv)
    rho : array-like of shape (n_class * (n_class - 1) / 2,)
        One offset per pair, in :func:`class_pairs` order.
    n_support : array-like of shape (n_class,)
        Support vectors per class (LIBSVM ``nr_sv``).
    kernel : {"rbf", "linear", "polynomial", "sigmoid"}, default "rbf"
    gamma : float, default 1.0
    degree : int, default 3
    coef0 : float, default 0.0
    svm_type : {"c_svc", "nu_svc"}, default "c_svc"
    """

    def __init__(self, labels, support_vectors, dual_coef, rho, n_support, kernel="rbf", gamma=1.0,
                 degree=3, coef0=0.0, svm_type="c_svc"):
        self.labels = np.asarray(labels, dtype=np.float64)
        self.support_vectors = np.ascontiguousarray(support_vectors, dtype=np.float64)
        self.dual_coef = np.ascontiguousarray(dual_coef, dtype=np.float64).reshape(
            max(len(self.labels) - 1, 0), len(self.support_vectors))
        self.rho = np.asarray(rho, dtype=np.float64).reshape(-1)
        self.n_support = np.asarray(n_support, dtype=np.int64)
        if kernel not in KERNELS:
            raise ValueError(f"kernel {kernel!r} is not supported (pisvm predicts with {', '.join(KERNELS)})")
        if svm_type not in SVM_TYPES:
            raise ValueError(f"svm_type {svm_type!r} is not supported (pisvm predicts with {', '.join(SVM_TYPES)})")
        self.kernel, self.gamma, self.degree, self.coef0 = kernel, float(gamma), int(degree), float(coef0)
        self.svm_type = svm_type
        n_class = len(self.labels)
        if len(self.rho) != n_class * (n_class - 1) // 2:
            raise ValueError(f"{len(self.rho)} rho values for {n_class} classes, need {n_class * (n_class - 1) // 2}")
        if len(self.n_support) != n_class or self.n_support.sum() != len(self.support_vectors):
            raise ValueError(f"nr_sv {self.n_support.tolist()} does not add up to {len(self.support_vectors)} "
                             f"support vectors of {n_class} classes")

    @property
    def n_features(self):
        """Width of the support-vector matrix (features beyond it are 0 in every SV)."""
        return self.support_vectors.shape[1]

    @property
    def sv_start(self):
        """First SV of each class block, shape (n_class + 1,) (the last entry is ``n_sv``)."""
        return np.concatenate([[0], np.cumsum(self.n_support)])

    def predict(self, X, chunk_mb=4.0):
        """Labels of samples ``X`` (n_rows, n_features) by the fast predictor, :func:`pisvm.svm.predict.predict`."""
        from .predict import predict

        return predict(self, X, chunk_mb=chunk_mb)

    @classmethod
    def from_svc(cls, svc):
        """The model of a fitted ``sklearn.svm.SVC`` (LIBSVM's signs, also for binary problems)."""
        kernel = _SKLEARN_KERNELS.get(svc.kernel) if isinstance(svc.kernel, str) else None
        if kernel is None:
            raise ValueError(f"kernel {svc.kernel!r} cannot be written as a LIBSVM model")
        gamma = svc.gamma
        if gamma == "auto":
            gamma = 1.0 / svc.n_features_in_
        elif isinstance(gamma, str):
            if kernel != "linear":
                raise ValueError(f"gamma {gamma!r} depends on the training data's variance: fit the SVC with a "
                                 "number (or 'auto') to write its model")
            gamma = 1.0
        # Public attributes only: for 2 classes scikit-learn flips LIBSVM's signs of dual_coef_ and intercept_.
        sign = -1.0 if len(svc.classes_) == 2 else 1.0
        return cls(svc.classes_, svc.support_vectors_, sign * np.asarray(svc.dual_coef_),
                   -sign * np.asarray(svc.intercept_), svc.n_support_, kernel=kernel, gamma=gamma,
                   degree=svc.degree, coef0=svc.coef0)

    @classmethod
    def from_pairs(cls, X, y, labels, fits, kernel="rbf", gamma=1.0, degree=3, coef0=0.0):
        """Assemble the multi-class model of binary one-vs-one fits (what LIBSVM's ``svm_train`` does).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The training samples.
        y : ndarray of shape (n_samples,)
        labels : ndarray of shape (n_class,)
            Class labels in model order.
        fits : dict
            ``{(i, j): (index, coef, rho)}`` for pairs of :func:`class_pairs`:
            ``index`` the training-sample indices of the pair's support
            vectors, ``coef`` their coefficients (positive for class i,
            LIBSVM's sign), ``rho`` the pair's offset.  Missing pairs get
            zero coefficients and rho (their decision values mean nothing).

        Returns
        -------
        SVMModel
            Support vectors in class order, ascending sample index inside a
            class: the model one multi-class LIBSVM fit gives.
        """
        labels = np.asarray(labels, dtype=np.float64)
        n_class = len(labels)
        members = [[] for _ in range(n_class)]
        for (i, j), (index, _, _) in fits.items():
            index = np.asarray(index, dtype=np.int64)
            members[i].append(index[y[index] == labels[i]])
            members[j].append(index[y[index] == labels[j]])
        per_class = [np.unique(np.concatenate(m)) if m else np.zeros(0, np.int64) for m in members]
        sv_index = np.concatenate(per_class)
        column = np.full(len(y), -1, dtype=np.int64)
        column[sv_index] = np.arange(len(sv_index))
        dual_coef = np.zeros((max(n_class - 1, 0), len(sv_index)))
        rho = np.zeros(n_class * (n_class - 1) // 2)
        for p, (i, j) in enumerate(class_pairs(n_class)):
            if (i, j) not in fits:
                continue
            index, coef, rho[p] = fits[(i, j)]
            index = np.asarray(index, dtype=np.int64)
            # Class i's SVs keep their pair-(i, j) coefficient in row j - 1, class j's in row i.
            dual_coef[np.where(y[index] == labels[i], j - 1, i), column[index]] = coef
        return cls(labels, X[sv_index], dual_coef, rho, [len(m) for m in per_class], kernel=kernel,
                   gamma=gamma, degree=degree, coef0=coef0)

    def write(self, path):
        """Write the model as a LIBSVM text model file, atomically (temporary file, then rename).

        Coefficients, rho and support-vector values are written with 17
        significant digits, so reading the file back gives the same model;
        zero features are omitted as LIBSVM does.
        """
        if not np.all(self.labels == np.round(self.labels)):
            raise ValueError("LIBSVM model files hold integer class labels; the labels are not integers")
        with atomic_path(path) as tmp, open(tmp, "w", encoding="ascii") as stream:
            stream.write(self.header_text())
            stream.writelines(self._sv_line(k) for k in range(len(self.support_vectors)))

    def header_text(self):
        """The header lines of the LIBSVM model file, up to and including ``SV``."""
        lines = [f"svm_type {self.svm_type}", f"kernel_type {self.kernel}"]
        if self.kernel == "polynomial":
            lines.append(f"degree {self.degree}")
        if self.kernel != "linear":
            lines.append(f"gamma {self.gamma:.17g}")
        if self.kernel in ("polynomial", "sigmoid"):
            lines.append(f"coef0 {self.coef0:.17g}")
        lines += [f"nr_class {len(self.labels)}", f"total_sv {len(self.support_vectors)}",
                  "rho " + " ".join(f"{r:.17g}" for r in self.rho),
                  "label " + " ".join(str(int(label)) for label in self.labels),
                  "nr_sv " + " ".join(str(int(n)) for n in self.n_support), "SV"]
        return "\n".join(lines) + "\n"

    def _sv_line(self, k):
        coefs = "".join(f"{c + 0.0:.17g} " for c in self.dual_coef[:, k])  # + 0.0: no "-0"
        sv = self.support_vectors[k]
        nonzero = np.flatnonzero(sv)
        return coefs + "".join(f"{i + 1}:{sv[i]:.17g} " for i in nonzero) + "\n"


def read_model(path):
    """Read a LIBSVM text model file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    SVMModel

    Raises
    ------
    ValueError
        One line naming the file and line: an unknown or malformed header
        entry, a kernel or svm_type pisvm does not predict with, counts that
        disagree, or a malformed support-vector line.
    """
    path = os.fspath(path)
    with open(path, "rb") as stream:
        data = stream.read()
    lines = data.decode("ascii", errors="replace").splitlines()
    header = {}
    line_number = 0
    for line_number, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens:
            continue
        key, values = tokens[0], tokens[1:]
        if key == "SV":
            break
        if key not in ("svm_type", "kernel_type", "degree", "gamma", "coef0", "nr_class", "total_sv", "rho",
                       "label", "nr_sv", "probA", "probB", "prob_density_marks"):
            raise ValueError(f"{path}:{line_number}: unknown model entry {key!r} (not a LIBSVM model file?)")
        if not values:
            raise ValueError(f"{path}:{line_number}: {key} has no value")
        header[key] = (line_number, values)
    else:
        raise ValueError(f"{path}: no 'SV' line (not a LIBSVM model file, or a truncated one)")
    sv_lines = lines[line_number:]

    def one(key, kind, default=None):
        if key not in header:
            if default is not None:
                return default
            raise ValueError(f"{path}: no {key!r} entry in the model header")
        where, values = header[key]
        if len(values) != 1:
            raise ValueError(f"{path}:{where}: {key} has {len(values)} values, expected 1")
        return _number(values[0], kind, f"{path}:{where}: {key}")

    def many(key, kind, count):
        where, values = header.get(key, (None, None))
        if values is None:
            if count == 0:
                return np.zeros(0)
            raise ValueError(f"{path}: no {key!r} entry in the model header")
        if len(values) != count:
            raise ValueError(f"{path}:{where}: {key} has {len(values)} values, expected {count}")
        return np.array([_number(v, kind, f"{path}:{where}: {key}") for v in values])

    svm_type = header.get("svm_type", (0, ["?"]))[1][0]
    if svm_type not in SVM_TYPES:
        raise ValueError(f"{path}:{header.get('svm_type', (0,))[0]}: svm_type {svm_type!r} is not supported "
                         f"(pisvm predicts with {', '.join(SVM_TYPES)})")
    if "kernel_type" not in header:
        raise ValueError(f"{path}: no 'kernel_type' entry in the model header")
    kernel = header["kernel_type"][1][0]
    if kernel not in KERNELS:
        raise ValueError(f"{path}:{header['kernel_type'][0]}: kernel_type {kernel!r} is not supported "
                         f"(pisvm predicts with {', '.join(KERNELS)})")
    n_class = one("nr_class", int)
    total_sv = one("total_sv", int)
    if n_class < 1 or total_sv < 0:
        raise ValueError(f"{path}: nr_class {n_class}, total_sv {total_sv}: not a classifier")
    gamma = one("gamma", float, 0.0 if kernel == "linear" else None)
    if kernel != "linear" and not gamma > 0:
        raise ValueError(f"{path}:{header['gamma'][0]}: gamma == {gamma:g}, must be > 0")
    if kernel == "polynomial" and "degree" not in header:
        raise ValueError(f"{path}:{header['kernel_type'][0]}: a polynomial model with no 'degree' entry")
    degree = one("degree", int, 3)
    coef0 = one("coef0", float, 0.0)
    rho = many("rho", float, n_class * (n_class - 1) // 2)
    labels = many("label", int, n_class)
    unique, counts = np.unique(labels, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"{path}:{header['label'][0]}: label {unique[np.argmax(counts > 1)]} appears twice")
    n_support = many("nr_sv", int, n_class)
    if np.any(n_support < 0):
        raise ValueError(f"{path}:{header['nr_sv'][0]}: nr_sv {n_support[np.argmax(n_support < 0)]} is negative")
    if n_support.sum() != total_sv:
        n_lines = sum(1 for line in sv_lines if line.strip())
        culprit = {total_sv: "nr_sv", n_support.sum(): "total_sv"}.get(n_lines)
        raise ValueError(f"{path}:{header[culprit or 'nr_sv'][0]}: nr_sv adds up to {n_support.sum()}, total_sv "
                         f"{total_sv}, and the file holds {n_lines} support-vector lines: "
                         + (f"{culprit} is wrong" if culprit else "truncated or edited file"))
    if total_sv and len(sv_lines) == total_sv and not data.endswith(b"\n"):
        raise ValueError(f"{path}:{line_number + total_sv}: the last support-vector line has no end of line "
                         "(file cut short?)")
    if len(sv_lines) < total_sv:
        raise ValueError(f"{path}: {len(sv_lines)} support-vector lines after 'SV', total_sv is {total_sv} "
                         "(truncated file?)")
    try:
        coef, rows, columns, values = _parse_svs(sv_lines[:total_sv], n_class - 1)
    except ValueError:
        _check_sv_lines(path, sv_lines[:total_sv], n_class - 1, first_line=line_number + 1)
        raise ValueError(f"{path}: malformed support-vector lines") from None
    if any(line.strip() for line in sv_lines[total_sv:]):
        raise ValueError(f"{path}:{line_number + total_sv + 1}: text after the {total_sv} support vectors")
    support_vectors = np.zeros((total_sv, (columns.max() + 1) if len(columns) else 0))
    support_vectors[rows, columns] = values
    return SVMModel(labels, support_vectors, coef, rho, n_support, kernel=kernel, gamma=gamma, degree=degree,
                    coef0=coef0, svm_type=svm_type)


def _parse_svs(lines, n_coef):
    """Support-vector lines in bulk: ``(coef (n_coef, n_sv), rows, columns, values)``; ValueError if malformed."""
    split = [line.split() for line in lines]
    if any(len(tokens) < n_coef for tokens in split):
        raise ValueError("too few coefficients")
    coef = np.array([token for tokens in split for token in tokens[:n_coef]], dtype=np.float64)
    features = [tokens[n_coef:] for tokens in split]
    pairs = " ".join(" ".join(tokens) for tokens in features)
    if pairs.count(":") != sum(len(tokens) for tokens in features):
        raise ValueError("not index:value")
    table = np.array(pairs.replace(":", " ").split(), dtype=np.float64).reshape(-1, 2)
    rows = np.repeat(np.arange(len(lines)), [len(tokens) for tokens in features])
    index, values = table[:, 0], table[:, 1]
    increasing = np.diff(index) > 0
    if not (np.isfinite(coef).all() and np.isfinite(values).all() and np.all(index == np.round(index))
            and np.all(index >= 1) and np.all(increasing | (np.diff(rows) > 0))):
        raise ValueError("bad value")
    return coef.reshape(len(lines), n_coef).T.copy(), rows, index.astype(np.int64) - 1, values


def _check_sv_lines(path, lines, n_coef, first_line):
    """Raise ValueError naming the first malformed support-vector line."""
    for where, line in enumerate(lines, start=first_line):
        tokens = line.split()
        if len(tokens) < n_coef:
            raise ValueError(f"{path}:{where}: {len(tokens)} values, expected {n_coef} coefficients first")
        for token in tokens[:n_coef]:
            _number(token, float, f"{path}:{where}: coefficient")
        previous = 0
        for token in tokens[n_coef:]:
            index_text, sep, value_text = token.partition(":")
            index = _number(index_text, int, f"{path}:{where}: feature index") if sep else None
            if index is None:
                raise ValueError(f"{path}:{where}: token {token!r} is not index:value")
            if index < 1:
                raise ValueError(f"{path}:{where}: feature index {index} < 1 (indices are 1-based)")
            if index <= previous:
                raise ValueError(f"{path}:{where}: feature index {index} not above the previous {previous}")
            previous = index
            _number(value_text, float, f"{path}:{where}: value of feature {index}")


def _number(text, kind, what):
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if kind is float and not np.isfinite(value):
        raise ValueError(f"{what} {text!r} is not finite")
    return value
