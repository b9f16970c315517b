"""The tree of shapes of a 2-D image (Monasse and Guichard 2000), as higra and sap compute it.

The tree is built in Cython (``features._tree_of_shapes``) with the algorithm
of Géraud, Carlinet, Crozet and Najman (ISMM 2013) and the defaults of
``higra.component_tree_tree_of_shapes_image2d`` that
``sap.self_dual_attribute_profiles`` uses: padding with the mean of the
image boundary, Khalimsky immersion, nodes without an original pixel
removed.  Its nodes are the shapes (upper and lower level sets with their
holes filled), so its filters treat bright and dark structures alike: they
are self-dual.

The padding value follows higra's arithmetic in the image dtype: the
boundary is summed in the dtype (integers wrap) and divided by the count as
an unsigned 64-bit integer, so a signed image whose boundary sums below 0
gets a large, wrapped padding level (sap shows it as the root level).
Integers of 2 bytes or less are flooded with higra's first-in first-out
hierarchical queue, wider integers and floats in the order of higra's
ordered-map queue: the trees, their levels and every filter equal sap's.
(higra's binding casts int8, int16, uint32 and uint64 images to uint8;
here they are computed in their own dtype, with the same arithmetic.)
"""

import numpy as np

from features import _max_tree as _max_kernels
from features import _tree_of_shapes as _kernels
from features import trees as _trees


def _levels(image, pad, exterior):
    """Sorted distinct levels of the image, the padding and the exterior face; ranks of the padded image.

    Returns
    -------
    values : ndarray of shape (n_levels,), image dtype
    padded_rank : ndarray of shape ((h + 2) * (w + 2),), int32
    exterior_rank : int
    """
    flat = image.reshape(-1)
    if flat.dtype.kind in "ui" and flat.dtype.itemsize <= 2:
        # Narrow integers: a table over the dtype's range, no sort.
        info = np.iinfo(flat.dtype)
        shift = -int(info.min)
        present = np.zeros(int(info.max) - int(info.min) + 1, dtype=bool)
        present[flat.astype(np.int64) + shift] = True
        present[int(pad) + shift] = True
        present[int(exterior) + shift] = True
        table = np.cumsum(present, dtype=np.int32) - 1
        values = (np.flatnonzero(present) - shift).astype(flat.dtype)
        ranks = table[flat.astype(np.int64) + shift]
        pad_rank, exterior_rank = table[int(pad) + shift], table[int(exterior) + shift]
    else:
        values, inverse = np.unique(np.concatenate([flat, np.array([pad, exterior], dtype=flat.dtype)]),
                                    return_inverse=True)
        inverse = inverse.reshape(-1).astype(np.int32)
        ranks, pad_rank, exterior_rank = inverse[:-2], inverse[-2], inverse[-1]
    padded = np.full((image.shape[0] + 2, image.shape[1] + 2), pad_rank, dtype=np.int32)
    padded[1:-1, 1:-1] = ranks.reshape(image.shape)
    return values, padded.reshape(-1), int(exterior_rank)


def _build(image, attributes):
    """Build the tree of shapes of a checked image (no validation)."""
    n_rows, n_cols = image.shape
    n = image.size
    pad, exterior = _kernels.padding_value(image)
    values, padded_rank, exterior_rank = _levels(image, pad, exterior)
    n_faces = (2 * n_rows + 3) * (2 * n_cols + 3)
    if n_faces >= _trees.MAX_PIXELS:
        raise ValueError(f"image of shape {image.shape} has {n_faces} Khalimsky faces, must have fewer than "
                         f"2**31 (int32 indices) for the tree of shapes")
    order = np.empty(n_faces, dtype=np.int32)
    faces = np.empty(_kernels.FACE_SLOTS * n_faces, dtype=np.int32)
    ends = np.empty((2, values.shape[0]), dtype=np.int32)
    words = np.empty(_kernels.bitmap_words(values.shape[0]), dtype=np.uint64)
    fifo = image.dtype.kind in "ui" and image.dtype.itemsize <= 2
    seen = np.empty((n_faces + 63) // 64, dtype=np.uint64)
    _kernels._flood(padded_rank, n_cols + 2, values, exterior_rank, fifo, order, faces, ends[0], ends[1], words,
                    seen)
    del padded_rank, ends, words
    n_nodes = _kernels._tree(order, n_cols, faces, np.empty(n_faces, dtype=np.uint8), seen)
    del seen
    node_parent = np.empty(n_nodes, dtype=np.int32)
    node_rank = np.empty(n_nodes, dtype=np.int32)
    node_area = np.empty(n_nodes, dtype=np.int32)
    node_of = np.empty(n, dtype=np.int32)
    _kernels._compact(order, faces, n_cols, node_parent, node_rank, node_area, node_of)
    del order, faces
    codes = {_trees.ATTRIBUTES[a] for a in attributes}
    bbox = np.empty(4 * n_nodes if _trees.ATTRIBUTES["diagonal"] in codes else 0, dtype=np.int32)
    moments = np.empty(4 * n_nodes if _trees.ATTRIBUTES["moment_of_inertia"] in codes else 0, dtype=np.int64)
    sums = np.empty(2 * n_nodes if _trees.ATTRIBUTES["std"] in codes else 0, dtype=np.float64)
    if bbox.size or moments.size or sums.size:
        _kernels._accumulate(image.reshape(-1), n_cols, node_of, node_parent, bbox, moments, sums)
    nodes = np.arange(n_nodes, dtype=np.int32)
    computed = {}
    for name in attributes:
        computed[name] = np.empty(n_nodes, dtype=np.float64)
        _max_kernels._attribute(nodes, node_area, bbox, moments, sums, _trees.ATTRIBUTES[name], computed[name])
    return _trees.ComponentTree(kind="shapes", shape=image.shape, adjacency=None, parent=node_parent,
                                node_map=node_of.reshape(image.shape), attributes=computed,
                                _work_altitude=values[node_rank])


def tree_of_shapes(image, attributes=("area",)):
    """Tree of shapes of a 2-D image, equal to ``higra.component_tree_tree_of_shapes_image2d(image)``'s.

    Parameters
    ----------
    image : array-like of shape (n_rows, n_cols)
        Any integer or float dtype (bool is read as uint8), finite values.
    attributes : iterable of str, default ("area",)
        Node attributes computed with the tree, among ``area``, ``diagonal``,
        ``moment_of_inertia`` (``inertia``) and ``std`` (see
        :mod:`features.trees`).

    Returns
    -------
    tree : features.trees.ComponentTree
        ``kind == "shapes"``, ``adjacency is None`` (the Khalimsky grid fixes
        the connectivity; sap ignores its ``adjacency`` argument).  Node 0 is
        the root, the shape of the padding border, at the padding level; a
        pixel's node is the smallest shape holding it.  Cost about 4 n faces
        flooded and merged, O(n log n) for the level sort of wide integers
        and floats; peak memory about 90 bytes per pixel (the faces), 4 kept
        per pixel plus the node arrays.
    """
    image = _trees.check_image(image)
    names = _trees._check_attributes(attributes)
    return _build(image, names)
