"""The bench's knobs: where the anchors are looked for, and pinning."""

from __future__ import annotations

from pathlib import Path

from bench.knobs import ANCHOR_HOMES, Knobs, anchor_home
from bench.pinning import Pinning


def test_bench_anchors_names_the_folder_or_turns_them_off(tmp_path: Path) -> None:
    assert anchor_home({"BENCH_ANCHORS": str(tmp_path)}) == tmp_path
    assert anchor_home({"BENCH_ANCHORS": "off"}) is None
    assert anchor_home({"BENCH_ANCHORS": ""}) is None


def test_unset_the_first_shared_folder_that_exists_is_used() -> None:
    found = anchor_home({})
    assert found is None or (found in ANCHOR_HOMES and (found / "anchors").is_dir())


def test_the_soak_and_the_workers_have_knobs() -> None:
    knobs = Knobs.from_env({"BENCH_SOAK": "30", "BENCH_WORKERS": "0", "BENCH_PIN": "0"})
    assert (knobs.soak, knobs.workers, knobs.pin) == (30, 0, False)
    assert Knobs.from_env({}).soak == 600


def test_wrk_runs_on_the_load_cpus_when_pinned() -> None:
    pinned = Pinning(server=frozenset({1}), load=frozenset({0}))
    assert pinned.wrap(["wrk", "-t1"]) == ["taskset", "-c", "0", "wrk", "-t1"]
    assert Pinning().wrap(["wrk", "-t1"]) == ["wrk", "-t1"]
