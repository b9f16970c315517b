"""features: the tree of shapes and self-dual attribute profiles, checked by hand and against sap/higra."""

import numpy as np
import pytest

from features import extended_self_dual_profiles, principal_components, self_dual_profiles, tree_of_shapes

RULES = ["direct", "subtractive", "min", "max"]
# The dtypes higra's tree-of-shapes binding computes in (it casts int8, int16, uint32, uint64 to uint8).
SAP_DTYPES = [np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64]

# A dark ring around a bright centre inside a mid-grey frame: three nested shapes.
NESTED = np.array([[5, 5, 5, 5, 5],
                   [5, 1, 1, 1, 5],
                   [5, 1, 9, 1, 5],
                   [5, 1, 1, 1, 5],
                   [5, 5, 5, 5, 5]], dtype=np.uint8)
# A bright square and a dark bar side by side on a grey background: two sibling shapes.
SIBLINGS = np.array([[4, 4, 4, 4, 4, 4],
                     [4, 8, 8, 4, 0, 4],
                     [4, 8, 8, 4, 0, 4],
                     [4, 4, 4, 4, 4, 4]], dtype=np.int32)


def _sap():
    pytest.importorskip("higra")
    return pytest.importorskip("sap")


def _sap_sdap(image, attributes, rule):
    return _sap().self_dual_attribute_profiles(image, attributes, filtering_rule=rule).vectorize()


