"""Batch text encoding with a sentence-transformers model (torch), query/passage prompts and a
cache; the ONNX Runtime twin is :mod:`embeddings.onnx_encoder`, the choice :func:`make_encoder`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.base import CachedEncoder, canonical_model_name, pool_spans, unit
from embeddings.loader import load_sentence_transformer, model_prompts

__all__ = ["Encoder", "canonical_model_name"]


class Encoder(CachedEncoder):
    """Encodes queries and passages into L2-normalised float32 vectors with torch
    (sentence-transformers).

    The model is loaded lazily; ``model_name`` names it in manifests and cache keys.
    """

    variant = "torch"

    def __init__(
        self,
        model: str | None = None,
        cache_dir: Path | None = None,
        batch_size: int = 32,
        query_threads: int = 1,
        passage_threads: int | None = None,
        model_cache_dir: Path | None = None,
    ) -> None:
        """``cache_dir``: the embedding cache folder (None: no cache); ``model_cache_dir``:
        the folder whose ``models/`` holds the rebuilt default model (None: the library's
        default location)."""
        super().__init__(model, cache_dir, batch_size, query_threads, passage_threads)
        self._model_cache_dir = model_cache_dir
        self._model = None

    def _load(self) -> None:
        self.model  # noqa: B018 - load model and prompts

    @property
    def model(self):  # -> SentenceTransformer
        with self._lock:
            if self._model is None:
                _quiet_transformers()
                self._model = load_sentence_transformer(self.model_name, self._model_cache_dir)
                self._query_prompt, self._passage_prompt = model_prompts(self._model)
        return self._model

    @property
    def dim(self) -> int:
        model = self.model
        getter = (getattr(model, "get_embedding_dimension", None)
                  or model.get_sentence_embedding_dimension)
        return int(getter())

    def _use_threads(self, n: int) -> None:
        _set_threads(n)

    def _encode_with_spans(self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
                           ) -> tuple[np.ndarray, list[np.ndarray]]:
        model = self.model
        prompts = getattr(model, "prompts", None) or {}
        prompt = prompts.get(self._passage_prompt, "") if self._passage_prompt else ""
        kwargs = {"prompt_name": self._passage_prompt} if self._passage_prompt else {}
        tokens = model.encode(texts, batch_size=self.batch_size, output_value="token_embeddings",
                              convert_to_numpy=False, show_progress_bar=False, **kwargs)
        enc = model.tokenizer([prompt + t for t in texts], return_offsets_mapping=True,
                              truncation=True, max_length=model.max_seq_length)
        vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        svecs: list[np.ndarray] = []
        for i, emb in enumerate(tokens):
            emb = emb.float().cpu().numpy()
            offsets = np.asarray(enc["offset_mapping"][i], dtype=np.int64) - len(prompt)
            vecs[i] = unit(emb.mean(axis=0))
            if len(offsets) != len(emb):  # tokenizations disagree: encode the spans alone
                alone = [texts[i][a:b] for a, b in spans[i]]
                svecs.append(self._encode(alone, self._passage_prompt, False))
            else:
                svecs.append(pool_spans(emb, offsets, spans[i], vecs[i]))
        return vecs, svecs

    def _encode(self, texts: list[str], prompt_name: str | None, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        kwargs = {"prompt_name": prompt_name} if prompt_name else {}
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress and len(texts) > self.batch_size,
            **kwargs,
        )
        return np.asarray(vectors, dtype=np.float32)


def _quiet_transformers() -> None:
    """No per-load "Loading weights" bars or info logs from transformers."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers always comes with the model
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _set_threads(n: int) -> None:
    """torch intra-op threads for the work that follows in this process."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
