"""The searchable snapshot of a corpus: documents, chunks, sentences, vectors, BM25.

Built from documents in memory, saved into one build folder, loaded back with checks.
"""

from __future__ import annotations

import bisect
import errno
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.analyzer import Analyzer
from rag.ann_tuning import DEFAULT_SAMPLE
from rag.backends.base import Backend, KeywordIndex, VectorIndex
from rag.chunking import chunk_document, sentence_spans
from rag.config import Config
from rag.errors import CorruptIndexError, IndexFormatError, RagError
from rag.index_store import MANIFEST, read_manifest, write_json
from rag.integrity import seal, verify_build
from rag.types import Chunk, Document

# 2: per-file SHA-256 checksums and a manifest digest (rag/integrity.py)
FORMAT_VERSION = 2
SENTENCE_VECTORS = "sentence_vectors.npy"


@dataclass
class IndexData:
    """Everything a query needs, immutable once built (a rebuild makes a new one)."""

    documents: list[Document]
    chunks: list[Chunk]
    chunk_doc: np.ndarray  # (n_chunks,) document position of each chunk
    chunk_sents: np.ndarray  # (n_chunks, 2) [first, last+1) sentence of each chunk
    sent_doc: np.ndarray  # (n_sentences,) document position
    sent_bounds: np.ndarray  # (n_sentences, 2) start, end offsets in the document
    vectors: VectorIndex
    sentence_vectors: np.ndarray
    keyword: KeywordIndex
    manifest: dict[str, Any] = field(default_factory=dict)
    backend: Backend | None = None  # None: the embedded default (FAISS + bm25s)

    def __post_init__(self) -> None:
        self.doc_pos = {d.doc_id: i for i, d in enumerate(self.documents)}

    @classmethod
    def build(
        cls, documents: list[Document], encoder: Any, analyzer: Analyzer, config: Config,
        progress: bool = False, backend: Backend | None = None, folder: Path | None = None,
    ) -> IndexData:
        """Chunk, sentence-split, embed (cache-aware) and index ``documents`` with
        ``backend`` (default: FAISS + bm25s). With ``folder`` (the build folder that
        :meth:`save` will write), sentence vectors, about five per chunk and the largest part
        of a build, are written there as they are embedded (a memory-mapped file) instead of
        being held in memory."""
        backend = backend or _default_backend()
        started = time.perf_counter()
        chunks: list[Chunk] = []
        chunk_doc: list[int] = []
        chunk_sents: list[tuple[int, int]] = []
        sent_doc: list[int] = []
        sent_bounds: list[tuple[int, int]] = []
        for pos, doc in enumerate(documents):
            sents = sentence_spans(doc, config.chunking.max_chars)
            first = len(sent_doc)
            starts = [s.start for s in sents]
            ends = [s.end for s in sents]
            for chunk in chunk_document(doc, config.chunking):
                lo = bisect.bisect_left(starts, chunk.start)
                hi = bisect.bisect_right(ends, chunk.end)
                chunks.append(chunk)
                chunk_doc.append(pos)
                chunk_sents.append((first + lo, first + hi))
            sent_doc.extend([pos] * len(sents))
            sent_bounds.extend(zip(starts, ends))
        chunk_texts = [embedding_text(c) for c in chunks]
        vectors, sentence_vectors = _embed(encoder, chunks, chunk_texts, chunk_sents,
                                           sent_bounds, progress,
                                           folder / SENTENCE_VECTORS if folder else None)
        dense, keyword = backend.build(
            vectors, analyzer.tokens_batch(chunk_texts), config.retrieval.ann_threshold,
            kind=config.retrieval.ann_index, recall_target=config.retrieval.ann_recall_target,
            calibration_queries=_calibration_queries(
                encoder, documents, sent_doc, sent_bounds, len(vectors),
                config.retrieval.ann_threshold))
        dim = int(vectors.shape[1])
        manifest = {
            "format": FORMAT_VERSION,
            "model": encoder.model_name,
            "dim": dim,
            "config": config.to_dict(),
            "build_key": config.build_key(),
            "counts": {"documents": len(documents), "chunks": len(chunks),
                       "sentences": len(sent_doc)},
            "vector_index": {**dense.describe(), "reason": (
                "exact inner product" if dense.kind == "flat" else
                f"{dense.kind.upper()}: more than {config.retrieval.ann_threshold} chunks; "
                f"search calibrated to recall@10 ≥ {config.retrieval.ann_recall_target} against "
                "exact search (see calibration)")},
            "embedded": int(getattr(encoder, "last_encoded", len(vectors))),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - started, 3),
        }
        return cls(
            documents=documents,
            chunks=chunks,
            chunk_doc=np.asarray(chunk_doc, dtype=np.int32),
            chunk_sents=np.asarray(chunk_sents, dtype=np.int32).reshape(-1, 2),
            sent_doc=np.asarray(sent_doc, dtype=np.int32),
            sent_bounds=np.asarray(sent_bounds, dtype=np.int32).reshape(-1, 2),
            vectors=dense,
            sentence_vectors=sentence_vectors,
            keyword=keyword,
            manifest=manifest,
            backend=backend,
        )

    def save(self, folder: Path) -> None:
        """Write all parts; the manifest goes last (its presence marks a complete build)."""
        with open(folder / "documents.jsonl", "w", encoding="utf-8") as out:
            for doc in self.documents:
                out.write(json.dumps({"doc_id": doc.doc_id, "title": doc.title, "text": doc.text,
                                      "metadata": doc.metadata}, ensure_ascii=False) + "\n")
        np.savez(folder / "spans.npz", chunk_doc=self.chunk_doc,
                 chunk_bounds=np.asarray([(c.start, c.end) for c in self.chunks],
                                         dtype=np.int32).reshape(-1, 2),
                 chunk_sents=self.chunk_sents, sent_doc=self.sent_doc,
                 sent_bounds=self.sent_bounds)
        if _is_mapped_from(self.sentence_vectors, folder / SENTENCE_VECTORS):
            self.sentence_vectors.flush()  # written during the build
        else:
            np.save(folder / SENTENCE_VECTORS, self.sentence_vectors)
        backend = self.backend or _default_backend()
        self.manifest["backend"] = backend.save(self.vectors, self.keyword, folder)
        self.manifest["vector_index"] = {**self.vectors.describe(),
                                         "reason": self.manifest["vector_index"]["reason"]}
        seal(self.manifest, folder)
        write_json(folder / MANIFEST, self.manifest)

    @classmethod
    def load(cls, folder: Path, full_check: bool = False,
             backend: Backend | None = None) -> IndexData:
        """Read a build folder back; any missing, damaged (checksums) or inconsistent part is
        a CorruptIndexError. ``full_check`` hashes every file, not only the small ones.
        ``backend`` must be the one the manifest names (default: FAISS + bm25s)."""
        backend = backend or _default_backend()
        manifest = read_manifest(folder)
        stored = (manifest.get("backend") or {}).get("name", "faiss")
        if stored != backend.name:
            raise CorruptIndexError(f"index build {folder} is stored in {stored!r}, not "
                                    f"{backend.name!r}")
        check_format(manifest, folder)
        verify_build(folder, manifest, full=full_check)
        try:
            documents = []
            with open(folder / "documents.jsonl", encoding="utf-8") as handle:
                for line in handle:
                    rec = json.loads(line)
                    documents.append(Document(rec["doc_id"], rec["title"], rec["text"],
                                              rec.get("metadata") or {}))
            spans = np.load(folder / "spans.npz")
            # memory-mapped: pages are read as answers need them (a 1M-chunk index has ~5M)
            sentence_vectors = np.load(folder / SENTENCE_VECTORS, mmap_mode="r")
            vectors, keyword = backend.load(folder, manifest)
            chunk_doc = spans["chunk_doc"]
            chunks = [
                Chunk(documents[d].doc_id, int(s), int(e), documents[d].text[s:e],
                      documents[d].title)
                for d, (s, e) in zip(chunk_doc, spans["chunk_bounds"])
            ]
            data = cls(documents, chunks, chunk_doc, spans["chunk_sents"], spans["sent_doc"],
                       spans["sent_bounds"], vectors, sentence_vectors, keyword, manifest,
                       backend)
        except RagError:  # e.g. a Milvus server that cannot be reached: its own message
            raise
        except Exception as exc:  # noqa: BLE001 - numpy/zip/faiss/bm25s raise many kinds
            raise CorruptIndexError(f"index build {folder} is corrupt or incomplete: {exc}; "
                                    "rebuild it with `python -m rag index`") from exc
        data.check()
        return data

    def check(self) -> None:
        """Counts in the files must agree with each other and with the manifest."""
        counts = self.manifest.get("counts", {})
        problems = []
        if counts.get("documents") != len(self.documents):
            problems.append("document count")
        if counts.get("chunks") != len(self.chunks) or self.vectors.size != len(self.chunks):
            problems.append("chunk/vector count")
        if self.keyword.n_docs != len(self.chunks):
            problems.append("BM25 size")
        if len(self.sentence_vectors) != len(self.sent_doc):
            problems.append("sentence vector count")
        if self.vectors.dim != self.manifest.get("dim"):
            problems.append("vector dimension")
        if problems:
            raise CorruptIndexError("index is inconsistent (" + ", ".join(problems) +
                                    "); rebuild it with `python -m rag index`")


