"""Calibration of an approximate index's search parameter against exact neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from rag.ann_tuning import (
    Calibration,
    calibrate,
    exact_neighbours,
    perturbed_queries,
    recall_at_k,
)

pytestmark = pytest.mark.unit

EXACT = np.arange(200).reshape(20, 10)


def degraded(value: int) -> np.ndarray:
    """Ids as a fake index returns them: value // 10 of each row's 10 true ids, rest wrong."""
    found = EXACT.copy()
    keep = min(10, value // 10)
    found[:, keep:] = 10_000 + np.arange(10 - keep)
    return found


def test_recall_counts_shared_ids_per_row():
    found = EXACT.copy()
    found[0, :5] = -1  # half of the first row missing
    assert recall_at_k(found, EXACT) == pytest.approx(1 - 0.5 / 20)
    assert recall_at_k(EXACT[:, ::-1], EXACT) == 1.0  # order does not matter
    with pytest.raises(ValueError):
        recall_at_k(EXACT[:3], EXACT)


def test_calibrate_picks_the_smallest_value_reaching_the_target():
    seen: list[int] = []

    def search(value: int) -> np.ndarray:
        seen.append(value)
        return degraded(value)

    cal = calibrate(search, EXACT, [128, 16, 32, 64, 96, 100, 256], target=0.95)
    assert (cal.value, cal.reached, cal.k, cal.sample) == (100, True, 10, 20)
    assert cal.recall == 1.0 and cal.curve[-2] == (96, pytest.approx(0.9))
    assert seen == [16, 32, 64, 96, 100]  # ascending, nothing above the chosen value


def test_calibrate_stops_at_the_first_value_reaching_the_target():
    cal = calibrate(degraded, EXACT, [16, 32, 64, 96, 100, 256], target=0.85)
    assert cal.value == 96 and cal.recall == pytest.approx(0.9)
    assert [v for v, _ in cal.curve] == [16, 32, 64, 96]
    assert [r for _, r in cal.curve] == pytest.approx([0.1, 0.3, 0.6, 0.9])


def test_unreachable_target_reports_the_largest_value_not_reached():
    cal = calibrate(degraded, EXACT, [16, 32], target=0.95)
    assert (cal.value, cal.reached) == (32, False) and cal.recall == pytest.approx(0.3)
    with pytest.raises(ValueError):
        calibrate(degraded, EXACT, [], target=0.95)
    with pytest.raises(ValueError):
        calibrate(degraded, EXACT, [16], target=1.5)


def test_calibration_round_trips_through_a_dict():
    cal = calibrate(degraded, EXACT, [16, 32, 64, 96, 128], target=0.85, param="nprobe")
    again = Calibration.from_dict(cal.to_dict())
    assert again == Calibration.from_dict(again.to_dict())
    assert (again.param, again.value, again.sample, again.reached) == ("nprobe", 96, 20, True)
    assert [v for v, _ in again.curve] == [16, 32, 64, 96]


def test_perturbed_queries_are_unit_vectors_near_indexed_rows():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = perturbed_queries(vectors, 100, noise=0.5, seed=1)
    assert queries.shape == (100, 32) and queries.dtype == np.float32
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    nearest = (queries @ vectors.T).max(axis=1)
    assert (nearest < 0.9999).all() and np.median(nearest) > 0.5  # moved, not far
    assert np.array_equal(queries, perturbed_queries(vectors, 100, noise=0.5, seed=1))


def test_exact_neighbours_match_brute_force():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    queries = rng.normal(size=(7, 16)).astype(np.float32)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]
    assert np.array_equal(exact_neighbours(vectors, queries, 5), expected)
