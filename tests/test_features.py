"""features: Cython max-/min-trees and attribute profiles, checked against sap/higra and scikit-image."""

import numpy as np
import pytest

from features import attribute_profiles, extended_profiles, max_tree, min_tree, principal_components
from features.trees import invert

DTYPES = [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64,
          np.float32, np.float64]
RULES = ["direct", "subtractive", "min", "max"]

# The 3 x 3 image worked out by hand: with 4-adjacency every pixel but the
# four 1s is its own regional extremum.
HAND = np.array([[3, 1, 2],
                 [1, 5, 1],
                 [2, 1, 4]], dtype=np.uint8)


def _random_image(rng, dtype, shape=(13, 17), levels=6):
    """A small image with plateaus; covers negative values for signed dtypes and wrap-around."""
    values = rng.integers(0, levels, shape)
    if np.dtype(dtype).kind == "f":
        return (values * 0.37 - 1.1).astype(dtype)
    if np.dtype(dtype).kind == "i":
        return (values - levels // 2).astype(dtype)
    return values.astype(dtype)


def _sap():
    pytest.importorskip("higra")
    return pytest.importorskip("sap")


def _sap_profiles(image, attributes, adjacency, rule):
    sap = _sap()
    return sap.attribute_profiles(image, attributes, adjacency=adjacency, filtering_rule=rule).vectorize()


def _higra_reference_attribute(tree, image, name):
    """Attributes sap cannot name (diagonal, std), computed with higra on a sap tree."""
    hg = pytest.importorskip("higra")
    t = tree._tree
    n_rows, n_cols = image.shape
    rows = np.repeat(np.arange(n_rows, dtype=np.float64), n_cols)
    cols = np.tile(np.arange(n_cols, dtype=np.float64), n_rows)
    if name == "diagonal":
        height = (hg.accumulate_sequential(t, rows, hg.Accumulators.max)
                  - hg.accumulate_sequential(t, rows, hg.Accumulators.min) + 1)
        width = (hg.accumulate_sequential(t, cols, hg.Accumulators.max)
                 - hg.accumulate_sequential(t, cols, hg.Accumulators.min) + 1)
        return np.sqrt(height * height + width * width)
    values = image.reshape(-1).astype(np.float64)
    area = hg.attribute_area(t)
    mean = hg.accumulate_sequential(t, values, hg.Accumulators.sum) / area
    mean2 = hg.accumulate_sequential(t, values * values, hg.Accumulators.sum) / area
    variance = mean2 - mean * mean
    return np.sqrt(np.maximum(variance, 0.0))


def _sap_custom_profiles(image, name, thresholds, adjacency, rule):
    """sap's profile layout and filtering rules with a higra-computed attribute."""
    sap = _sap()
    thickening_tree = sap.MinTree(image, adjacency)
    thinning_tree = sap.MaxTree(image, adjacency)
    planes = []
    attribute = _higra_reference_attribute(thickening_tree, image, name)
    planes += [thickening_tree.reconstruct(attribute < t, filtering=rule) for t in thresholds[::-1]]
    planes.append(thinning_tree.reconstruct())
    attribute = _higra_reference_attribute(thinning_tree, image, name)
    planes += [thinning_tree.reconstruct(attribute < t, filtering=rule) for t in thresholds]
    return np.stack(planes)


# --- hand-checked and structural tests (no reference library needed) -----------------

def test_hand_checked_area_profile():
    got = attribute_profiles(HAND, {"area": [2, 100]})
    expected = np.array([
        [[5, 5, 5], [5, 5, 5], [5, 5, 5]],   # thickening, area 100: everything merges into the root
        [[3, 2, 2], [2, 5, 2], [2, 2, 4]],   # thickening, area 2: the isolated 1s rise to 2
        HAND,                                # the image
        [[1, 1, 1], [1, 1, 1], [1, 1, 1]],   # thinning, area 2: every peak is a single pixel
        [[1, 1, 1], [1, 1, 1], [1, 1, 1]],   # thinning, area 100
    ], dtype=np.uint8)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def test_hand_checked_tree():
    tree = max_tree(HAND, adjacency=4, attributes=("area", "diagonal", "inertia", "std"))
    # Nodes: root (all 9 pixels at level >= 1) and the five single-pixel peaks 3, 2, 5, 2, 4.
    assert tree.n_nodes == 6
    assert tree.parent[0] == 0 and np.all(tree.parent[1:] == 0)
    assert sorted(tree.altitude.tolist()) == [1, 2, 2, 3, 4, 5]
    np.testing.assert_array_equal(np.sort(tree.attributes["area"]), [1, 1, 1, 1, 1, 9])
    assert tree.attributes["diagonal"][0] == np.sqrt(18.0)
    assert np.all(tree.attributes["diagonal"][1:] == np.sqrt(2.0))
    assert np.all(tree.attributes["moment_of_inertia"][1:] == 0.0)
    # Root: 9 pixels of the 3 x 3 grid, mu20 = mu02 = 6, I = 12 / 81.
    assert tree.attributes["moment_of_inertia"][0] == pytest.approx(12 / 81)
    assert tree.attributes["std"][0] == pytest.approx(np.std(HAND.astype(float)))
    assert tree.node_map[1, 1] != tree.node_map[0, 1]
    assert tree.node_map[0, 1] == tree.node_map[1, 0] == 0


def _canonical(tree):
    """Per pixel: the smallest pixel index of its node and of its parent node (a numbering-free tree)."""
    flat = tree.node_map.reshape(-1)
    first = np.full(tree.n_nodes, flat.size)
    np.minimum.at(first, flat, np.arange(flat.size))
    return np.stack([first[flat], first[tree.parent[flat]]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_gives_the_same_tree(dtype):
    rng = np.random.default_rng(5)
    base = _random_image(rng, np.uint8, (9, 11), levels=5)
    reference = max_tree(base, adjacency=8, attributes=("area", "diagonal"))
    kind = np.dtype(dtype).kind
    image = base.astype(dtype) * (0.5 if kind == "f" else 1) - (2 if kind == "i" else 0)
    image = image.astype(dtype)
    tree = max_tree(image, adjacency=8, attributes=("area", "diagonal"))
    # Node numbers may differ (ties sort differently per dtype): compare the trees up to renumbering.
    np.testing.assert_array_equal(_canonical(tree), _canonical(reference))
    for name in ("area", "diagonal"):
        np.testing.assert_array_equal(tree.attributes[name][tree.node_map],
                                      reference.attributes[name][reference.node_map])
    out = tree.filter("area", 4)
    assert out.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_min_tree_is_max_tree_of_inverted_image(dtype):
    rng = np.random.default_rng(7)
    image = _random_image(rng, dtype, (12, 10))
    low = min_tree(image, attributes=("area",))
    high = max_tree(invert(image), attributes=("area",))
    np.testing.assert_array_equal(_canonical(low), _canonical(high))
    np.testing.assert_array_equal(low.altitude, invert(high.altitude))
    for rule in RULES:
        np.testing.assert_array_equal(low.filter("area", 5, rule), invert(high.filter("area", 5, rule)))
    assert np.all(low.filter("area", 5) >= image) and np.all(high.filter("area", 5) <= invert(image))


def test_area_thinning_equals_skimage_area_opening():
    morphology = pytest.importorskip("skimage.morphology")
    rng = np.random.default_rng(11)
    image = rng.integers(0, 50, (40, 37)).astype(np.uint16)
    for adjacency, connectivity in ((4, 1), (8, 2)):
        tree = max_tree(image, adjacency=adjacency)
        for threshold in (2, 7, 30):
            expected = morphology.area_opening(image, area_threshold=threshold, connectivity=connectivity)
            np.testing.assert_array_equal(tree.filter("area", threshold), expected)
            closed = morphology.area_closing(image, area_threshold=threshold, connectivity=connectivity)
            np.testing.assert_array_equal(min_tree(image, adjacency).filter("area", threshold), closed)


def test_tree_matches_higra_nodes_and_areas():
    hg = pytest.importorskip("higra")
    rng = np.random.default_rng(3)
    image = rng.integers(0, 8, (21, 19)).astype(np.int32)
    for adjacency, graph in ((4, hg.get_4_adjacency_graph), (8, hg.get_8_adjacency_graph)):
        for build, reference in ((max_tree, hg.component_tree_max_tree), (min_tree, hg.component_tree_min_tree)):
            ours = build(image, adjacency=adjacency)
            theirs, altitudes = reference(graph(image.shape), image)
            internal = np.arange(theirs.num_leaves(), theirs.num_vertices())
            assert ours.n_nodes == internal.size
            area = hg.attribute_area(theirs)
            # Each pixel's node: same level and area as its higra parent (the smallest component holding it).
            leaf_parent = theirs.parents()[: image.size]
            np.testing.assert_array_equal(ours.altitude[ours.node_map.reshape(-1)], altitudes[leaf_parent])
            np.testing.assert_array_equal(ours.attributes["area"][ours.node_map.reshape(-1)], area[leaf_parent])
            np.testing.assert_array_equal(np.sort(ours.attributes["area"]), np.sort(area[internal]))


# --- equality with sap ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", RULES)
def test_area_profiles_equal_sap(dtype, rule):
    _sap()
    rng = np.random.default_rng(abs(hash((np.dtype(dtype).name, rule))) % 2**32)
    for adjacency in (4, 8):
        for _ in range(2):
            image = _random_image(rng, dtype)
            attributes = {"area": [2, 5, 17, 400]}
            expected = _sap_profiles(image, attributes, adjacency, rule)
            got = attribute_profiles(image, attributes, adjacency=adjacency, filtering_rule=rule)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8])
def test_subtractive_wraps_like_sap_at_dtype_limits(dtype):
    rng = np.random.default_rng(13)
    info = np.iinfo(dtype)
    image = rng.choice([info.min, info.min + 1, info.max // 2, info.max - 1, info.max], size=(12, 12)).astype(dtype)
    attributes = {"area": [3, 9]}
    for adjacency in (4, 8):
        expected = _sap_profiles(image, attributes, adjacency, "subtractive")
        np.testing.assert_array_equal(attribute_profiles(image, attributes, adjacency, "subtractive"), expected)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_inertia_profiles_equal_sap(rule, dtype):
    _sap()
    rng = np.random.default_rng(17)
    for adjacency in (4, 8):
        image = _random_image(rng, dtype, (15, 14), levels=4)
        attributes = {"moment_of_inertia": [0.1, 0.2, 0.35, 1.0]}
        expected = _sap_profiles(image, attributes, adjacency, rule)
        got = attribute_profiles(image, attributes, adjacency=adjacency, filtering_rule=rule)
        np.testing.assert_array_equal(got, expected)
        # The alias gives the same features.
        np.testing.assert_array_equal(attribute_profiles(image, {"inertia": attributes["moment_of_inertia"]},
                                                         adjacency=adjacency, filtering_rule=rule), expected)


@pytest.mark.parametrize("name, thresholds", [("diagonal", [1.5, 3, 4.5, 9]), ("std", [0.3, 0.6, 1.2])])
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float64])
def test_diagonal_and_std_profiles_equal_sap_rules(name, thresholds, rule, dtype):
    rng = np.random.default_rng(19)
    for adjacency in (4, 8):
        image = _random_image(rng, dtype, (14, 15), levels=5)
        expected = _sap_custom_profiles(image, name, thresholds, adjacency, rule)
        got = attribute_profiles(image, {name: thresholds}, adjacency=adjacency, filtering_rule=rule)
        np.testing.assert_array_equal(got, expected)


def test_multi_attribute_profile_equals_sap_concatenation():
    _sap()
    rng = np.random.default_rng(23)
    image = rng.normal(size=(20, 18))
    attributes = {"moment_of_inertia": [0.2, 0.5], "area": [10, 3, 50]}   # unsorted thresholds kept as given
    for rule in RULES:
        expected = _sap_profiles(image, attributes, 8, rule)
        got = attribute_profiles(image, attributes, adjacency=8, filtering_rule=rule)
        np.testing.assert_array_equal(got, expected)


def test_extended_profiles_equal_sap_on_principal_components():
    _sap()
    from pisvm.data.synth import synthetic_scene

    cube, _ = synthetic_scene(n_rows=24, n_cols=30, n_bands=12, random_state=1)
    attributes = {"area": [5, 25, 100], "std": [0.05]}
    components = principal_components(cube, 3)
    assert components.shape == (3, 24, 30) and components.dtype == np.float64
    got = extended_profiles(cube, 3, attributes, adjacency=4, filtering_rule="subtractive")
    expected_area = [_sap_profiles(pc, {"area": [5, 25, 100]}, 4, "subtractive") for pc in components]
    expected_std = [_sap_custom_profiles(pc, "std", [0.05], 4, "subtractive") for pc in components]
    expected = np.concatenate([np.concatenate(pair) for pair in zip(expected_area, expected_std)])
    np.testing.assert_array_equal(got, expected)
    with_spectra = extended_profiles(cube, 3, attributes, filtering_rule="subtractive", spectra=True)
    assert with_spectra.shape == (got.shape[0] + 12, 24, 30)
    np.testing.assert_array_equal(with_spectra[: got.shape[0]], got)
    np.testing.assert_array_equal(with_spectra[got.shape[0]:], np.moveaxis(cube, 2, 0).astype(np.float64))


def test_salinas_a_principal_components_equal_sap(shared_data):
    _sap()
    from pisvm.data.scene import import_mat

    cube, _, _ = import_mat(shared_data / "salinas_a" / "SalinasA.mat", shared_data / "salinas_a" / "SalinasA_gt.mat")
    components = principal_components(cube, 2)
    for adjacency in (4, 8):
        got = extended_profiles(cube, 2, {"area": [25, 100, 500, 1000], "moment_of_inertia": [0.2, 0.5]},
                                adjacency=adjacency)
        expected = np.concatenate([
            _sap_profiles(pc, {"area": [25, 100, 500, 1000], "moment_of_inertia": [0.2, 0.5]}, adjacency, "direct")
            for pc in components])
        np.testing.assert_array_equal(got, expected)
    band = np.ascontiguousarray(cube[:, :, 100])
    for rule in RULES:
        np.testing.assert_array_equal(attribute_profiles(band, {"area": [25, 500]}, filtering_rule=rule),
                                      _sap_profiles(band, {"area": [25, 500]}, 4, rule))


# --- every argument matters, bad input is rejected in one line ------------------------

def test_each_argument_changes_the_output():
    rng = np.random.default_rng(29)
    image = rng.integers(0, 20, (30, 30)).astype(np.int16)
    base = attribute_profiles(image, {"area": [4, 16]})
    assert not np.array_equal(base, attribute_profiles(image, {"area": [4, 16]}, adjacency=8))
    assert not np.array_equal(base, attribute_profiles(image, {"area": [4, 32]}))
    assert not np.array_equal(base, attribute_profiles(image, {"diagonal": [4, 16]}))
    # Area is increasing: its rules agree.  Inertia is not, so each rule differs.
    inertia = {rule: attribute_profiles(image, {"inertia": [0.2, 0.4]}, filtering_rule=rule) for rule in RULES}
    for one in RULES:
        for other in RULES:
            assert one == other or not np.array_equal(inertia[one], inertia[other]), (one, other)
    assert np.array_equal(base, attribute_profiles(image, {"area": [4, 16]}, n_jobs=1))
    cube = rng.normal(size=(12, 12, 6))
    assert extended_profiles(cube, 2, {"area": [4]}).shape == (6, 12, 12)
    assert not np.array_equal(extended_profiles(cube, 2, {"area": [4]})[3:],
                              extended_profiles(cube, 3, {"area": [4]})[6:])


@pytest.mark.parametrize("call, fragment", [
    (lambda: attribute_profiles(np.zeros((3, 3, 2)), {"area": [2]}), "must be 2-D"),
    (lambda: attribute_profiles(np.array([[0.0, np.nan], [1.0, 2.0]]), {"area": [2]}), "must be finite"),
    (lambda: attribute_profiles(np.array([[0.0, np.inf], [1.0, 2.0]]), {"area": [2]}), "must be finite"),
    (lambda: attribute_profiles(np.zeros((3, 3)), {"area": [0]}), "must be finite and > 0"),
    (lambda: attribute_profiles(np.zeros((3, 3)), {"area": [5, -1]}), "must be finite and > 0"),
    (lambda: attribute_profiles(np.zeros((3, 3)), {"volume": [5]}), "attribute 'volume' not in"),
    (lambda: attribute_profiles(np.zeros((3, 3)), {"area": [5]}, filtering_rule="soft"), "filtering_rule 'soft'"),
    (lambda: attribute_profiles(np.zeros((3, 3)), {"area": [5]}, adjacency=6), "adjacency == 6"),
    (lambda: attribute_profiles(np.zeros((3, 3)), {}), "non-empty dict"),
    (lambda: attribute_profiles(np.zeros((3, 3)), {"area": [5]}, n_jobs=0), "n_jobs == 0"),
    (lambda: extended_profiles(np.zeros((3, 3)), 1, {"area": [5]}), "must be 3-D"),
    (lambda: extended_profiles(np.zeros((3, 3, 2)), 3, {"area": [5]}), "n_components == 3"),
    (lambda: max_tree(np.zeros((3, 3)), attributes=("height",)), "attribute 'height' not in"),
])
def test_bad_input_is_one_line_value_error(call, fragment):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert fragment in message and "\n" not in message
