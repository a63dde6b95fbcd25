"""Helpers of the fault suite: a fast deterministic encoder and nasty corpus files.

``FakeEncoder`` stands in for the embedding model (hashed character bigrams), so index
mechanics (corruption, crashes, writers, uploads) are tested in seconds without the model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DIM = 32


def _vector(text: str) -> np.ndarray:
    vec = np.zeros(DIM, dtype=np.float32)
    for a, b in zip(text, text[1:] + " "):
        h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
        vec[h % DIM] += 1.0
    norm = float(np.linalg.norm(vec))
    if norm == 0:
        vec[0] = 1.0
        norm = 1.0
    return vec / norm


class FakeEncoder:
    """The Encoder interface the index needs, without a model."""

    model_name = "fake-hash"
    dim = DIM

    def __init__(self, model: str | None = None, cache_dir: Path | None = None,
                 batch_size: int = 32, **_: object) -> None:
        self.batch_size = batch_size
        self.last_encoded = 0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([_vector(t) for t in texts]) if texts else np.zeros((0, DIM), "f4")

    def encode_passages(self, texts: Sequence[str], use_cache: bool = True,
                        progress: bool = False, **_: object) -> np.ndarray:
        self.last_encoded = len(texts)
        return self.encode_queries(list(texts))

    def encode_passages_with_spans(self, texts: Sequence[str],
                                   spans: Sequence[Sequence[tuple[int, int]]],
                                   use_cache: bool = True, progress: bool = False,
                                   span_sink=None, **_: object
                                   ) -> tuple[np.ndarray, list[np.ndarray]]:
        vectors = self.encode_passages(texts)
        none = np.zeros((0, DIM), np.float32)
        span_vectors = [np.stack([_vector(t[a:b]) for a, b in s]) if s else none
                        for t, s in zip(texts, spans)]
        if span_sink is not None:  # as CachedEncoder: handed over, not returned
            for i, vecs in enumerate(span_vectors):
                span_sink(i, vecs)
            span_vectors = [none] * len(texts)
        return vectors, span_vectors


ARTICLE = """---
title: {title}
date: 2022-06-07 10:50:57 +0800
tags: 测试报
---
<p>{body}</p>
<p>（文章来源：测试报）</p>
"""


def write_article(folder: Path, name: str, title: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ARTICLE.format(title=title, body=body), encoding="utf-8")
    return path


def small_corpus(folder: Path) -> Path:
    """Three short, distinct articles."""
    write_article(folder, "mars.md", "火星医院开业",
                  "火星医院于2031年开业，院长是张三丰。医院有两百张床位。")
    write_article(folder, "moon.md", "月球药房",
                  "月球药房由李四经营，主要销售感冒药。药房每天营业十小时。")
    write_article(folder, "sea.md", "海底诊所",
                  "海底诊所专治潜水病，所长王五曾是海军军医。诊所位于三亚。")
    return folder

