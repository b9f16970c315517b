"""Attribute profiles of hyperspectral scenes: Cython component trees behind a sap-like API.

Public API
----------
attribute_profiles(image, attributes, adjacency=4, filtering_rule="direct", n_jobs=None)
    The (multi-)attribute profile of one 2-D image, laid out like
    ``sap.attribute_profiles(...).vectorize()``.
extended_profiles(cube, n_components, attributes, adjacency=4, filtering_rule="direct", spectra=False, n_jobs=None)
    The extended profile over the first principal components of a cube.
max_tree, min_tree
    The component trees themselves (``features.trees``).

The package imports neither ``sap`` nor ``higra`` (they are test-only references).
"""

from features.profiles import attribute_profiles, extended_profiles, principal_components, stack_spectra
from features.trees import max_tree, min_tree

__all__ = ["attribute_profiles", "extended_profiles", "principal_components", "stack_spectra",
           "max_tree", "min_tree"]
