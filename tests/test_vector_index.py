"""FAISS wrapper: exact and IVF search, filters, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from rag.backends.faiss import VectorIndex

pytestmark = pytest.mark.unit


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 50, dim))
    vectors = centres[rng.integers(0, len(centres), n)] + 0.1 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_exact_index_finds_each_vector_first():
    vectors = clustered(500)
    index = VectorIndex.build(vectors)
    scores, ids = index.search(vectors[:20], 3)
    assert index.kind == "flat" and (ids[:, 0] == np.arange(20)).all()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)


def test_ivf_above_threshold_agrees_with_exact_on_clustered_data():
    vectors = clustered(5000)
    exact = VectorIndex.build(vectors)
    ivf = VectorIndex.build(vectors, ann_threshold=1000)
    assert ivf.kind == "ivf" and ivf.describe()["nprobe"] >= 8
    queries = vectors[::100]
    _, e = exact.search(queries, 10)
    _, a = ivf.search(queries, 10)
    recall = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(e, a)])
    assert recall >= 0.9


def test_allowed_ids_restrict_results_for_both_kinds(tmp_path):
    vectors = clustered(3000)
    allowed = np.arange(0, 3000, 7)
    for index in (VectorIndex.build(vectors), VectorIndex.build(vectors, ann_threshold=100)):
        _, ids = index.search(vectors[1], 5, allowed)
        assert set(ids[0][ids[0] >= 0]) <= set(allowed.tolist())
        path = tmp_path / f"{index.kind}.faiss"
        index.save(path)
        loaded = VectorIndex.load(path)
        assert loaded.kind == index.kind and loaded.nprobe == index.nprobe
        assert (loaded.search(vectors[:3], 4)[1] == index.search(vectors[:3], 4)[1]).all()
