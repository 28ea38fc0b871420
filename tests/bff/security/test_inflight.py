from __future__ import annotations

import pytest

from bff.errors import Throttled
from bff.security.inflight import InFlightLimit


def test_a_subject_gets_at_most_limit_slots_and_each_other_subject_its_own() -> None:
    limit = InFlightLimit(limit=2, message="busy")
    limit.take("a")
    limit.take("a")
    with pytest.raises(Throttled) as refused:
        limit.take("a")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
    limit.take("b")
    assert (limit.held("a"), limit.held("b")) == (2, 1)


def test_a_slot_released_twice_frees_one_place_and_nothing_is_kept_for_an_idle_subject() -> None:
    limit = InFlightLimit(limit=2, message="busy")
    first, second = limit.take("a"), limit.take("a")
    first.release()
    first.release()
    assert limit.held("a") == 1
    limit.take("a")
    with pytest.raises(Throttled):
        limit.take("a")
    second.release()
    assert limit.held("a") == 1
    assert limit._held == {"a": 1}
