"""Component trees of 2-D images (max-tree and min-tree) and their attribute filters.

The trees are built by union-find in Cython (``features._max_tree``, Berger et
al. 2007) and hold, per node, its parent, its level and the attributes asked
for at build time, accumulated during the build:

``area``
    number of pixels (higra's ``attribute_area``);
``diagonal``
    length of the diagonal of the bounding box, ``sqrt(h**2 + w**2)`` with
    ``h``, ``w`` the box's height and width in pixels (a pixel: ``sqrt(2)``);
``moment_of_inertia`` (alias ``inertia``)
    first Hu moment, higra's ``attribute_moment_of_inertia``, same formula and
    operation order (exact for images up to 2**26 pixels);
``std``
    standard deviation of the pixel values of the node,
    ``sqrt(max(mean(v**2) - mean(v)**2, 0))`` in float64 (higra's
    ``attribute_gaussian_region_weights_model`` variance, clipped at 0).

The min-tree is the max-tree of the inverted image (``invert``: ``~x`` for
integers, i.e. ``max - x`` for unsigned and ``-1 - x`` for signed, ``-x`` for
floats), never a unary minus on unsigned data.  A tree is built once and
filtered for every threshold without copying it.
"""

from dataclasses import dataclass

import numpy as np

from features import _max_tree as _kernels

_ATTRIBUTE, _RULE = _kernels.Attribute, _kernels.Rule
#: Attribute name -> kernel code (defined once, in the kernel); ``inertia`` is an alias of ``moment_of_inertia``.
ATTRIBUTES = {"area": int(_ATTRIBUTE.AREA), "diagonal": int(_ATTRIBUTE.DIAGONAL),
              "moment_of_inertia": int(_ATTRIBUTE.INERTIA), "inertia": int(_ATTRIBUTE.INERTIA),
              "std": int(_ATTRIBUTE.STD)}
#: Filtering rule -> kernel code (defined once, in the kernel).
RULES = {"direct": int(_RULE.DIRECT), "subtractive": int(_RULE.SUBTRACTIVE), "min": int(_RULE.MIN_RULE),
         "max": int(_RULE.MAX_RULE)}
ADJACENCIES = (4, 8)
#: Pixel and node indices are int32: an image holds fewer pixels than this.
MAX_PIXELS = 2**31

_KERNEL_DTYPES = tuple(np.dtype(name) for name in
                       ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
                        "float32", "float64"))


def invert(image):
    """Invert an image the way ``skimage.util.invert`` does, keeping its dtype.

    Parameters
    ----------
    image : ndarray of any shape, integer or float dtype

    Returns
    -------
    inverted : ndarray of the same shape and dtype
        ``max - x`` for unsigned, ``-1 - x`` for signed integers (both are
        the bitwise NOT), ``-x`` for floats.
    """
    image = np.asarray(image)
    if image.dtype.kind in "ui":
        return np.invert(image)
    return np.negative(image)


