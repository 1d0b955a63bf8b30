"""Expectations derived from a submission's own masks and upstream values pay only for work."""

from __future__ import annotations

import numpy as np
import pytest

from reference.consistency import SCALE, backward_dropout, forward_dropout, genuine_mask, informative, on_scale
from reference.support.reg_utils import relu, sigmoid

FORWARD_CASE = "dropout-forward-half"
BACKWARD_CASE = "dropout-backward-half"


@pytest.fixture
def forward(assignment):
    data = assignment.data[FORWARD_CASE]
    reference = data.expected["default"]
    return data.inputs, reference, {name: value.copy() for name, value in reference.items()}


@pytest.fixture
def backward(assignment):
    data = assignment.data[BACKWARD_CASE]
    reference = data.expected["default"]
    return data.inputs, reference, {name: value.copy() for name, value in reference.items()}


def _layer_one(inputs) -> np.ndarray:
    parameters = inputs["parameters"]
    return relu(np.dot(parameters["W1"], inputs["X"]) + parameters["b1"])


# ---------------------------------------------------------------- what counts as a mask, what as on scale


@pytest.mark.parametrize("mask", [
    np.array([[True, False]]), np.array([[1, 0]]), np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]]),
])
def test_bool_or_exact_zero_one_arrays_are_genuine_masks(mask):
    assert genuine_mask(mask, (1, 2))


@pytest.mark.parametrize("mask", [
    np.full((1, 2), 1e-300), np.full((1, 2), 1e-12), np.array([[0.3, 0.9]]), np.array([[1.0, 2.0]]),
    np.array([[np.nan, 1.0]]), np.array([[True, False, True]]), None,
], ids=["1e-300", "1e-12", "uniform-draws", "two", "nan", "wrong-shape", "missing"])
def test_other_arrays_are_not_masks(mask):
    assert not genuine_mask(mask, (1, 2))


def test_scale_is_a_generous_factor_of_the_reference_norm_either_way():
    reference = np.array([[3.0, -4.0]])
    assert on_scale(reference * 1.01 / SCALE, reference) and on_scale(reference * 0.99 * SCALE, reference)
    assert not on_scale(reference / (SCALE * 1.01), reference)
    assert not on_scale(reference * SCALE * 1.01, reference)


@pytest.mark.parametrize("value", [
    np.full((1, 2), np.nan), np.full((1, 2), np.inf), np.full((1, 2), 1e300), np.zeros((1, 2)), np.ones((2, 1)),
], ids=["nan", "inf", "huge", "zeros", "transposed"])
def test_non_finite_huge_zero_or_misshapen_values_are_off_scale(value):
    assert not on_scale(value, np.array([[3.0, -4.0]]))


def test_nothing_is_on_the_scale_of_an_all_zero_reference():
    assert not on_scale(np.zeros((1, 2)), np.zeros((1, 2)))


# ---------------------------------------------------------------- forward: A1, A2, A3


def test_a1_follows_the_submissions_own_genuine_mask(forward):
    inputs, reference, outputs = forward
    outputs["D1"] = ~reference["D1"]
    value, source = forward_dropout(inputs, outputs, reference)["A1"]
    assert source == "D1"
    np.testing.assert_array_equal(value, _layer_one(inputs) * ~reference["D1"] / inputs["keep_prob"])


@pytest.mark.parametrize("scale", [1e-300, 1e-12], ids=["1e-300", "1e-12"])
def test_masks_of_vanishing_scale_derive_no_activation(forward, scale):
    inputs, reference, outputs = forward
    outputs |= {name: np.full(reference[name].shape, scale) for name in ("D1", "D2", "A1", "A2")}
    assert forward_dropout(inputs, outputs, reference) == {}


def test_a_mask_of_uniform_draws_derives_no_a1(forward):
    inputs, reference, outputs = forward
    outputs["D1"] = np.random.default_rng(0).random(reference["D1"].shape)
    assert "A1" not in forward_dropout(inputs, outputs, reference)


def test_an_all_zero_mask_derives_no_a1_or_a2(forward):
    inputs, reference, outputs = forward
    outputs["D1"], outputs["D2"] = np.zeros_like(reference["D1"]), np.zeros_like(reference["D2"])
    derived = forward_dropout(inputs, outputs, reference)
    assert "A1" not in derived and "A2" not in derived


def test_a_mask_kept_only_where_layer_one_is_dead_derives_no_a1(forward):
    inputs, reference, outputs = forward
    outputs["D1"] = _layer_one(inputs) == 0
    assert outputs["D1"].any()
    assert "A1" not in forward_dropout(inputs, outputs, reference)


