"""Ingest measurements: a fresh build without the embedding cache, raw encoding, re-indexing."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock


def copy_corpus(src: Path, dest: Path, max_docs: int | None = None) -> Path:
    """Copy a corpus folder (its first ``max_docs`` files) or JSONL (first lines) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        out = dest / src.name
        out.mkdir(exist_ok=True)
        files = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
        for path in files[:max_docs]:
            shutil.copy2(path, out / path.name)
        return out
    lines = [ln for ln in src.read_text(encoding="utf-8").splitlines() if ln.strip()]
    out = dest / src.name
    out.write_text("\n".join(lines[:max_docs]) + "\n", encoding="utf-8")
    return out


def touch_one_document(corpus: Path) -> str:
    """Append a new sentence to one document of a copied corpus; returns what was changed.

    The sentence carries a random tag so that no embedding cache can already hold it.
    """
    extra = f"本段为基准测试追加的句子（标记{uuid.uuid4().hex[:8]}），用于检验增量索引。"
    if corpus.is_dir():
        path = sorted(p for p in corpus.iterdir() if p.is_file())[0]
        path.write_text(path.read_text(encoding="utf-8") + "\n\n" + extra + "\n", encoding="utf-8")
        return path.name
    lines = corpus.read_text(encoding="utf-8").splitlines()
    doc = json.loads(lines[0])
    doc["text"] = doc["text"] + extra
    lines[0] = json.dumps(doc, ensure_ascii=False)
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"{corpus.name}: doc {doc.get('id')}"


@contextlib.contextmanager
def recorded_passage_encoding(stats: dict[str, Any], use_cache: bool) -> Iterator[None]:
    """Patch ``encode_passages_with_spans`` of every encoder (the index build's one embedding
    pass) to record its texts, model-load and encode seconds.

    With ``use_cache=False`` every call bypasses the embedding cache (a truly fresh build).
    """
    from embeddings.base import CachedEncoder

    original = CachedEncoder.encode_passages_with_spans

    def wrapped(self: Any, texts: Any, spans: Any, use_cache_arg: bool = True,
                progress: bool = False, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        self._load()  # load the model outside the encode timing
        t1 = time.perf_counter()
        out = original(self, texts, spans, use_cache_arg and use_cache, progress, **kwargs)
        t2 = time.perf_counter()
        stats["texts"] = stats.get("texts", []) + list(texts)
        stats["model_load_seconds"] = stats.get("model_load_seconds", 0.0) + t1 - t0
        stats["encode_seconds"] = stats.get("encode_seconds", 0.0) + t2 - t1
        stats["prompt"] = getattr(self, "_passage_prompt", None)
        stats["batch_size"] = self.batch_size
        return out

    with mock.patch.object(CachedEncoder, "encode_passages_with_spans", wrapped):
        yield


def timed_build(corpus: Path, index_dir: Path, use_cache: bool) -> tuple[Any, dict[str, Any]]:
    """``Assistant.build`` with encoding recorded; returns the assistant and the numbers."""
    from rag import Assistant

    stats: dict[str, Any] = {}
    with recorded_passage_encoding(stats, use_cache):
        t0 = time.perf_counter()
        assistant = Assistant.build(corpus=corpus, index_dir=index_dir, progress=False)
        stats["wall_seconds"] = time.perf_counter() - t0
    return assistant, stats


def raw_encode_seconds(model: Any, texts: list[str], prompt: str | None, batch_size: int) -> float:
    """Seconds for plain ``SentenceTransformer.encode`` of ``texts`` (same prompt and batch), or
    an uncached ``encode_passages`` of an encoder without a sentence-transformers model."""
    kwargs = {"prompt_name": prompt} if prompt else {}
    t0 = time.perf_counter()
    if not hasattr(model, "encode"):
        model.encode_passages(texts, use_cache=False)
        return time.perf_counter() - t0
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                 convert_to_numpy=True, show_progress_bar=False, **kwargs)
    return time.perf_counter() - t0


def ingest_report(corpus: Path, work: Path, max_docs: int | None) -> tuple[Any, dict[str, Any]]:
    """Fresh uncached build vs raw encoding, then a re-index after touching one document."""
    copy = copy_corpus(corpus, work / "corpus", max_docs)
    assistant, fresh = timed_build(copy, work / "index", use_cache=False)
    texts = fresh.pop("texts", [])
    n_chunks = len(assistant.chunks)
    model = getattr(assistant.encoder, "model", assistant.encoder)
    raw_encode_seconds(model, texts[:64], fresh.get("prompt"), fresh.get("batch_size", 32))
    raw_s = raw_encode_seconds(model, texts, fresh.get("prompt"), fresh.get("batch_size", 32))
    build_s = fresh["wall_seconds"] - fresh.get("model_load_seconds", 0.0)
    changed = touch_one_document(copy)
    assistant, again = timed_build(copy, work / "index", use_cache=True)
    report = {
        "corpus": str(corpus),
        "max_docs": max_docs,
        "documents": len(assistant.documents()),
        "chunks": n_chunks,
        "texts_embedded": len(texts),
        "build_wall_seconds": fresh["wall_seconds"],
        "model_load_seconds": fresh.get("model_load_seconds", 0.0),
        "build_encode_seconds": fresh.get("encode_seconds"),
        "build_seconds_excl_model_load": build_s,
        "raw_encode_seconds": raw_s,
        "build_chunks_per_s": n_chunks / build_s if build_s else None,
        "build_texts_per_s": len(texts) / build_s if build_s else None,
        "raw_texts_per_s": len(texts) / raw_s if raw_s else None,
        "ratio_build_vs_raw": raw_s / build_s if build_s else None,
        "reindex_changed": changed,
        "reindex_seconds": again["wall_seconds"],
        "reindex_model_load_seconds": again.get("model_load_seconds", 0.0),
        "reindex_texts_embedded": assistant.manifest.get("embedded"),
    }
    return assistant, report