def _image(rng, dtype, shape=(13, 17), levels=6):
    """A small image with plateaus; negative values for signed dtypes, noise for some float images."""
    values = rng.integers(0, levels, shape)
    kind = np.dtype(dtype).kind
    if kind == "f":
        return (values * 0.37 - 1.1 + (rng.normal(scale=0.3, size=shape) if levels > 6 else 0)).astype(dtype)
    if kind == "i":
        return (values - levels // 2).astype(dtype)
    return values.astype(dtype)


def _sap_custom_sdap(image, name, thresholds, rule):
    """sap's self-dual layout and filtering rules with an attribute sap cannot name, computed with higra."""
    hg = pytest.importorskip("higra")
    sap = _sap()
    tree = sap.TosTree(image)
    t = tree._tree
    n_rows, n_cols = image.shape
    if name == "diagonal":
        rows = np.repeat(np.arange(n_rows, dtype=np.float64), n_cols)
        cols = np.tile(np.arange(n_cols, dtype=np.float64), n_rows)
        height = (hg.accumulate_sequential(t, rows, hg.Accumulators.max)
                  - hg.accumulate_sequential(t, rows, hg.Accumulators.min) + 1)
        width = (hg.accumulate_sequential(t, cols, hg.Accumulators.max)
                 - hg.accumulate_sequential(t, cols, hg.Accumulators.min) + 1)
        attribute = np.sqrt(height * height + width * width)
    else:
        values = image.reshape(-1).astype(np.float64)
        area = hg.attribute_area(t)
        mean = hg.accumulate_sequential(t, values, hg.Accumulators.sum) / area
        mean2 = hg.accumulate_sequential(t, values * values, hg.Accumulators.sum) / area
        attribute = np.sqrt(np.maximum(mean2 - mean * mean, 0.0))
    return np.stack([tree.reconstruct()] + [tree.reconstruct(attribute < t, filtering=rule) for t in thresholds])


# --- hand-checked trees (no reference library needed) ----------------------------------

def test_hand_checked_nested_shapes():
    tree = tree_of_shapes(NESTED, attributes=("area", "diagonal", "inertia", "std"))
    # The boundary mean is 5: root = the frame (level 5, all 25 pixels), then the ring
    # with its hole filled (level 1, 9 pixels), then the centre (level 9, 1 pixel).
    assert tree.kind == "shapes" and tree.adjacency is None
    np.testing.assert_array_equal(tree.parent, [0, 0, 1])
    np.testing.assert_array_equal(tree.altitude, [5, 1, 9])
    np.testing.assert_array_equal(tree.attributes["area"], [25, 9, 1])
    np.testing.assert_array_equal(tree.attributes["diagonal"], np.sqrt([50.0, 18.0, 2.0]))
    expected_map = np.zeros((5, 5), dtype=np.int32)
    expected_map[1:4, 1:4] = 1
    expected_map[2, 2] = 2
    np.testing.assert_array_equal(tree.node_map, expected_map)
    assert tree.attributes["moment_of_inertia"][2] == 0.0
    assert tree.attributes["moment_of_inertia"][1] == pytest.approx(12 / 81)   # the 3 x 3 block
    ring = NESTED[1:4, 1:4].astype(float)
    assert tree.attributes["std"][1] == pytest.approx(ring.std())
    # Removing shapes of area < 2 fills the centre with the ring's level, < 10 the ring
    # with the frame's; the root is never removed.
    profiles = self_dual_profiles(NESTED, {"area": [2, 10, 100]})
    np.testing.assert_array_equal(profiles[0], NESTED)
    np.testing.assert_array_equal(profiles[1], np.where(NESTED == 9, 1, NESTED))
    np.testing.assert_array_equal(profiles[2], np.full((5, 5), 5))
    np.testing.assert_array_equal(profiles[3], np.full((5, 5), 5))


def test_hand_checked_sibling_shapes_bright_and_dark_alike():
    tree = tree_of_shapes(SIBLINGS)
    # Boundary mean (16 pixels of 4) is 4: the root holds the background; the bright
    # square (area 4) and the dark bar (area 2) are both its children.
    assert tree.n_nodes == 3
    np.testing.assert_array_equal(tree.parent, [0, 0, 0])
    assert sorted(zip(tree.altitude.tolist(), tree.attributes["area"].tolist())) == [(0, 2), (4, 24), (8, 4)]
    assert tree.altitude[tree.node_map[1, 1]] == 8 and tree.altitude[tree.node_map[1, 4]] == 0
    profiles = self_dual_profiles(SIBLINGS, {"area": [3, 5]})
    assert profiles.dtype == np.int32
    np.testing.assert_array_equal(profiles[1], np.where(SIBLINGS == 0, 4, SIBLINGS))   # the bar goes
    np.testing.assert_array_equal(profiles[2], np.full(SIBLINGS.shape, 4))             # both go


def test_padding_wraps_in_the_image_dtype_like_higra():
    # Eight boundary pixels of 200 sum to 1600 = 64 (mod 256) in uint8: the padding is 64 / 8 = 8,
    # so the root is a shape at level 8 that no pixel has, and removing the image's only shape shows it.
    image = np.full((3, 3), 200, dtype=np.uint8)
    tree = tree_of_shapes(image)
    np.testing.assert_array_equal(tree.altitude, [8, 200])
    np.testing.assert_array_equal(self_dual_profiles(image, {"area": [10]})[1], np.full((3, 3), 8))


# --- equality with sap -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", SAP_DTYPES)
@pytest.mark.parametrize("rule", RULES)
def test_area_and_inertia_profiles_equal_sap(dtype, rule):
    _sap()
    rng = np.random.default_rng(list(map(ord, np.dtype(dtype).name + rule)))
    for levels in (4, 9):
        image = _image(rng, dtype, levels=levels)
        for attributes in ({"area": [2, 5, 17, 400]}, {"moment_of_inertia": [0.1, 0.3, 1.0]}):
            expected = _sap_sdap(image, attributes, rule)
            got = self_dual_profiles(image, attributes, filtering_rule=rule)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_larger_images_with_many_levels_equal_sap(dtype):
    _sap()
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(31)
    # 81 x 83 distinct values: more than 64**2 queue levels, three bitmap levels.
    field = gaussian_filter(rng.normal(size=(81, 83)), 2.0)
    image = (field * 4000 + 8000).astype(dtype) if dtype == np.uint16 else field.astype(dtype)
    attributes = {"area": [3, 25, 100, 1000], "inertia": [0.2]}
    for rule in RULES:
        np.testing.assert_array_equal(self_dual_profiles(image, attributes, filtering_rule=rule),
                                      _sap_sdap(image, {"area": [3, 25, 100, 1000],
                                                        "moment_of_inertia": [0.2]}, rule))


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_negative_boundary_wraps_the_padding_like_sap(dtype):
    # A signed boundary sum below 0 is divided as an unsigned 64-bit integer by higra.
    image = np.full((4, 5), -3, dtype=dtype)
    image[1:3, 1:4] = 2
    for rule in RULES:
        np.testing.assert_array_equal(self_dual_profiles(image, {"area": [2, 100]}, filtering_rule=rule),
                                      _sap_sdap(image, {"area": [2, 100]}, rule))


@pytest.mark.parametrize("dtype, wider", [(np.int8, np.int32), (np.int16, np.int32),
                                          (np.uint32, np.int64), (np.uint64, np.int64)])
def test_dtypes_higra_casts_equal_sap_on_a_lossless_cast(dtype, wider):
    # higra would cast these to uint8; small non-negative boundaries make the padding the same
    # in both dtypes, so the profile in the image's own dtype equals sap's on the wider image.
    rng = np.random.default_rng(37)
    for _ in range(3):
        image = rng.integers(0, 3, (6, 7)).astype(dtype)
        image[2:4, 2:5] = rng.integers(-2 if np.dtype(dtype).kind == "i" else 0, 6, (2, 3))
        for rule in RULES:
            got = self_dual_profiles(image, {"area": [2, 4, 50]}, filtering_rule=rule)
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(got, _sap_sdap(image.astype(wider), {"area": [2, 4, 50]}, rule))


@pytest.mark.parametrize("name, thresholds", [("diagonal", [1.5, 3, 4.5, 9]), ("std", [0.3, 0.6, 1.2])])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float64])
def test_diagonal_and_std_profiles_equal_sap_rules(name, thresholds, dtype):
    rng = np.random.default_rng(41)
    image = _image(rng, dtype, (14, 15), levels=5)
    for rule in RULES:
        np.testing.assert_array_equal(self_dual_profiles(image, {name: thresholds}, filtering_rule=rule),
                                      _sap_custom_sdap(image, name, thresholds, rule))


