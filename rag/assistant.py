"""The Assistant: builds or opens an index and answers questions over it."""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings.encoder import Encoder, canonical_model_name
from rag.analyzer import Analyzer
from rag.answerer import Answerer
from rag.config import BUNDLED_CORPUS, MAX_QUESTION_CHARS, Config, cache_dir
from rag.corpus import SUFFIXES, corpus_files, load_corpus, read_file
from rag.errors import CorpusError, InvalidQuestionError, ModelMismatchError, UnknownDocumentError
from rag.index_data import IndexData, embedding_text
from rag.index_store import IndexStore
from rag.retriever import Retriever
from rag.types import Answer, Chunk, Document, Filters, Hit

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
REFUSAL = "语料中没有找到答案。The corpus does not contain an answer to this question."


@dataclass
class AddResult:
    """Outcome of ``Assistant.add_files``: doc_ids indexed and one message per rejected file."""

    added: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def default_index_dir(corpus: Path | str | None = None) -> Path:
    """``RAG_INDEX_DIR``, else one folder per corpus under the cache directory."""
    if os.environ.get("RAG_INDEX_DIR"):
        return Path(os.environ["RAG_INDEX_DIR"]).expanduser()
    if corpus is None or Path(corpus).resolve() == BUNDLED_CORPUS:
        return cache_dir() / "indexes" / "bundled"
    path = Path(corpus).resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    slug = re.sub(r"[^\w.-]+", "_", path.stem)[:40]
    return cache_dir() / "indexes" / f"{slug}-{digest}"


def fingerprint(sources: list[Path]) -> dict[str, Any]:
    """Content hash of every corpus file, and of all of them together."""
    files: dict[str, str] = {}
    for source in sources:
        if source.exists():
            for path in corpus_files(source):
                files[str(path.resolve())] = hashlib.sha256(path.read_bytes()).hexdigest()
    overall = hashlib.sha256("\n".join(f"{k}={v}" for k, v in sorted(files.items())).encode())
    return {"sources": [str(s.resolve()) for s in sources], "files": files,
            "fingerprint": overall.hexdigest()}


