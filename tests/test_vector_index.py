"""FAISS wrapper: exact search, calibrated HNSW, filters, persistence of the calibration."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rag.ann_tuning import exact_neighbours, perturbed_queries, recall_at_k
from rag.vector_index import FILTER_SCAN_MAX, VectorIndex

pytestmark = pytest.mark.unit


def clustered(n: int, dim: int = 32, seed: int = 0, spread: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 50, dim))
    vectors = centres[rng.integers(0, len(centres), n)] + spread * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def hard() -> np.ndarray:
    """Wide clusters in 64 dimensions: a small HNSW graph (M=8) needs efSearch > 16 here."""
    return clustered(5000, dim=64, spread=1.0)


@pytest.fixture(scope="module")
def hnsw(hard) -> VectorIndex:
    return VectorIndex.build(hard, ann_threshold=1000, m=8, calibration_size=300)


def test_exact_index_finds_each_vector_first():
    vectors = clustered(500)
    index = VectorIndex.build(vectors)
    scores, ids = index.search(vectors[:20], 3)
    assert index.kind == "flat" and (ids[:, 0] == np.arange(20)).all()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert index.describe() == {"type": "flat", "size": 500, "dim": 32}


def test_calibration_reaches_the_target_above_a_forced_small_threshold(hnsw):
    cal = hnsw.calibration
    assert hnsw.kind == "hnsw" and cal is not None and cal.reached
    assert cal.recall >= 0.95 and cal.sample == 300 and cal.k == 10
    assert hnsw.ef_search == cal.value == cal.curve[-1][0]
    assert hnsw.index.hnsw.efSearch == cal.value
    # the grid was walked: every value before the chosen one missed the target
    assert len(cal.curve) >= 2 and all(r < 0.95 for _, r in cal.curve[:-1])


def test_ann_top10_agrees_with_exact_at_the_calibrated_setting(hard, hnsw):
    queries = perturbed_queries(hard, 200, seed=11)  # not the calibration sample
    exact = exact_neighbours(hard, queries, 10)
    assert recall_at_k(hnsw.search(queries, 10)[1], exact) >= 0.92
    one_by_one = np.vstack([hnsw.search(q, 10)[1] for q in queries[:30]])
    assert recall_at_k(one_by_one, exact[:30]) >= 0.9
    # the smallest grid value alone does worse: the calibrated value is what keeps recall
    low = hnsw.index.search(queries, 10, params=faiss.SearchParametersHNSW(efSearch=16))[1]
    assert recall_at_k(low, exact) < recall_at_k(hnsw.search(queries, 10)[1], exact)


def test_calibration_round_trips_through_save_load_and_the_manifest(hard, hnsw, tmp_path):
    info = hnsw.describe()
    assert info["type"] == "hnsw" and info["M"] == 8 and info["efSearch"] == hnsw.ef_search
    assert info["calibration"]["value"] == hnsw.ef_search
    assert info["calibration"]["sample"] == 300 and info["calibration"]["target"] == 0.95
    hnsw.save(tmp_path / "chunks.faiss")
    loaded = VectorIndex.load(tmp_path / "chunks.faiss", info)
    assert loaded.kind == "hnsw" and loaded.ef_search == hnsw.ef_search
    assert info["calibration"]["queries"] == "perturbed vectors"
    assert loaded.describe() == info
    queries = hard[:5]
    assert np.array_equal(loaded.search(queries, 10)[1], hnsw.search(queries, 10)[1])
    # a manifest entry wins over what the file holds
    other = VectorIndex.load(tmp_path / "chunks.faiss", {**info, "efSearch": 77})
    assert other.ef_search == other.index.hnsw.efSearch == 77


@pytest.mark.parametrize("step", [7, 2])  # a small set is scanned, a large one uses the graph
def test_filtered_hnsw_search_returns_only_allowed_ids_with_recall(step):
    vectors = clustered(3 * FILTER_SCAN_MAX // 2 if step == 2 else 5000, dim=32, spread=1.0)
    index = VectorIndex.build(vectors, ann_threshold=100, m=8, calibration_size=100)
    flat = VectorIndex.build(vectors)
    allowed = np.arange(0, len(vectors), step)
    queries = perturbed_queries(vectors, 50, seed=3)
    _, found = index.search(queries, 10, allowed)
    _, truth = flat.search(queries, 10, allowed)
    assert set(found[found >= 0].tolist()) <= set(allowed.tolist())
    assert (found >= 0).all()  # a full top-10 despite the filter
    assert recall_at_k(found, truth) >= (1.0 if step == 7 else 0.9)


def test_filter_edge_cases_for_the_scan(hnsw, hard):
    none = hnsw.search(hard[:2], 5, np.array([], dtype=np.int64))
    assert (none[1] == -1).all()
    few = hnsw.search(hard[:2], 5, np.array([3, 3, 9]))  # fewer allowed than k, duplicated
    assert [set(r[r >= 0].tolist()) for r in few[1]] == [{3, 9}, {3, 9}]
    assert (few[1][:, 2:] == -1).all()


def test_flat_filter_and_an_older_ivf_index_still_load(tmp_path):
    vectors = clustered(3000)
    allowed = np.arange(0, 3000, 7)
    flat = VectorIndex.build(vectors)
    _, ids = flat.search(vectors[1], 5, allowed)
    assert set(ids[0][ids[0] >= 0]) <= set(allowed.tolist())
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(32), 32, 16, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    ivf.nprobe = 8
    faiss.write_index(ivf, str(tmp_path / "old.faiss"))
    loaded = VectorIndex.load(tmp_path / "old.faiss", {"type": "ivf", "nprobe": 8})
    assert loaded.kind == "ivf" and loaded.describe()["nprobe"] == 8
    _, ids = loaded.search(vectors[1], 5, allowed)
    assert set(ids[0][ids[0] >= 0]) <= set(allowed.tolist())
