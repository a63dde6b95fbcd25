"""All settings in one place; saved with every index (``manifest.json``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

BUNDLED_CORPUS = Path(__file__).resolve().parent.parent / "data" / "articles"
MAX_QUESTION_CHARS = 2000


def cache_dir() -> Path:
    """Where models, embedding caches and default indexes live (``RAG_CACHE_DIR``)."""
    env = os.environ.get("RAG_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rag-news"


@dataclass
class ChunkingConfig:
    """Sentence packing: chunks of up to ``max_chars`` with ``overlap`` sentences shared."""

    max_chars: int = 300
    min_chars: int = 80
    overlap: int = 1


@dataclass
class CorpusConfig:
    """Limits applied while reading a corpus: a bad or huge file is skipped with a warning."""

    # A document with more cleaned text than this (UTF-8 bytes) is skipped: 2 MB of Chinese
    # is ~700k characters, ~10k texts to embed (minutes on 2 cores, not hours).
    max_document_bytes: int = 2 * 1024 * 1024


@dataclass
class RetrievalConfig:
    """How dense and keyword rankings are fused."""

    mode: str = "hybrid"  # hybrid | dense | keyword
    fusion: str = "rrf"  # rrf | weighted
    rrf_k: int = 60
    dense_weight: float = 0.5
    # BM25's weight for questions without Chinese characters (mixed questions interpolate by
    # their Chinese share). 0 = skipped: hybrid is then exactly dense for English questions,
    # whose words mostly do not occur in a Chinese index (`python -m eval.language_sweep`).
    foreign_keyword_weight: float = 0.0
    candidates: int = 50  # per ranker, before fusion
    # Chunks above which FAISS switches from exact search to IVF. Exact search takes ~8 ms at
    # 100k and ~76 ms at 1M vectors on 2 cores, while IVF recall@10 fell to 0.46 at 1M on the
    # synthetic sweep (`python -m eval speed`), so exact search is kept up to 1M.
    ann_threshold: int = 1_000_000


@dataclass
class AnswerConfig:
    """Sentence scoring and the refusal threshold of the extractive answerer."""

    context_chunks: int = 5
    # sentence score = weighted query similarity, IDF word overlap, character-bigram overlap
    # outside the article's title, chunk rank and "holds the asked-for kind of answer"
    # (fitted on half of a CMRC 2018 dev sample, checked on the other half and on the bundled
    # set; dense_weight 1.0 rather than CMRC's best 0.5 keeps paraphrased questions working)
    dense_weight: float = 1.0
    lexical_weight: float = 0.05
    bigram_weight: float = 0.3
    chunk_weight: float = 0.1
    type_weight: float = 0.1
    score_margin: float = 0.15  # further snippets must score within this of the best
    # Refusal: evidence = max over the retrieved sentences of dense + evidence_lexical_weight *
    # lexical - missing_type_penalty (a number/date is asked for and the sentence has none);
    # answer only at or above min_evidence (min_evidence_foreign for questions without Chinese
    # characters, which have no lexical evidence; mixed questions in between). Tuned on the
    # bundled eval set, checked for false refusals on CMRC 2018 (see README).
    min_evidence: float = 0.92
    min_evidence_foreign: float = 0.745
    evidence_lexical_weight: float = 0.1
    missing_type_penalty: float = 0.06
    min_snippet_chars: int = 60
    max_snippet_chars: int = 300
    # The trained reader (rag/reader/): answers by default; ``reader=False`` is the fast
    # heuristic above. It reads the top ``reader_chunks`` distinct chunks in one batch of
    # windows of ``reader_max_length`` tokens; a span's score is its margin over the no-answer
    # score less ``reader_rank_penalty`` per retrieval rank; it answers when the best margin
    # plus ``reader_dense_weight`` × the query–chunk similarity reaches ``reader_min_margin``.
    # Chunks, penalty, weight and threshold are fitted on held-out DRCD (`python -m eval
    # fit-reader`), never on the measurement sets (CMRC 2018, XQuAD).
    reader: bool = True
    reader_chunks: int = 2
    # auto (= onnx: fp32 ONNX Runtime, exported once into the cache; same spans as torch and no
    # torch import at query time) | torch | onnx-int8 (measured 1.3x faster but another span
    # for 8 of 40 questions, so opt-in)
    reader_runtime: str = "auto"
    reader_max_length: int = 320
    reader_stride: int = 96
    reader_rank_penalty: float = 0.0
    reader_dense_weight: float = 40.0
    reader_min_margin: float = 36.13
    reader_score_margin: float = 3.0


@dataclass
class Config:
    """Everything that shapes an index and its answers."""

    model: str = "multilingual-e5-small"
    # auto | torch | onnx (fp32 ONNX Runtime: the same vectors as torch) | onnx-int8 (dynamic
    # int8, cosine >= 0.99 to fp32). auto = onnx-int8 for the default model, else torch; an
    # index records the concrete one (see embeddings.choice; RAG_ENCODER overrides at build).
    encoder: str = "auto"
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    batch_size: int = 32

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Rebuild from a saved dict, ignoring keys this version does not know."""
        parts = {"corpus": CorpusConfig, "chunking": ChunkingConfig,
                 "retrieval": RetrievalConfig, "answer": AnswerConfig}
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in parts:
                sub = parts[f.name]
                names = {g.name for g in fields(sub)}
                value = sub(**{k: v for k, v in value.items() if k in names})
            kwargs[f.name] = value
        return cls(**kwargs)

    def build_key(self) -> dict[str, Any]:
        """The settings that change what an index stores (a change forces a rebuild)."""
        from embeddings.choice import resolve_encoder, vector_family
        from rag.analyzer import ANALYZER_VERSION

        key = {"model": self.model, "chunking": asdict(self.chunking),
               "analyzer": ANALYZER_VERSION, "corpus": asdict(self.corpus),
               "ann_threshold": self.retrieval.ann_threshold}
        variant = self.encoder if self.encoder != "auto" else resolve_encoder("auto", self.model)
        family = vector_family(variant)
        if family != "fp32":  # torch and fp32 ONNX vectors are interchangeable (older keys)
            from embeddings.onnx_encoder import int8_recipe_id

            key["vectors"] = f"{family}:{int8_recipe_id()}"
        return key