def test_an_all_ones_mask_derives_layer_one_undropped(forward):
    """A1 from a mask of ones is relu(W1·X + b1)/keep_prob: all of layer one's work, so it may earn A1."""
    inputs, reference, outputs = forward
    outputs["D1"] = np.ones(reference["D1"].shape, dtype=bool)
    value, _ = forward_dropout(inputs, outputs, reference)["A1"]
    np.testing.assert_array_equal(value, _layer_one(inputs) / inputs["keep_prob"])


@pytest.mark.parametrize("factor", [1e-12, 1e12, np.nan], ids=["tiny", "huge", "nan"])
def test_an_a1_off_the_references_scale_derives_no_a2(forward, factor):
    inputs, reference, outputs = forward
    outputs["A1"] = reference["A1"] * factor
    assert "A2" not in forward_dropout(inputs, outputs, reference)


@pytest.mark.parametrize("factor", [1e-12, 1e12, np.nan], ids=["tiny", "huge", "nan"])
def test_an_a2_off_the_references_scale_derives_no_a3(forward, factor):
    inputs, reference, outputs = forward
    outputs["A2"] = reference["A2"] * factor
    assert "A3" not in forward_dropout(inputs, outputs, reference)


def test_an_unscaled_a1_derives_a2_from_it(forward):
    """A1 without the 1/keep_prob is wrong but on scale: A2's step is judged on its own."""
    inputs, reference, outputs = forward
    outputs["A1"] = reference["A1"] * inputs["keep_prob"]
    parameters = inputs["parameters"]
    value, source = forward_dropout(inputs, outputs, reference)["A2"]
    assert source == "A1 and D2"
    expected = relu(np.dot(parameters["W2"], outputs["A1"]) + parameters["b2"]) * reference["D2"] / inputs["keep_prob"]
    np.testing.assert_array_equal(value, expected)


def test_a_random_a2_on_scale_derives_a3_that_still_needs_the_output_layer(forward):
    inputs, reference, outputs = forward
    outputs["A2"] = np.random.default_rng(1).random(reference["A2"].shape)
    assert on_scale(outputs["A2"], reference["A2"])
    parameters = inputs["parameters"]
    value, _ = forward_dropout(inputs, outputs, reference)["A3"]
    np.testing.assert_array_equal(value, sigmoid(np.dot(parameters["W3"], outputs["A2"]) + parameters["b3"]))


# ---------------------------------------------------------------- backward: dA1


def test_da1_follows_an_unscaled_da2(backward):
    inputs, reference, outputs = backward
    outputs["dA2"] = reference["dA2"] * inputs["keep_prob"]
    value, source = backward_dropout(inputs, outputs, reference)["dA1"]
    assert source == "dA2"
    np.testing.assert_allclose(value, reference["dA1"] * inputs["keep_prob"])


@pytest.mark.parametrize("value", [1e-300, 1e-12, np.nan], ids=["1e-300", "1e-12", "nan"])
def test_a_da2_off_the_references_scale_derives_no_da1(backward, value):
    inputs, reference, outputs = backward
    outputs["dA2"] = np.full(reference["dA2"].shape, value)
    assert backward_dropout(inputs, outputs, reference) == {}


def test_a_da2_only_where_the_caches_a2_is_zero_derives_no_da1(backward):
    """dA2 there passes no gradient back: the derived dA1 would be zeros, which needs no work."""
    inputs, reference, outputs = backward
    A2 = inputs["cache"][7]
    outputs["dA2"] = np.where(A2 > 0, 0.0, np.abs(reference["dA2"]).max())
    assert on_scale(outputs["dA2"], reference["dA2"])
    assert backward_dropout(inputs, outputs, reference) == {}


def test_an_a2_that_saturates_the_sigmoid_derives_no_a3(forward):
    """An A2 along W3ᵀ, large but on scale, makes sigmoid(W3·A2 + b3) all ones: no work to match."""
    inputs, reference, outputs = forward
    direction = np.repeat(inputs["parameters"]["W3"].T, reference["A2"].shape[1], axis=1)
    outputs["A2"] = direction / np.linalg.norm(direction) * np.linalg.norm(reference["A2"]) * SCALE * 0.9
    assert on_scale(outputs["A2"], reference["A2"])
    assert "A3" not in forward_dropout(inputs, outputs, reference)


def test_a_constant_value_is_informative_where_the_reference_is_constant_too():
    assert informative(np.array([[0.5]]), np.array([[0.7]]))
    assert not informative(np.array([[1.0, 1.0]]), np.array([[0.7, 0.2]]))