class Assistant:
    """Question answering over one index directory. Thread-safe for queries."""

    def __init__(self, store: IndexStore, data: IndexData, config: Config, encoder: Encoder,
                 analyzer: Analyzer, corpus: Path) -> None:
        self.store = store
        self.config = config
        self.encoder = encoder
        self.analyzer = analyzer
        self.corpus = corpus
        self._write_lock = threading.Lock()
        self._set_data(data)

    # ----------------------------------------------------------------- building / opening
    @classmethod
    def build(cls, corpus: Path | str | None = None, index_dir: Path | str | None = None,
              model: str | None = None, config: Config | None = None,
              progress: bool = False) -> Assistant:
        """Open the index of ``corpus`` in ``index_dir``, (re)building it if it is missing,
        stale (files changed) or was built with other settings. Unchanged chunks are not
        re-embedded (embedding cache). The previous index stays usable if this fails.

        ``model``: a sentence-transformers name or folder (else ``RAG_MODEL``, else the
        bundled multilingual-e5-small)."""
        corpus = Path(corpus).expanduser() if corpus is not None else BUNDLED_CORPUS
        if not corpus.exists():
            raise CorpusError(f"corpus path does not exist: {corpus}")
        config = copy.deepcopy(config) if config else Config()
        model = model or os.environ.get("RAG_MODEL")
        if model:
            config.model = model
        config.model = canonical_model_name(config.model)
        store = IndexStore(index_dir if index_dir is not None else default_index_dir(corpus))
        encoder = Encoder(config.model, cache_dir() / "embeddings", config.batch_size)
        analyzer = Analyzer()
        with store.locked():
            data = _refresh(store, corpus, config, encoder, analyzer, progress)
        return cls(store, data, config, encoder, analyzer, corpus)

    @classmethod
    def load(cls, index_dir: Path | str | None = None, model: str | None = None,
             config: Config | None = None, refresh: bool = True) -> Assistant:
        """Open an existing index. A different ``model`` than the index's is an error; a
        stale index (its corpus files changed) is rebuilt incrementally when ``refresh``.

        Model and chunking always come from the index's manifest; retrieval and answer
        settings from ``config`` (default: the current defaults)."""
        store = IndexStore(index_dir if index_dir is not None else default_index_dir())
        data = IndexData.load(store.current())
        manifest = data.manifest
        saved = Config.from_dict(manifest.get("config", {}))
        config = copy.deepcopy(config) if config else Config()
        config.model, config.chunking = manifest["model"], saved.chunking
        if model and canonical_model_name(model) != manifest["model"]:
            raise ModelMismatchError(
                f"the index at {store.root} was built with model {manifest['model']!r} "
                f"(dim {manifest['dim']}), not {model!r}; rebuild it with "
                f"`python -m rag index --index {store.root} --model {model}`")
        encoder = Encoder(manifest["model"], cache_dir() / "embeddings", config.batch_size)
        if encoder.dim != manifest["dim"]:
            raise ModelMismatchError(
                f"model {manifest['model']!r} now gives {encoder.dim}-d vectors but the index "
                f"at {store.root} holds {manifest['dim']}-d ones; rebuild the index")
        sources = manifest.get("corpus", {}).get("sources") or []
        corpus = Path(sources[0]) if sources else BUNDLED_CORPUS
        assistant = cls(store, data, config, encoder, Analyzer(), corpus)
        if refresh and corpus.exists():
            assistant.refresh()
        return assistant

    def refresh(self, progress: bool = False) -> bool:
        """Rebuild incrementally if the corpus files changed; True if a rebuild happened."""
        with self._write_lock, self.store.locked():
            old = self._data
            data = _refresh(self.store, self.corpus, self.config, self.encoder, self.analyzer,
                            progress, current=old)
            self._set_data(data)
        return data is not old

    def _set_data(self, data: IndexData) -> None:
        self._data = data
        self._retriever = Retriever(data, self.encoder, self.analyzer, self.config.retrieval)
        self._answerer = Answerer(data, self.analyzer, self.config.answer)

    # ----------------------------------------------------------------------- questions
    def retrieve(self, query: str, k: int = 5, *, mode: str | None = None,
                 filters: Filters | None = None, timings: dict[str, float] | None = None,
                 **filter_kwargs: Any) -> list[Hit]:
        """The ``k`` best chunks (overlapping chunks of one document de-duplicated)."""
        query = check_question(query)
        filters = _filters(filters, filter_kwargs)
        retriever = self._retriever
        retrieval = retriever.run(query, mode, filters, timings)
        return [self._hit(i, s) for i, s in retriever.distinct(retrieval.candidates, k)]

    def answer(self, question: str, k: int = 5, *, mode: str | None = None,
               filters: Filters | None = None, history: list[str] | None = None,
               timings: dict[str, float] | None = None, **filter_kwargs: Any) -> Answer:
        """Up to ``k`` verbatim, cited snippets, or ``answered=False`` when evidence is weak."""
        started = time.perf_counter()
        question = check_question(question)
        filters = _filters(filters, filter_kwargs)
        timings = timings if timings is not None else {}
        query = question
        if history:
            from rag.followup import contextualize

            query = contextualize(question, history)
        retriever, answerer = self._retriever, self._answerer
        retrieval = retriever.run(query, mode, filters, timings, need_vector=True)
        tick = time.perf_counter()
        extraction = answerer.run(query, retrieval, k)
        timings["answer"] = time.perf_counter() - tick
        hits = [self._hit(i, s) for i, s in retriever.distinct(retrieval.candidates, k)]
        answered = bool(extraction.snippets) and (
            extraction.evidence >= answerer.threshold(query))
        timings["total"] = time.perf_counter() - started
        if not answered:
            return Answer(question, False, [], REFUSAL, hits, query)
        n = len(extraction.snippets)
        message = f"找到 {n} 条原文片段。Found {n} verbatim snippet{'s' if n > 1 else ''}."
        return Answer(question, True, extraction.snippets, message, hits, query)

    # ------------------------------------------------------------------------ documents
    def document(self, doc_id: str) -> Document:
        data = self._data
        pos = data.doc_pos.get(doc_id)
        if pos is None:
            raise UnknownDocumentError(f"no document with doc_id {doc_id!r} in this index")
        return data.documents[pos]

    def documents(self) -> list[Document]:
        return list(self._data.documents)

    def sources(self) -> list[str]:
        """Distinct ``source`` metadata values, for filters."""
        return sorted({d.metadata["source"] for d in self._data.documents
                       if d.metadata.get("source")})

    @property
    def n_documents(self) -> int:
        return len(self._data.documents)

    @property
    def manifest(self) -> dict[str, Any]:
        return self._data.manifest

    @property
    def chunks(self) -> list[Chunk]:
        return self._data.chunks

    @property
    def index_dir(self) -> Path:
        return self.store.root

    def chunk_texts_for_embedding(self) -> list[str]:
        """The exact chunk strings embedded at index time (prompt excluded)."""
        return [embedding_text(c) for c in self._data.chunks]

    def add_files(self, paths: list[Path | str]) -> AddResult:
        """Validate, copy into the index's ``added/`` folder and re-index incrementally.

        Bad files (type, size, encoding, no text, doc_id taken by the corpus) are reported and
        change nothing; if re-indexing fails, the copied files are removed again."""
        result = AddResult()
        staged: list[tuple[Path, Path]] = []
        added_dir = str(self.store.added.resolve())
        corpus_ids = {d.doc_id for d in self._data.documents
                      if not str(d.metadata.get("path", "")).startswith(added_dir)}
        for raw in paths:
            path = Path(raw)
            problem = _upload_problem(path)
            docs: list[Document] = []
            if problem is None:
                try:
                    docs = read_file(path)
                except (CorpusError, OSError) as exc:
                    problem = f"{path.name}: {exc}"
            clash = [d.doc_id for d in docs if d.doc_id in corpus_ids]
            if problem is None and clash:
                problem = f"{path.name}: doc_id {clash[0]!r} already exists in the corpus"
            if problem:
                result.errors.append(problem)
                continue
            staged.append((path, self.store.added / path.name))
            result.added.extend(d.doc_id for d in docs)
        if not staged:
            return result
        with self._write_lock, self.store.locked():
            backups = _stage(staged)
            try:
                data = _refresh(self.store, self.corpus, self.config, self.encoder,
                                self.analyzer, False)
            except Exception:
                _unstage(staged, backups)
                raise
            _drop_backups(backups)
            self._set_data(data)
        return result

    def _hit(self, idx: int, score: float) -> Hit:
        chunk = self._data.chunks[idx]
        doc = self._data.documents[self._data.chunk_doc[idx]]
        return Hit(doc_id=chunk.doc_id, title=chunk.title, text=chunk.text,
                   score=round(float(score), 6), start=chunk.start, end=chunk.end,
                   metadata=dict(doc.metadata))


