"""FAISS wrapper: exact search, calibrated IVF and HNSW, filters, persistence of the calibration."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rag.ann_tuning import exact_neighbours, perturbed_queries, recall_at_k
from rag.backends import faiss as vector_index
from rag.backends.faiss import VectorIndex

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


@pytest.fixture(scope="module", params=["ivf", "hnsw"])
def ann(request, hard) -> VectorIndex:
    return VectorIndex.build(hard, ann_threshold=1000, kind=request.param, m=8,
                             calibration_size=300)


PARAM = {"ivf": ("nprobe", "nprobe"), "hnsw": ("efSearch", "ef_search")}


def low_setting(index: VectorIndex):
    """The smallest value of the index's search parameter."""
    if index.kind == "ivf":
        return faiss.SearchParametersIVF(nprobe=1)
    return faiss.SearchParametersHNSW(efSearch=16)


def live_value(index: VectorIndex) -> int:
    return int(index.index.nprobe if index.kind == "ivf" else index.index.hnsw.efSearch)


def test_exact_index_finds_each_vector_first():
    vectors = clustered(500)
    index = VectorIndex.build(vectors)
    scores, ids = index.search(vectors[:20], 3)
    assert index.kind == "flat" and (ids[:, 0] == np.arange(20)).all()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert index.describe() == {"type": "flat", "size": 500, "dim": 32}


def test_calibration_reaches_the_target_above_a_forced_small_threshold(ann):
    cal = ann.calibration
    key, attr = PARAM[ann.kind]
    assert cal is not None and cal.reached and cal.param == key
    assert cal.target == 0.96 and cal.recall >= 0.96  # the target plus the sampling margin
    assert cal.sample == 300 and cal.k == 10
    assert getattr(ann, attr) == cal.value == cal.curve[-1][0] == live_value(ann)
    # the grid was walked: every value before the chosen one missed the target
    assert len(cal.curve) >= 2 and all(r < 0.96 for _, r in cal.curve[:-1])


def test_ann_top10_agrees_with_exact_at_the_calibrated_setting(hard, ann):
    queries = perturbed_queries(hard, 200, seed=11)  # not the calibration sample
    exact = exact_neighbours(hard, queries, 10)
    found = ann.search(queries, 10)[1]
    assert recall_at_k(found, exact) >= 0.92
    one_by_one = np.vstack([ann.search(q, 10)[1] for q in queries[:30]])
    assert recall_at_k(one_by_one, exact[:30]) >= 0.9
    # the smallest grid value alone does worse: the calibrated value is what keeps recall
    low = ann.index.search(queries, 10, params=low_setting(ann))[1]
    assert recall_at_k(low, exact) < recall_at_k(found, exact)


def test_calibration_round_trips_through_save_load_and_the_manifest(hard, ann, tmp_path):
    key, attr = PARAM[ann.kind]
    info = ann.describe()
    assert info["type"] == ann.kind and info[key] == getattr(ann, attr)
    assert info.get("M", 8) == 8
    assert info["calibration"]["value"] == info[key]
    assert info["calibration"]["sample"] == 300 and info["calibration"]["target"] == 0.96
    assert info["calibration"]["queries"] == "perturbed vectors"
    ann.save(tmp_path / "chunks.faiss")
    loaded = VectorIndex.load(tmp_path / "chunks.faiss", info)
    assert loaded.kind == ann.kind and getattr(loaded, attr) == getattr(ann, attr)
    assert loaded.describe() == info
    queries = hard[:5]
    assert np.array_equal(loaded.search(queries, 10)[1], ann.search(queries, 10)[1])
    # a manifest entry wins over what the file holds
    other = VectorIndex.load(tmp_path / "chunks.faiss", {**info, key: 7})
    assert getattr(other, attr) == live_value(other) == 7


@pytest.mark.parametrize("kind", ["ivf", "hnsw", "flat"])
@pytest.mark.parametrize("step", [7, 2])  # a small set is scanned, a large one uses the index
def test_filtered_search_returns_only_allowed_ids_with_recall(step, kind, monkeypatch):
    monkeypatch.setattr(vector_index, "FILTER_SCAN_MAX", 1000)
    scans = []
    real_scan = VectorIndex._scan
    monkeypatch.setattr(VectorIndex, "_scan",
                        lambda self, *a: scans.append(1) or real_scan(self, *a))
    vectors = clustered(5000, dim=32, spread=1.0)
    index = VectorIndex.build(vectors, ann_threshold=5000 if kind == "flat" else 100,
                              kind="ivf" if kind == "flat" else kind, m=8,
                              calibration_size=100)
    flat = VectorIndex.build(vectors)
    allowed = np.arange(0, len(vectors), step)
    queries = perturbed_queries(vectors, 50, seed=3)
    _, found = index.search(queries, 10, allowed)
    _, truth = exact_filtered(vectors, queries, allowed)
    assert bool(scans) == (step == 7 and kind != "flat")  # the path the size calls for
    assert set(found[found >= 0].tolist()) <= set(allowed.tolist())
    assert (found >= 0).all()  # a full top-10 despite the filter
    assert recall_at_k(found, truth) >= (1.0 if step == 7 or kind == "flat" else 0.9)
    assert np.array_equal(flat.search(queries, 10, allowed)[1], truth)


def exact_filtered(vectors: np.ndarray, queries: np.ndarray, allowed: np.ndarray):
    scores = queries @ vectors[allowed].T
    order = np.argsort(-scores, axis=1)[:, :10]
    return np.take_along_axis(scores, order, 1), allowed[order]


def test_filter_edge_cases_for_the_scan(ann, hard):
    none = ann.search(hard[:2], 5, np.array([], dtype=np.int64))
    assert (none[1] == -1).all()
    few = ann.search(hard[:2], 5, np.array([3, 3, 9]))  # fewer allowed than k, duplicated
    assert [set(r[r >= 0].tolist()) for r in few[1]] == [{3, 9}, {3, 9}]
    assert (few[1][:, 2:] == -1).all()


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="ivf, hnsw"):
        VectorIndex.build(clustered(200), ann_threshold=10, kind="pq")


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
