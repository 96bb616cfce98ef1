"""``--rate-limits`` applies to the GitHub emulator too: the same bucket sizes, with windows 100 times shorter."""

from __future__ import annotations

import time

import pytest

from bot.sandbox.github.server import LIMITS, Gate


def gate(mode: str) -> Gate:
    return Gate(lambda token: None, lambda login: 1, mode)


def test_real_limits_keep_githubs_windows_and_fast_makes_them_a_hundred_times_shorter() -> None:
    real, fast = gate("real"), gate("fast")
    for name, (limit, period) in LIMITS.items():
        assert (real.buckets[name].limit, real.buckets[name].period) == (limit, period)
        assert fast.buckets[name].limit == limit
        assert fast.buckets[name].period == max(1, round(period / 100))
    assert fast.buckets["core"].period == 36
    assert fast.buckets["core"].reset <= time.time() + 37


def test_an_unknown_mode_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"rate limits must be one of \['fast', 'real'\]"):
        gate("slow")