def check_question(question: str) -> str:
    """The stripped question; empty or over-long questions are a clear error."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidQuestionError("请输入问题。Please type a question.")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"问题太长（{len(question)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内。"
            f"The question is too long ({len(question)} characters; "
            f"at most {MAX_QUESTION_CHARS}).")
    return question


def _filters(filters: Filters | None, kwargs: dict[str, Any]) -> Filters | None:
    unknown = set(kwargs) - {"source", "date_from", "date_to", "doc_ids"}
    if unknown:
        raise TypeError(f"unexpected argument(s): {', '.join(sorted(unknown))}")
    if kwargs:
        return Filters(**{**(filters.__dict__ if filters else {}), **kwargs})
    return filters


def _refresh(store: IndexStore, corpus: Path, config: Config, encoder: Encoder,
             analyzer: Analyzer, progress: bool, current: IndexData | None = None) -> IndexData:
    """The live build (``current`` if already loaded) if it matches the corpus and settings,
    else a new build committed atomically."""
    sources = [corpus] + ([store.added] if store.added.exists() else [])
    prints = fingerprint(sources)
    if current is None and store.exists():
        try:
            current = IndexData.load(store.current())
        except Exception as exc:  # a broken index is replaced, not fatal
            log.warning("rebuilding unreadable index: %s", exc)
    if current is not None:
        manifest = current.manifest
        if (manifest.get("build_key") == config.build_key()
                and manifest.get("corpus", {}).get("fingerprint") == prints["fingerprint"]):
            return current
    documents = load_corpus([s for s in sources if s.exists()])
    started = time.perf_counter()
    data = IndexData.build(documents, encoder, analyzer, config, progress)
    data.manifest["corpus"] = prints
    data.manifest["build_seconds"] = round(time.perf_counter() - started, 3)
    with store.new_build() as folder:
        data.save(folder)
    log.info("indexed %d documents, %d chunks (%d embedded) in %.1fs", len(documents),
             len(data.chunks), data.manifest["embedded"], data.manifest["build_seconds"])
    return data


def _upload_problem(path: Path) -> str | None:
    if path.suffix.lower() not in SUFFIXES:
        return (f"{path.name}: unsupported file type; upload one of "
                f"{', '.join(sorted(SUFFIXES))}")
    if not path.is_file():
        return f"{path.name}: file not found"
    size = path.stat().st_size
    if size == 0:
        return f"{path.name}: the file is empty"
    if size > MAX_UPLOAD_BYTES:
        return f"{path.name}: file too large ({size / 1e6:.1f} MB; at most 5 MB)"
    return None


def _stage(staged: list[tuple[Path, Path]]) -> dict[Path, Path]:
    backups: dict[Path, Path] = {}
    for src, dst in staged:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            backup = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:6]}.bak")
            os.replace(dst, backup)
            backups[dst] = backup
        tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:6]}.tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    return backups


def _unstage(staged: list[tuple[Path, Path]], backups: dict[Path, Path]) -> None:
    for _, dst in staged:
        dst.unlink(missing_ok=True)
        if dst in backups:
            os.replace(backups[dst], dst)


def _drop_backups(backups: dict[Path, Path]) -> None:
    for backup in backups.values():
        backup.unlink(missing_ok=True)
