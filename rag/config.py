"""All settings in one place; saved with every index (``manifest.json``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

BUNDLED_CORPUS = Path(__file__).resolve().parent.parent / "data" / "articles"
MAX_QUESTION_CHARS = 2000


def env_setting(name: str) -> str | None:
    """The environment variable ``name``, None when unset or empty. One of only spaces (a
    stray space in a shell script, ``RAG_CACHE_DIR=" "``) is an ``InvalidArgumentError``
    naming it: it made a folder named " " in the working directory (1.8 GB of models in it),
    or an index recorded with the model ""."""
    value = os.environ.get(name)
    if value and not value.strip():
        from rag.errors import InvalidArgumentError

        raise InvalidArgumentError(f"{name}={value!r} is blank; set it to a value or unset it")
    return value or None


def cache_dir() -> Path:
    """Where models, embedding caches and default indexes live (``RAG_CACHE_DIR``)."""
    env = env_setting("RAG_CACHE_DIR")
    if env:
        folder = Path(env).expanduser()
        if folder.exists() and not folder.is_dir():  # failed later as "Not a directory: …"
            from rag.errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"RAG_CACHE_DIR={env} is a file, not a folder; point it at a folder (created "
                "if missing) or unset it")
        return folder
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
    # Non-Chinese questions are put into the corpus's words (rag/crosslingual.py: CC-CEDICT,
    # pinyin for names); the translation is searched like a Chinese question and read by the
    # reader, with the original question's dense ranking fused in as a third list.
    translate_questions: bool = True
    candidates: int = 50  # per ranker, before fusion
    # Chunks above which FAISS switches from exact search to an approximate index (ann_index:
    # "ivf" or "hnsw") whose nprobe / efSearch is calibrated at build time to ann_recall_target
    # recall@10 against exact search (`rag/ann_tuning.py`; figures from
    # `python -m eval.ann_sweep`, README "Approximate search"). Exact search takes ~8 ms at
    # 100k and ~76 ms at 1M vectors on 2 cores.
    ann_threshold: int = 1_000_000
    ann_index: str = "ivf"
    ann_recall_target: float = 0.95


@dataclass
class StorageConfig:
    """Where the search structures live: ``faiss`` (files of the index directory) or
    ``milvus`` at ``uri`` (a Milvus Lite ``.db`` file, default ``<index dir>/milvus.db``, or
    ``http://host:19530``). A uri carrying credentials is not saved with the index."""

    backend: str = "faiss"
    uri: str | None = None


@dataclass
class AnswerConfig:
    """Sentence scoring and the refusal threshold of the extractive answerer."""

    context_chunks: int = 5
    # sentence score = weighted query similarity, IDF word overlap, character-bigram overlap
    # outside the article's title, chunk rank and "holds the asked-for kind of answer";
    # weights and thresholds fitted by `python -m eval fit-heuristic` on held-out DRCD (both
    # scripts) and the bundled set (eval/results/fit_heuristic.json), never on CMRC or XQuAD
    dense_weight: float = 1.0
    lexical_weight: float = 0.4
    bigram_weight: float = 0.0
    chunk_weight: float = 0.05
    type_weight: float = 0.05
    score_margin: float = 0.15  # further snippets must score within this of the best
    # Refusal: evidence = max over the retrieved sentences of dense + evidence_lexical_weight *
    # lexical - missing_type_penalty (a number/date is asked for and the sentence has none);
    # answer only at or above min_evidence (min_evidence_foreign for a question in another
    # language, read through its translation: `answerer.language_threshold`). min_evidence
    # keeps false refusals at 5 % of the answerable Chinese training questions;
    # min_evidence_foreign refuses 5 % of the right answers to translated ones.
    min_evidence: float = 0.9013
    min_evidence_foreign: float = 0.8778
    evidence_lexical_weight: float = 0.1
    missing_type_penalty: float = 0.06
    min_snippet_chars: int = 60
    max_snippet_chars: int = 300
    # The trained reader (rag/reader/): answers by default; ``reader=False`` is the fast
    # heuristic above. It reads ``reader_chunks`` passages (``reader_chunks_foreign`` for a
    # question in another language; ``reader_passages``) in one batch of windows of
    # ``reader_max_length`` tokens. Each span's sentence gets a probability of
    # answering from a logistic model (rag/reader/calibration.py) over the reader's margin,
    # the passage's rank, the question–sentence overlap, cosine and cosine gap
    # (``reader_weights`` in that order, ``reader_bias``); snippets are ranked by it and the
    # assistant answers when the best reaches ``reader_min_probability``. Passages, weights
    # and thresholds are fitted on held-out DRCD and the bundled set (`python -m eval
    # fit-reader`), never on the measurement sets (CMRC 2018, XQuAD).
    reader: bool = True
    reader_chunks: int = 2
    # passages for a question in another language (read across languages, where a third
    # passage adds more); None = reader_chunks. Both counts are fitted per language
    reader_chunks_foreign: int | None = 3
    # auto (= onnx: fp32 ONNX Runtime, exported once into the cache; same spans as torch and no
    # torch import at query time) | torch | onnx-int8 (measured 1.3x faster but another span
    # for 8 of 40 questions and margins a few logits off, so the fitted thresholds do not
    # hold for it: opt-in)
    reader_runtime: str = "auto"
    reader_threads: int = 2  # intra-op threads of the reader (capped at the CPU count)
    # 0: read whole chunks; N: read the N characters around each chunk's sentence that best
    # matches the question (see reader_focus_lexical_weight). On the bundled set 200 / 140
    # characters kept hit@1 (0.821 → 0.840 / 0.840) at 2.0× / 2.6× less reading time.
    reader_focus_chars: int = 160
    # the best-matching sentence: dense similarity + this × IDF-weighted word overlap (on
    # held-out DRCD the answer was inside the focused text of the top 3 chunks for 0.958 of
    # the questions, 0.947 with bigram overlap instead)
    reader_focus_lexical_weight: float = 0.2
    reader_max_length: int = 320
    reader_stride: int = 96
    reader_weights: tuple[float, ...] = (0.14419, -0.51014, 3.54401, 0.10831, 22.04179)
    reader_bias: float = -0.58096
    reader_min_probability: float = 0.5154
    # for a question in another language (fitted to refuse 5 % of the right answers to such
    # questions; reader_min_probability: 5 % false refusal of the Chinese ones)
    reader_min_probability_foreign: float = 0.3261
    reader_score_margin: float = 0.25  # further snippets: probability within this of the best
    # what the reader reads for a non-Chinese question: "translation" (its corpus words, as
    # retrieval searches), "original" (the question as asked; the reader is also trained on
    # English questions) or "both" (the question, then its translation). Chosen like the
    # chunk count: the best mean hit@1 over the fit groups (`make fit-reader ARGS=
    # "--reads-foreign V"` for each V: original 0.769, both 0.763, translation 0.761)
    reader_reads_foreign: str = "original"
    # a Chinese question in the other script than the passages read (Traditional over
    # Simplified articles, or the reverse) is read converted to theirs (opencc)
    reader_matches_script: bool = True
    # the spans ranked: "window" (the best span of each window read) or "sentence" (the best
    # span starting in each sentence of each window, so that the calibration's sentence
    # features can prefer a sentence whose span the reader scored second). Chosen like the
    # others (`make fit-reader ARGS="--candidates V"`, mean hit@1 over the fit groups):
    # sentence 0.781, window 0.771 (held-out DRCD in English 0.723 vs 0.698)
    reader_candidates: str = "sentence"
    # what the reader reads (``reader_chunks`` passages of ``reader_focus_chars``): "chunk",
    # each top chunk's best-matching sentence and its neighbours; "sentence", the
    # neighbourhoods of the best sentences of the top ``context_chunks`` chunks as the
    # heuristic answerer ranks them (a second passage may come from the first chunk).
    # Chosen like the others (`make fit-reader ARGS="--passages V"`, on weights 53e3fb0a):
    # sentence 0.792 (one passage), chunk 0.781 (two); refitted on 6848877c: two passages,
    # 0.801
    reader_passages: str = "sentence"


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
    storage: StorageConfig = field(default_factory=StorageConfig)

    def to_dict(self) -> dict[str, Any]:
        """All settings; a storage uri with credentials is left out (never saved)."""
        data = asdict(self)
        data["storage"]["uri"] = _storable(self.storage.uri)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Rebuild from a saved dict, ignoring keys this version does not know."""
        parts = {"corpus": CorpusConfig, "chunking": ChunkingConfig,
                 "retrieval": RetrievalConfig, "answer": AnswerConfig,
                 "storage": StorageConfig}
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
               "analyzer": ANALYZER_VERSION, "cleaning": CLEANING_VERSION,
               "corpus": asdict(self.corpus),
               "ann_threshold": self.retrieval.ann_threshold}
        variant = self.encoder if self.encoder != "auto" else resolve_encoder("auto", self.model)
        family = vector_family(variant)
        if family != "fp32":  # torch and fp32 ONNX vectors are interchangeable (older keys)
            from embeddings.onnx_encoder import int8_recipe_id

            key["vectors"] = f"{family}:{int8_recipe_id()}"
        defaults = RetrievalConfig()
        for name in ("ann_index", "ann_recall_target"):  # the approximate index's recipe; keys
            value = getattr(self.retrieval, name)  # of default-built indexes are unchanged
            if value != getattr(defaults, name):
                key[name] = value
        if self.storage.backend != "faiss":  # FAISS indexes keep the key they had
            key["storage"] = {"backend": self.storage.backend,
                              "uri": _storable(self.storage.uri)}
        return key


# part of the index build key: bump it when reading or cleaning files (rag/corpus.py,
# rag/clean.py) or splitting sentences (rag/sentences.py) changes what an index holds, so that
# existing indexes are rebuilt (unchanged chunks are not embedded again: the vector cache)
CLEANING_VERSION = 4


def _storable(uri: str | None) -> str | None:
    if uri is None:
        return None
    from rag.backends.milvus import storable_uri

    return storable_uri(uri)
