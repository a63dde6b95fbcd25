"""Batch text encoding with a sentence-transformers model, query/passage prompts and a cache."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.cache import EmbeddingCache
from embeddings.loader import (
    DEFAULT_ALIASES,
    DEFAULT_MODEL,
    load_sentence_transformer,
    model_prompts,
)


def canonical_model_name(name: str | None) -> str:
    """One spelling per model: every alias of the default becomes ``multilingual-e5-small``."""
    name = (name or DEFAULT_MODEL).strip()
    return DEFAULT_MODEL if name in DEFAULT_ALIASES else name


class Encoder:
    """Encodes queries and passages into L2-normalised float32 vectors.

    The model is loaded lazily; ``model_id`` names it in manifests and cache keys.
    """

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
        self.model_name = canonical_model_name(model)
        self._model_cache_dir = model_cache_dir
        self.batch_size = batch_size
        # One short query is fastest on one thread and, unlike several OpenMP threads, does not
        # collapse when other processes share the CPU (≈27 ms vs ≈940 ms measured here);
        # batches of passages use every core.
        self.query_threads = query_threads
        self.passage_threads = passage_threads or os.cpu_count() or 1
        self._cache_dir = cache_dir
        self._model = None
        self._cache: EmbeddingCache | None = None
        self._lock = threading.Lock()
        self.last_encoded = 0  # texts the last encode_passages call sent to the model

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

    @property
    def cache(self) -> EmbeddingCache | None:
        if self._cache is None and self._cache_dir is not None:
            model_id = self.model_name
            if model_id == DEFAULT_MODEL:
                from embeddings.convert import model_dir_name

                model_id = model_dir_name()
            self._cache = EmbeddingCache.for_model(self._cache_dir, model_id, self.dim)
        return self._cache

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.model  # noqa: B018 - load model and prompts
        _set_threads(self.query_threads)
        return self._encode(list(texts), self._query_prompt, progress=False)

    def encode_passages(
        self, texts: Sequence[str], use_cache: bool = True, progress: bool = False,
        flush_every: int = 256,
    ) -> np.ndarray:
        """Passage vectors; with a cache, only texts not seen before reach the model.

        New vectors are written to the cache every ``flush_every`` texts, so an interrupted
        run (Ctrl-C, kill) resumes where it stopped."""
        self.model  # noqa: B018
        _set_threads(self.passage_threads)
        texts = list(texts)
        cache = self.cache if use_cache else None
        if cache is None:
            self.last_encoded = len(texts)
            return self._encode(texts, self._passage_prompt, progress)
        prompt = self._passage_prompt or ""
        keys = [EmbeddingCache.key(cache.path.stem, prompt, t) for t in texts]
        found = cache.get_many(keys)
        todo = [i for i, k in enumerate(keys) if k not in found]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            if k in found:
                out[i] = found[k]
        for lo in range(0, len(todo), flush_every):
            part = todo[lo:lo + flush_every]
            fresh = self._encode([texts[i] for i in part], self._passage_prompt,
                                 progress and len(todo) <= flush_every)
            out[part] = fresh
            cache.put_many([keys[i] for i in part], fresh)
        self.last_encoded = len(todo)
        return out

    def encode_passages_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
        use_cache: bool = True, progress: bool = False, flush_every: int = 256,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, from the same forward pass, a vector for each character span
        ``spans[i]`` of ``texts[i]``: the normalised mean of the contextual embeddings of the
        span's tokens (the passage vector is the mean over all tokens, as in ``encode``).

        Work is done and cached in batches of ``flush_every`` texts, so an interrupted run
        resumes where it stopped."""
        self.model  # noqa: B018
        _set_threads(self.passage_threads)
        texts = list(texts)
        prompt = self._passage_prompt or ""
        cache = self.cache if use_cache else None
        stem = cache.path.stem if cache is not None else ""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_out = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        encoded = 0
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="passage", mininterval=5)
        for lo in range(0, len(texts), flush_every):
            idx = list(range(lo, min(lo + flush_every, len(texts))))
            keys = {i: EmbeddingCache.key(stem, prompt, texts[i]) for i in idx}
            span_keys = {i: [EmbeddingCache.key(stem, "span:" + prompt, f"{texts[i]}\0{a}:{b}")
                             for a, b in spans[i]] for i in idx}
            found = cache.get_many([k for i in idx for k in (keys[i], *span_keys[i])]) \
                if cache is not None else {}
            todo = []
            for i in idx:
                if keys[i] in found and all(k in found for k in span_keys[i]):
                    out[i] = found[keys[i]]
                    for j, k in enumerate(span_keys[i]):
                        span_out[i][j] = found[k]
                else:
                    todo.append(i)
            if todo:
                vecs, svecs = self._encode_with_spans([texts[i] for i in todo],
                                                      [spans[i] for i in todo])
                for n, i in enumerate(todo):
                    out[i], span_out[i] = vecs[n], svecs[n]
                if cache is not None:
                    cache.put_many([keys[i] for i in todo], vecs)
                    cache.put_many([k for i in todo for k in span_keys[i]],
                                   np.concatenate([span_out[i] for i in todo]))
            encoded += len(todo)
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        self.last_encoded = encoded
        return out, span_out

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
            vecs[i] = _unit(emb.mean(axis=0))
            out = np.zeros((len(spans[i]), self.dim), dtype=np.float32)
            if len(offsets) != len(emb):  # tokenizations disagree: encode the spans alone
                alone = [texts[i][a:b] for a, b in spans[i]]
                out[:] = self._encode(alone, self._passage_prompt, False)
            else:
                real = offsets[:, 1] > offsets[:, 0]
                for j, (a, b) in enumerate(spans[i]):
                    sel = real & (offsets[:, 0] < b) & (offsets[:, 1] > a)
                    out[j] = _unit(emb[sel].mean(axis=0)) if sel.any() else vecs[i]
            svecs.append(out)
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


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)


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
