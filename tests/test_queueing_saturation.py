"""The queueing formulas at and past saturation: the answer is inf (or, for Erlang C, 1), silently.

A sweep of arrival rates that reaches the stability bound is the normal way to draw a latency
curve, so the 0/0, inf/inf and x/0 that the formulas meet there must give the documented answer
without a RuntimeWarning (a notebook run with warnings as errors, or a CI log, would otherwise
fail or fill up). Each case below is one where the formula's own arithmetic hits such a point."""
import math
import warnings

import numpy as np
import pytest

from mlsysim.physics import queueing as qu


def _silently(f, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return f(*args)


@pytest.mark.parametrize("f, args, why", [
    # no server (mu = 0) and no arrivals: rho = 0 / 0 is undefined, the queue cannot drain: inf
    (qu.mm1_mean_wait, (0.0, 0.0), "lambda / mu / (mu - lambda) = 0 / 0"),
    # the median (or any quantile) at lambda = mu: -ln(1 - 0) / 0 = 0 / 0 for p = 0
    (qu.mm1_response_quantile, (0.0, 1.0, 1.0), "-ln(1 - p) / (mu - lambda) = 0 / 0"),
    # arrivals faster than any server: rho = inf, rho S (1 + C^2) / (2 (1 - rho)) = inf / -inf
    (qu.pk_mean_wait, (math.inf, 0.1, 1.0), "inf / -inf"),
    # D/D/1 at rho = 1: 1 / (1 - 1) x (0 + 0) / 2 = inf x 0
    (qu.kingman_mean_wait, (1.0, 0.1, 0.0, 0.0), "inf x 0"),
])
def test_unstable_queues_wait_forever_without_a_warning(f, args, why):
    assert _silently(f, *args) == math.inf, why


def test_a_latency_sweep_to_saturation_is_silent():
    # lambda = 0, 5, 10 per second into mu = 10/s: rho = 0, 0.5, 1
    # M/M/1 wait rho / (mu - lambda): 0, 0.5 / 5 = 0.1 s, inf
    waits = _silently(qu.mm1_mean_wait, np.array([0.0, 5.0, 10.0]), 10.0)
    np.testing.assert_allclose(waits, [0.0, 0.1, math.inf])
    # quantiles of the response time (rate mu - lambda = 10, 5, 0): p = 0 is 0 s while stable, inf at rho = 1
    # p = 0.5: ln 2 / 10 = 0.0693147 s, ln 2 / 5 = 0.1386294 s, inf
    p = np.array([[0.0], [0.5]])
    q = _silently(qu.mm1_response_quantile, p, np.array([0.0, 5.0, 10.0]), 10.0)
    np.testing.assert_allclose(q, [[0.0, 0.0, math.inf], [0.0693147, 0.1386294, math.inf]], rtol=1e-6)
    # D/D/1 (Kingman with C_a^2 = C_s^2 = 0) waits 0 while stable, inf at rho = 1
    np.testing.assert_allclose(_silently(qu.kingman_mean_wait, np.array([0.5, 1.0]), 0.1, 0.0, 0.0), [0.0, math.inf])


def test_erlang_c_far_past_saturation_is_one_without_a_warning():
    # one server offered a = 2^52 Erlangs: B_1 = a / (1 + a) rounds to 1 - 2^-52, so the Erlang C
    # denominator 1 - a (1 - B_1) = 1 - 2^52 x 2^-52 is exactly 0; past saturation everyone waits: 1
    assert _silently(qu.erlang_c, 1, 2.0 ** 52) == 1.0
    np.testing.assert_array_equal(_silently(qu.erlang_c, 1, np.array([0.5, 2.0 ** 52])), [0.5, 1.0])


def test_erlang_c_of_an_array_is_a_float_array():
    # C(1, a) = a for a < 1 (M/M/1 waits with probability rho); C(2, 1) = 1/3; 1 past saturation
    c1 = qu.erlang_c(1, np.array([0.25, 0.5, 2.0]))
    c2 = qu.erlang_c(2, np.array([1.0, 3.0]))
    assert c1.dtype == np.float64 and c2.dtype == np.float64
    assert np.isfinite(c1).all()           # numpy's ufuncs refuse object arrays
    np.testing.assert_allclose(c1, [0.25, 0.5, 1.0])
    np.testing.assert_allclose(c2, [1 / 3, 1.0])
