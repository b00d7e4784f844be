import numpy as np
import pytest

from vigia.config import SplitConfig
from vigia.models.split import split_boundaries, temporal_split


def _check_partition(times, s):
    all_idx = np.concatenate([s.train, s.validation, s.test])
    assert sorted(all_idx.tolist()) == list(range(len(times)))
    assert times[s.train].max() < times[s.validation].min()
    assert times[s.validation].max() < times[s.test].min()


def test_contiguous_ordered_no_leakage_on_shuffled_input():
    rng = np.random.default_rng(0)
    times = rng.permutation(np.arange(100, dtype=float))
    s = temporal_split(times, (0.6, 0.2, 0.2))
    assert s.sizes() == {"train": 60, "validation": 20, "test": 20}
    _check_partition(times, s)
    # each part is in time order
    for part in (s.train, s.validation, s.test):
        assert np.all(np.diff(times[part]) > 0)
    assert times[s.train].tolist() == list(range(60))


def test_ties_at_boundary_move_to_next_distinct_time():
    # 10 rows, 60% cut lands at index 6, inside the run of t=5 (indices 4..7)
    times = np.array([0, 1, 2, 3, 5, 5, 5, 5, 8, 9], dtype=float)
    s = temporal_split(times, (0.6, 0.2, 0.2))
    _check_partition(times, s)
    assert sorted(times[s.train].tolist()) == [0, 1, 2, 3, 5, 5, 5, 5]
    assert times[s.validation].tolist() == [8]
    assert times[s.test].tolist() == [9]


def test_tie_run_at_end_moves_cut_back_to_keep_parts_non_empty():
    times = np.array([0, 1, 2, 3, 4, 5, 6, 7, 7, 7], dtype=float)
    s = temporal_split(times, (0.8, 0.1, 0.1))
    _check_partition(times, s)
    assert times[s.test].tolist() == [7, 7, 7]
    assert len(s.validation) >= 1


def test_datetime_input_and_config_and_boundaries():
    times = np.array(["2024-01-01T00:00", "2024-01-01T00:05", "2024-01-01T00:01", "2024-01-01T00:10",
                      "2024-01-01T00:03"], dtype="datetime64[s]")
    s = temporal_split(times, SplitConfig(train=0.6, validation=0.2, test=0.2))
    _check_partition(times, s)
    b = split_boundaries(times, s)
    assert b["cuts"] == ["2024-01-01T00:05:00", "2024-01-01T00:10:00"]
    assert b["train"]["rows"] == 3 and b["train"]["end"] == "2024-01-01T00:03:00"


def test_minimum_three_rows():
    s = temporal_split(np.array([3.0, 1.0, 2.0]))
    assert [s.train.tolist(), s.validation.tolist(), s.test.tolist()] == [[1], [2], [0]]
    with pytest.raises(ValueError, match="at least 3 rows"):
        temporal_split(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="distinct timestamps"):
        temporal_split(np.array([1.0, 1.0, 2.0, 2.0]))
    with pytest.raises(ValueError, match="fractions"):
        temporal_split(np.arange(10.0), (0.5, 0.5, 0.0))
