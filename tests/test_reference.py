"""The reference reproduces the course's published values for its public cases."""

import numpy as np

from reference import solution


def _course_parameters():
    return {
        "W1": np.random.randn(2, 3),
        "b1": np.random.randn(2, 1),
        "W2": np.random.randn(3, 2),
        "b2": np.random.randn(3, 1),
        "W3": np.random.randn(1, 3),
        "b3": np.random.randn(1, 1),
    }


def test_regularized_cost_matches_the_course_value():
    np.random.seed(1)
    Y = np.array([[1, 1, 0, 1, 0]])
    parameters = _course_parameters()
    A3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    cost = solution.compute_cost_with_regularization(A3, Y, parameters, lambd=0.1)
    assert cost == 1.7864859451590758


def test_forward_dropout_matches_the_course_value():
    np.random.seed(1)
    X = np.random.randn(3, 5)
    parameters = _course_parameters()
    np.random.seed(1)
    A3, cache = solution.forward_propagation_with_dropout(X, parameters, keep_prob=0.7)
    np.testing.assert_allclose(A3, [[0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721]], rtol=0, atol=5e-9)
    assert len(cache) == 14


def test_backward_regularization_adds_lambda_over_m_times_w():
    np.random.seed(2)
    X = np.random.randn(3, 4)
    Y = np.array([[1, 0, 1, 0]])
    from reference.support.reg_utils import backward_propagation, forward_propagation

    _, cache = forward_propagation(X, _course_parameters())
    plain = backward_propagation(X, Y, cache)
    regularized = solution.backward_propagation_with_regularization(X, Y, cache, lambd=0.7)
    W1, W2, W3 = cache[2], cache[6], cache[10]
    for name, W in (("dW1", W1), ("dW2", W2), ("dW3", W3)):
        np.testing.assert_allclose(regularized[name], plain[name] + 0.7 / 4 * W)


def test_backward_dropout_reapplies_the_masks():
    np.random.seed(3)
    X = np.random.randn(3, 5)
    Y = np.array([[1, 0, 1, 0, 1]])
    _, cache = solution.forward_propagation_with_dropout(X, _course_parameters(), keep_prob=0.5)
    gradients = solution.backward_propagation_with_dropout(X, Y, cache, keep_prob=0.5)
    D1, D2 = cache[1], cache[6]
    assert np.all(gradients["dA1"][~D1] == 0)
    assert np.all(gradients["dA2"][~D2] == 0)
