"""Attribute profiles of hyperspectral scenes: Cython component trees behind a sap-like API.

Public API
----------
attribute_profiles(image, attributes, adjacency=4, filtering_rule="direct", n_jobs=None)
    The (multi-)attribute profile of one 2-D image, laid out like
    ``sap.attribute_profiles(...).vectorize()``.
extended_profiles(cube, n_components, attributes, adjacency=4, filtering_rule="direct", spectra=False, n_jobs=None)
    The extended profile over the first principal components of a cube.
self_dual_profiles(image, attributes, filtering_rule="direct", n_jobs=None)
    The self-dual (multi-)attribute profile (SDAP) on the tree of shapes, laid
    out like ``sap.self_dual_attribute_profiles(...).vectorize()``.
extended_self_dual_profiles(cube, n_components, attributes, filtering_rule="direct", spectra=False, n_jobs=None)
    The SDAP over the first principal components of a cube (ESDAP).
max_tree, min_tree, tree_of_shapes
    The trees themselves (``features.trees``, ``features.shapes``).

The package imports neither ``sap`` nor ``higra`` (they are test-only references).
"""

from features.profiles import (
                               attribute_profiles,
                               extended_profiles,
                               extended_self_dual_profiles,
                               principal_components,
                               self_dual_profiles,
                               stack_spectra,
)
from features.shapes import tree_of_shapes
from features.trees import max_tree, min_tree

__all__ = ["attribute_profiles", "extended_profiles", "self_dual_profiles", "extended_self_dual_profiles",
           "principal_components", "stack_spectra", "max_tree", "min_tree", "tree_of_shapes"]