def _calibration_queries(encoder: Any, documents: list[Document], sent_doc: list[int],
                         sent_bounds: list[tuple[int, int]], n_vectors: int, threshold: int,
                         size: int = DEFAULT_SAMPLE) -> np.ndarray | None:
    """For an approximate index only: ``size`` random sentences of the corpus encoded as
    queries, the held-out queries its search parameter is calibrated on (closer to real
    questions than perturbed passage vectors; ``eval/ann_sweep.py`` compares them)."""
    if n_vectors <= threshold or not hasattr(encoder, "encode_queries"):
        return None
    rng = np.random.default_rng(0)
    texts = []
    for i in rng.permutation(len(sent_doc)):
        start, end = sent_bounds[i]
        text = documents[sent_doc[i]].text[start:end].strip()
        if len(text) >= 8:
            texts.append(text[:200])
        if len(texts) == size:
            break
    return np.asarray(encoder.encode_queries(texts), dtype=np.float32) if texts else None


def _is_mapped_from(array: np.ndarray, path: Path) -> bool:
    filename = getattr(array, "filename", None)
    return isinstance(array, np.memmap) and filename is not None and \
        Path(filename).resolve() == path.resolve()


def _embed(encoder: Any, chunks: list[Chunk], chunk_texts: list[str],
           chunk_sents: list[tuple[int, int]], sent_bounds: list[tuple[int, int]],
           progress: bool, out: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors and sentence vectors from one pass over the chunks: a sentence's vector
    pools its tokens inside the first chunk that holds it (no second embedding pass). With
    ``out``, the sentence vectors are a memory-mapped ``.npy`` file there, filled batch by
    batch."""
    owner: dict[int, int] = {}
    for c, (lo, hi) in enumerate(chunk_sents):
        for sent in range(lo, hi):
            owner.setdefault(sent, c)
    spans: list[list[tuple[int, int]]] = [[] for _ in chunks]
    rows: list[list[int]] = [[] for _ in chunks]  # the sentences whose spans chunk c holds
    for sent, (start, end) in enumerate(sent_bounds):
        c = owner.get(sent)
        if c is None:  # every sentence is in a chunk; guard against a chunking change
            raise ValueError(f"sentence {sent} is in no chunk")
        shift = len(chunk_texts[c]) - len(chunks[c].text) - chunks[c].start  # title prefix
        rows[c].append(sent)
        spans[c].append((start + shift, end + shift))
    dim = int(encoder.dim) if sent_bounds else 0
    shape = (len(sent_bounds), dim)
    if out is not None and len(sent_bounds):
        sentence_vectors = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32,
                                                     shape=shape)
        reserve_space(out)
    else:
        sentence_vectors = np.zeros(shape, dtype=np.float32)

    def sink(c: int, span_vecs: np.ndarray) -> None:
        if rows[c]:
            sentence_vectors[rows[c]] = span_vecs

    vectors, _ = encoder.encode_passages_with_spans(chunk_texts, spans, progress=progress,
                                                    span_sink=sink)
    return vectors, sentence_vectors


def reserve_space(path: Path) -> None:
    """Allocate every block of a new (sparse) memory-mapped file now: on a full disk,
    writing into a sparse mapping kills the process with SIGBUS (no message, its temporary
    build left behind holding the space); allocated up front, it is an ``OSError``
    (``ENOSPC``) naming the file, and the build fails cleanly."""
    if not hasattr(os, "posix_fallocate"):  # macOS: no such call
        return
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                return  # a file system that cannot tell: written as before
            raise OSError(exc.errno, exc.strerror, str(path)) from None


def _default_backend() -> Backend:
    from rag.backends.faiss import FaissBackend

    return FaissBackend()


def check_format(manifest: dict[str, Any], folder: Path) -> None:
    """The manifest's ``format`` must be this version's; older and newer ones are errors."""
    version = manifest.get("format")
    if version == FORMAT_VERSION:
        return
    fix = "rebuild it with `python -m rag index --index <dir> --corpus <corpus>`"
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise IndexFormatError(f"index build {folder} has format {version}, newer than this "
                               f"version of rag-news reads ({FORMAT_VERSION}); upgrade rag-news, "
                               f"or {fix}", newer=True)
    raise IndexFormatError(f"index build {folder} has format {version!r}, older than the "
                           f"current {FORMAT_VERSION} (no checksums); {fix}")


def embedding_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its title gives retrieval context."""
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text