def check_image(image, name="image"):
    """Validate a 2-D image and return it C-contiguous, native-endian, in a kernel dtype.

    Parameters
    ----------
    image : array-like of shape (n_rows, n_cols)
        Integer, boolean or float values, all finite.
    name : str, default "image"
        Used in error messages.

    Returns
    -------
    image : ndarray of shape (n_rows, n_cols)
        bool becomes uint8 and float16 becomes float32; other supported
        dtypes are kept.

    Raises
    ------
    ValueError
        Not 2-D, empty, not real numeric, or holding NaN/Inf.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"{name} has shape {image.shape}, must be 2-D (n_rows, n_cols)")
    if image.size == 0:
        raise ValueError(f"{name} has shape {image.shape}, must not be empty")
    if image.size >= MAX_PIXELS:
        raise ValueError(f"{name} has {image.size} pixels, must have fewer than 2**31 (int32 indices)")
    if image.dtype == np.bool_:
        image = image.astype(np.uint8)
    elif image.dtype.kind == "f" and image.dtype.itemsize < 4:
        image = image.astype(np.float32)
    if image.dtype.kind not in "uif":
        raise ValueError(f"{name} dtype {image.dtype} not supported, must be an integer or float dtype")
    dtype = image.dtype.newbyteorder("=")
    if dtype not in _KERNEL_DTYPES:
        raise ValueError(f"{name} dtype {image.dtype} not supported, must be one of "
                         f"{', '.join(str(d) for d in _KERNEL_DTYPES)}")
    image = np.ascontiguousarray(image, dtype=dtype)
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        row, col = np.argwhere(~np.isfinite(image))[0]
        raise ValueError(f"{name}[{row}, {col}] == {image[row, col]}, must be finite")
    return image


def check_adjacency(adjacency):
    """Return ``adjacency`` as an int after checking it is 4 or 8."""
    if isinstance(adjacency, (bool, np.bool_)) or adjacency not in ADJACENCIES:
        raise ValueError(f"adjacency == {adjacency!r}, must be 4 or 8")
    return int(adjacency)


def check_attribute(name):
    """Return the canonical attribute name (``inertia`` -> ``moment_of_inertia``)."""
    if not isinstance(name, str) or name not in ATTRIBUTES:
        raise ValueError(f"attribute {name!r} not in {{{', '.join(repr(a) for a in ATTRIBUTES)}}}")
    return "moment_of_inertia" if name == "inertia" else name


def check_rule(rule):
    """Check a filtering rule name."""
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"filtering_rule {rule!r} not in {{{', '.join(repr(r) for r in RULES)}}}")
    return rule


def sort_pixels(image):
    """Flat pixel indices of a C-contiguous 2-D image by increasing value.

    Returns
    -------
    order : ndarray of shape (n_rows * n_cols,), int32
        One sort serves both trees: the max-tree reads it from the end, the
        min-tree from the start.
    """
    flat = image.reshape(-1)
    # Radix sort (stable) for narrow integers, introsort otherwise; ties may
    # come in any order: the component tree does not depend on it.
    kind = "stable" if flat.dtype.itemsize <= 2 and flat.dtype.kind in "ui" else None
    return np.argsort(flat, kind=kind).astype(np.int32)


@dataclass(frozen=True, eq=False)
class ComponentTree:
    """A max-tree, min-tree or tree of shapes of a 2-D image, nodes numbered root first.

    Build it with :func:`max_tree`, :func:`min_tree` or
    :func:`features.shapes.tree_of_shapes`.

    Attributes
    ----------
    kind : {"max", "min", "shapes"}
    shape : tuple of int
        (n_rows, n_cols) of the image.
    adjacency : {4, 8} or None
        None for the tree of shapes (its Khalimsky grid fixes the connectivity).
    parent : ndarray of shape (n_nodes,), int32
        Parent node; node 0 is the root (its own parent) and ``parent[k] < k``.
    node_map : ndarray of shape (n_rows, n_cols), int32
        The node each pixel belongs to (the smallest component holding it).
    attributes : dict of str to ndarray of shape (n_nodes,), float64
        The attributes computed during the build.
    """

    kind: str
    shape: tuple
    adjacency: int
    parent: np.ndarray
    node_map: np.ndarray
    attributes: dict
    _work_altitude: np.ndarray  # levels in the max-tree's image (inverted for a min-tree)

    @property
    def n_nodes(self):
        """Number of nodes (components), int."""
        return self.parent.shape[0]

    @property
    def altitude(self):
        """Level of each node, ndarray of shape (n_nodes,) in the image dtype."""
        return invert(self._work_altitude) if self.kind == "min" else self._work_altitude.copy()

    def filter(self, attribute, threshold, filtering_rule="direct", out=None):
        """Remove the nodes whose ``attribute < threshold`` and rebuild the image.

        On a max-tree this is an attribute thinning (the result is <= the
        image), on a min-tree an attribute thickening (>= the image), on the
        tree of shapes a self-dual filter (a removed shape takes the level of
        its closest kept ancestor, brighter or darker).

        Parameters
        ----------
        attribute : str
            One of the attributes the tree was built with.
        threshold : float
            Nodes with ``attribute < threshold`` are removed; must be > 0.
        filtering_rule : {"direct", "subtractive", "min", "max"}, default "direct"
            ``direct`` removes exactly those nodes; ``min`` also removes their
            descendants; ``max`` removes a node only when all its descendants
            are removed too; ``subtractive`` removes them and lowers (raises
            on a min-tree) the surviving descendants by the removed level
            jumps, in the image dtype (integers wrap like NumPy).
        out : ndarray of shape (n_rows, n_cols), optional
            C-contiguous, image dtype: **written in place** when given.

        Returns
        -------
        filtered : ndarray of shape (n_rows, n_cols), image dtype
        """
        attribute = check_attribute(attribute)
        if attribute not in self.attributes:
            raise ValueError(f"attribute {attribute!r} was not computed for this tree, "
                             f"built with {sorted(self.attributes)}")
        threshold = check_threshold(threshold, attribute)
        rule = check_rule(filtering_rule)
        dtype = self._work_altitude.dtype
        if out is None:
            out = np.empty(self.shape, dtype=dtype)
        elif out.shape != self.shape or out.dtype != dtype or not out.flags.c_contiguous:
            raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}, must be a C-contiguous "
                             f"{self.shape} array of {dtype}")
        m = self.n_nodes
        deleted = np.empty(m, dtype=np.uint8)
        work = np.empty(m if rule == "subtractive" else 0, dtype=dtype)
        node_value = np.empty(m, dtype=dtype)
        _kernels._filter(self.parent, self._work_altitude, self.attributes[attribute], threshold,
                         RULES[rule], self.kind == "min", deleted, work, node_value)
        _kernels._gather(self.node_map.reshape(-1), node_value, out.reshape(-1))
        return out


def check_threshold(threshold, attribute="area"):
    """Return ``threshold`` as a float after checking it is finite and > 0."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"{attribute} threshold {threshold!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{attribute} threshold == {threshold!r}, must be finite and > 0")
    return value


def _build(image, order, kind, adjacency, attributes):
    """Build a tree from a checked image and its increasing ``order`` (no validation)."""
    work_image = invert(image) if kind == "min" else image
    flat = work_image.reshape(-1)
    n = flat.shape[0]
    codes = {ATTRIBUTES[a] for a in attributes}
    state = np.empty(_kernels.STATE_SLOTS * n, dtype=np.int32)
    bbox = np.empty(4 * n if ATTRIBUTES["diagonal"] in codes else 0, dtype=np.int32)
    moments = np.empty(4 * n if ATTRIBUTES["moment_of_inertia"] in codes else 0, dtype=np.int64)
    sums = np.empty(2 * n if ATTRIBUTES["std"] in codes else 0, dtype=np.float64)
    n_nodes = _kernels._max_tree(flat, order, kind == "max", image.shape[1], adjacency, state, bbox, moments, sums)
    node_of = np.empty(n, dtype=np.int32)
    node_parent = np.empty(n_nodes, dtype=np.int32)
    node_altitude = np.empty(n_nodes, dtype=flat.dtype)
    node_pixel = np.empty(n_nodes, dtype=np.int32)
    node_area = np.empty(n_nodes, dtype=np.int32)
    _kernels._compact(flat, state, node_of, node_parent, node_altitude, node_pixel, node_area)
    del state
    values = {}
    for name in attributes:
        values[name] = np.empty(n_nodes, dtype=np.float64)
        _kernels._attribute(node_pixel, node_area, bbox, moments, sums, ATTRIBUTES[name], values[name])
    return ComponentTree(kind=kind, shape=image.shape, adjacency=adjacency, parent=node_parent,
                         node_map=node_of.reshape(image.shape), attributes=values,
                         _work_altitude=node_altitude)


def _check_attributes(attributes):
    if isinstance(attributes, str):
        attributes = (attributes,)
    names = []
    for name in attributes:
        name = check_attribute(name)
        if name not in names:
            names.append(name)
    return names


def max_tree(image, adjacency=4, attributes=("area",)):
    """Max-tree of a 2-D image (Salembier et al. 1998; union-find of Berger et al. 2007).

    Parameters
    ----------
    image : array-like of shape (n_rows, n_cols)
        Any integer or float dtype (bool is read as uint8), finite values.
    adjacency : {4, 8}, default 4
        Pixel connectivity.
    attributes : iterable of str, default ("area",)
        Node attributes to accumulate during the build, among ``area``,
        ``diagonal``, ``moment_of_inertia`` (``inertia``) and ``std``.

    Returns
    -------
    tree : ComponentTree
        Its leaves are the regional maxima.  Cost O(n log n) (sort), then
        O(n alpha(n)); peak memory about 40 bytes per pixel (plus 16 for
        ``diagonal``, 32 for ``moment_of_inertia``, 16 for ``std``), 4 kept.
    """
    image = check_image(image)
    adjacency = check_adjacency(adjacency)
    names = _check_attributes(attributes)
    return _build(image, sort_pixels(image), "max", adjacency, names)


def min_tree(image, adjacency=4, attributes=("area",)):
    """Min-tree of a 2-D image: the max-tree of ``invert(image)``.

    Parameters and returns as :func:`max_tree`; the tree's leaves are the
    regional minima, ``altitude`` is in the original (non-inverted) values.
    """
    image = check_image(image)
    adjacency = check_adjacency(adjacency)
    names = _check_attributes(attributes)
    return _build(image, sort_pixels(image), "min", adjacency, names)
