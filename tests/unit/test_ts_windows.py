import numpy as np
import pytest

from vigia.timeseries.windows import point_scores, sliding_windows, window_labels, window_starts


def test_window_starts_and_shapes() -> None:
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert window_starts(3, 4, 1).size == 0
    x = np.arange(20, dtype=float).reshape(10, 2)
    w = sliding_windows(x, 4, 3)
    assert w.shape == (3, 4, 2) and w.dtype == np.float32
    assert w[1, :, 0].tolist() == [6.0, 8.0, 10.0, 12.0]  # rows 3..6 of column 0
    with pytest.raises(ValueError):
        window_starts(10, 0, 1)


def test_window_label_is_positive_if_any_sample_is() -> None:
    labels = np.array([0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    # windows of 4, step 3: [0..3]=0, [3..6]=1 (index 5), [6..9]=0
    assert window_labels(labels, 4, 3).tolist() == [0, 1, 0]


def test_point_scores_max_and_mean() -> None:
    # n=6, size=3, step=2: windows [0,1,2] [2,3,4]; index 5 is uncovered.
    s = point_scores(np.array([1.0, 5.0]), 6, 3, 2)
    assert s[:5].tolist() == [1.0, 1.0, 5.0, 5.0, 5.0] and np.isnan(s[5])
    m = point_scores(np.array([1.0, 5.0]), 6, 3, 2, how="mean")
    assert m[2] == 3.0 and m[0] == 1.0
