"""RetryPolicy's bounds as properties: every wait lies in [0, max_delay_s], jitter included, and the backoff
before jitter never shrinks from one attempt to the next."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.dispatch.retry import RetryPolicy

seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(min_value=1, max_value=50),
    base_delay_s=seconds,
    factor=st.floats(min_value=1, max_value=1e6, allow_nan=False, allow_infinity=False),
    max_delay_s=seconds,
    jitter=st.floats(min_value=0, max_value=1, allow_nan=False),
)
attempts = st.integers(min_value=1, max_value=100_000)
fractions = st.floats(min_value=0, max_value=1, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(policy=policies, attempt=attempts, u=fractions)
def test_every_delay_lies_between_zero_and_the_cap(policy: RetryPolicy, attempt: int, u: float) -> None:
    delay = policy.delay(attempt, lambda: u)
    assert 0 <= policy.backoff(attempt) <= delay <= policy.max_delay_s


@settings(max_examples=500, deadline=None)
@given(policy=policies, attempt=attempts)
def test_backoff_before_jitter_never_decreases(policy: RetryPolicy, attempt: int) -> None:
    assert policy.backoff(attempt) <= policy.backoff(attempt + 1)


@settings(max_examples=200, deadline=None)
@given(policy=policies, attempt=st.integers(min_value=1, max_value=30))
def test_without_jitter_the_delay_is_the_documented_formula(policy: RetryPolicy, attempt: int) -> None:
    plain = RetryPolicy(policy.max_attempts, policy.base_delay_s, policy.factor, policy.max_delay_s, jitter=0.0)
    expected = min(policy.max_delay_s, policy.base_delay_s * policy.factor ** (attempt - 1))
    assert plain.delay(attempt, lambda: pytest.fail("no draw without jitter")) == expected


def test_jitter_at_the_cap_no_longer_overshoots() -> None:
    """The old order (cap, then add jitter) waited 4 s here although max_delay_s is 2 s."""
    policy = RetryPolicy(base_delay_s=2.0, max_delay_s=2.0, jitter=1.0)
    assert policy.delay(1, lambda: 1.0) == 2.0
    below = RetryPolicy(base_delay_s=1.0, max_delay_s=2.0, jitter=0.5)
    assert below.delay(1, lambda: 0.5) == 1.25  # jitter still spreads waits below the cap


def test_default_random_jitter_stays_in_bounds() -> None:
    policy = RetryPolicy(base_delay_s=0.5, factor=3.0, max_delay_s=1.0, jitter=1.0)
    for attempt in range(1, 6):
        for _ in range(200):
            assert policy.backoff(attempt) <= policy.delay(attempt) <= 1.0


def test_huge_attempt_numbers_saturate_instead_of_overflowing() -> None:
    policy = RetryPolicy(base_delay_s=0.1, factor=10.0, max_delay_s=3.0, jitter=0.2)
    assert policy.backoff(10**6) == 3.0 and policy.delay(10**6, lambda: 1.0) == 3.0
    assert RetryPolicy(base_delay_s=0.0, factor=10.0).backoff(10**6) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay_s": -1.0}, {"factor": 0.5}, {"max_delay_s": -0.1}, {"jitter": 1.5},
     {"jitter": -0.1}, {"base_delay_s": math.nan}, {"max_delay_s": math.inf}, {"factor": math.inf}],
)
def test_invalid_parameters_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        RetryPolicy().delay(0)