def test_multi_attribute_profile_equals_sap_concatenation():
    rng = np.random.default_rng(43)
    image = rng.normal(size=(20, 18))
    attributes = {"moment_of_inertia": [0.2, 0.5], "area": [10, 3, 50]}   # thresholds kept as given
    for rule in RULES:
        np.testing.assert_array_equal(self_dual_profiles(image, attributes, filtering_rule=rule),
                                      _sap_sdap(image, attributes, rule))


def test_extended_self_dual_profiles_equal_sap_on_principal_components():
    _sap()
    from pisvm.data.synth import synthetic_scene

    cube, _ = synthetic_scene(n_rows=24, n_cols=30, n_bands=12, random_state=1)
    attributes = {"area": [5, 25, 100], "moment_of_inertia": [0.3]}
    components = principal_components(cube, 3)
    got = extended_self_dual_profiles(cube, 3, attributes, filtering_rule="subtractive")
    expected = np.concatenate([_sap_sdap(pc, attributes, "subtractive") for pc in components])
    assert got.shape == (3 * 6, 24, 30) and got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    with_spectra = extended_self_dual_profiles(cube, 3, attributes, filtering_rule="subtractive", spectra=True)
    np.testing.assert_array_equal(with_spectra[: got.shape[0]], got)
    np.testing.assert_array_equal(with_spectra[got.shape[0]:], np.moveaxis(cube, 2, 0).astype(np.float64))


def test_salinas_a_principal_components_equal_sap(shared_data):
    _sap()
    from pisvm.data.scene import import_mat

    cube, _, _ = import_mat(shared_data / "salinas_a" / "SalinasA.mat", shared_data / "salinas_a" / "SalinasA_gt.mat")
    attributes = {"area": [25, 100, 500, 1000], "moment_of_inertia": [0.2, 0.5]}
    components = principal_components(cube, 2)
    for rule in RULES:
        expected = np.concatenate([_sap_sdap(pc, attributes, rule) for pc in components])
        np.testing.assert_array_equal(extended_self_dual_profiles(cube, 2, attributes, filtering_rule=rule),
                                      expected)
    # One band, in a dtype higra keeps (it would cast int16 to uint8).
    band = np.ascontiguousarray(cube[:, :, 100]).astype(np.int32)
    for rule in RULES:
        np.testing.assert_array_equal(self_dual_profiles(band, {"area": [25, 500]}, filtering_rule=rule),
                                      _sap_sdap(band, {"area": [25, 500]}, rule))


