"""G's verdict inputs: an RSS series' start, end, bounds and furthest drift."""

from __future__ import annotations

import os

from bench.results import RssSeries
from bench.soak import rss_kib


def test_the_drift_is_the_furthest_sample_from_the_first() -> None:
    series = RssSeries(name="bff", samples=((0, 1000), (5, 1080), (10, 950)), warm_kib=990)
    assert (series.start, series.end, series.low, series.high) == (1000, 950, 950, 1080)
    assert round(series.drift, 3) == 0.08


def test_a_shrinking_process_drifts_below_zero() -> None:
    series = RssSeries(name="api", samples=((0, 1000), (5, 850)), warm_kib=1000)
    assert round(series.drift, 3) == -0.15


def test_rss_is_read_from_proc() -> None:
    assert rss_kib(os.getpid()) > 1000
