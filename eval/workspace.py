"""Cache locations of evaluation indexes and generated corpora (under ``RAG_CACHE_DIR``)."""

from __future__ import annotations

from pathlib import Path

from eval.squad import corpus_key


def eval_cache() -> Path:
    """``<rag cache dir>/eval``; the rag package decides the cache dir."""
    from rag.config import cache_dir

    return cache_dir() / "eval"


def index_dir_for(corpus: Path) -> Path:
    """A stable index folder per corpus path, reused (and refreshed) across runs."""
    return eval_cache() / "index" / corpus_key(corpus)


def squad_corpus_path(squad_file: Path) -> Path:
    """Where the JSONL corpus generated from a SQuAD file is written."""
    return eval_cache() / "squad" / corpus_key(squad_file) / "corpus.jsonl"