# --- self-duality and every argument ---------------------------------------------------

@pytest.mark.parametrize("rule", RULES)
def test_self_duality(rule):
    rng = np.random.default_rng(47)
    attributes = {"area": [2, 7, 30], "inertia": [0.25], "diagonal": [3.0], "std": [0.5]}
    image = rng.normal(size=(17, 19))
    np.testing.assert_array_equal(self_dual_profiles(-image, attributes, filtering_rule=rule),
                                  -self_dual_profiles(image, attributes, filtering_rule=rule))
    # Integers too, where the boundary (hence the padding) is 0 either way.
    integers = rng.integers(-4, 5, (15, 16)).astype(np.int32)
    integers[[0, -1], :] = 0
    integers[:, [0, -1]] = 0
    np.testing.assert_array_equal(self_dual_profiles(-integers, attributes, filtering_rule=rule),
                                  -self_dual_profiles(integers, attributes, filtering_rule=rule))


def test_each_argument_changes_the_output():
    rng = np.random.default_rng(53)
    image = rng.integers(0, 20, (30, 30)).astype(np.int16)
    base = self_dual_profiles(image, {"area": [4, 16]})
    assert base.shape == (3, 30, 30)
    assert not np.array_equal(base, self_dual_profiles(image, {"area": [4, 32]}))
    assert not np.array_equal(base, self_dual_profiles(image, {"diagonal": [4, 16]}))
    inertia = {rule: self_dual_profiles(image, {"inertia": [0.2, 0.4]}, filtering_rule=rule) for rule in RULES}
    for one in RULES:
        for other in RULES:
            assert one == other or not np.array_equal(inertia[one], inertia[other]), (one, other)
    assert np.array_equal(base, self_dual_profiles(image, {"area": [4, 16]}, n_jobs=1))
    cube = rng.normal(size=(12, 12, 6))
    assert extended_self_dual_profiles(cube, 2, {"area": [4]}).shape == (4, 12, 12)
    assert not np.array_equal(extended_self_dual_profiles(cube, 2, {"area": [4]})[2:],
                              extended_self_dual_profiles(cube, 3, {"area": [4]})[4:])


@pytest.mark.parametrize("call, fragment", [
    (lambda: self_dual_profiles(np.zeros((3, 3, 2)), {"area": [2]}), "must be 2-D"),
    (lambda: self_dual_profiles(np.array([[0.0, np.nan], [1.0, 2.0]]), {"area": [2]}), "must be finite"),
    (lambda: self_dual_profiles(np.array([[0.0, np.inf], [1.0, 2.0]]), {"area": [2]}), "must be finite"),
    (lambda: self_dual_profiles(np.zeros((3, 3)), {"area": [0]}), "must be finite and > 0"),
    (lambda: self_dual_profiles(np.zeros((3, 3)), {"area": [5, -1]}), "must be finite and > 0"),
    (lambda: self_dual_profiles(np.zeros((3, 3)), {"volume": [5]}), "attribute 'volume' not in"),
    (lambda: self_dual_profiles(np.zeros((3, 3)), {"area": [5]}, filtering_rule="soft"), "filtering_rule 'soft'"),
    (lambda: self_dual_profiles(np.zeros((3, 3)), {}), "non-empty dict"),
    (lambda: self_dual_profiles(np.zeros((3, 3)), {"area": [5]}, n_jobs=0), "n_jobs == 0"),
    (lambda: extended_self_dual_profiles(np.zeros((3, 3)), 1, {"area": [5]}), "must be 3-D"),
    (lambda: extended_self_dual_profiles(np.zeros((3, 3, 2)), 3, {"area": [5]}), "n_components == 3"),
    (lambda: tree_of_shapes(np.zeros((3, 3)), attributes=("height",)), "attribute 'height' not in"),
])
def test_bad_input_is_one_line_value_error(call, fragment):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert fragment in message and "\n" not in message
