"""The Assistant: builds or opens an index and answers questions over it."""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from embeddings.base import TextEncoder, canonical_model_name
from embeddings.choice import ENCODERS, make_encoder, query_encoder, resolve_encoder
from rag import indexer
from rag.analyzer import Analyzer
from rag.answerer import Answerer
from rag.backends import BACKENDS, open_backend
from rag.backends.base import Backend
from rag.config import (
    BUNDLED_CORPUS,
    MAX_QUESTION_CHARS,
    Config,
    StorageConfig,
    cache_dir,
    env_setting,
)
from rag.errors import (
    EMPTY_QUESTION,
    BackendError,
    CorpusError,
    IndexFormatError,
    IndexNotWritableError,
    InvalidArgumentError,
    InvalidQuestionError,
    ModelMismatchError,
    UnknownDocumentError,
)
from rag.index_data import IndexData, embedding_text
from rag.index_store import IndexStore, corpus_of, read_manifest
from rag.indexer import backend_spec, default_index_dir, fingerprint, stored_spec
from rag.reader.answerer import ReaderAnswerer
from rag.reader.inference import Reader
from rag.retriever import Retriever
from rag.textnorm import SURROGATE
from rag.types import Answer, Chunk, Document, Filters, Hit, own_metadata
from rag.uploads import plan_uploads, stage, unstage
from rag.validation import (
    check_config,
    check_filters,
    check_history,
    check_k,
    check_optional,
    check_path,
    check_paths,
    is_junk_question,
)

log = logging.getLogger(__name__)
REFUSAL = "语料中没有找到答案。The corpus does not contain an answer to this question."
FOLLOW_EVERY_S = 2.0  # how often a question looks whether another process swapped in a build


@dataclass
class AddResult:
    """Outcome of ``Assistant.add_files``: doc_ids indexed, one message per rejected file and
    one per file whose content was already indexed."""

    added: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


__all__ = ["AddResult", "Assistant", "check_question", "default_index_dir", "fingerprint"]


class Assistant:
    """Question answering over one index directory. Thread-safe for queries."""

    def __init__(self, store: IndexStore, data: IndexData, config: Config, encoder: TextEncoder,
                 analyzer: Analyzer, corpus: Path, backend: Backend | None = None) -> None:
        self.store = store
        self.backend = backend if backend is not None else _backend_of(data)
        self.config = config
        self.encoder = encoder
        self.analyzer = analyzer
        self.corpus = corpus
        self._write_lock = threading.Lock()
        self._reader: Reader | None = None
        self._reader_lock = threading.Lock()
        self._checked_at = time.monotonic()  # when the live build was last looked at
        self._not_followed: str | None = None  # a live build not switched to (and why warned)
        self._closed = False
        self._set_data(data)

    # ----------------------------------------------------------------- building / opening
    @classmethod
    def build(cls, corpus: Path | str | None = None, index_dir: Path | str | None = None,
              model: str | None = None, config: Config | None = None,
              progress: bool = False, backend: str | None = None,
              uri: str | None = None, reuse_current: bool = True) -> Assistant:
        """Open the index of ``corpus`` in ``index_dir``, (re)building it if it is missing,
        stale (files changed) or was built with other settings. Unchanged chunks are not
        re-embedded (embedding cache). The previous index stays usable if this fails.

        ``model``: a sentence-transformers name or folder (else ``RAG_MODEL``, else the
        model the index in ``index_dir`` was built with, else the bundled
        multilingual-e5-small). ``backend``: ``"faiss"`` (default, files in
        ``index_dir``) or ``"milvus"`` at ``uri`` (a Milvus Lite ``.db`` file, default
        ``<index_dir>/milvus.db``, or ``http://host:19530``; a token goes in
        ``RAG_MILVUS_TOKEN``). ``reuse_current``: open an index that is already current
        without the writer lock (readers never wait); False always takes the lock, so that an
        explicit re-index is serialised with another process's build (`rag index`)."""
        corpus = check_path(corpus, "corpus") if corpus is not None else BUNDLED_CORPUS
        if index_dir is not None:
            index_dir = check_path(index_dir, "index_dir")
        _check_settings(model, config, uri)
        if not corpus.exists():
            raise CorpusError(f"corpus path does not exist: {corpus}")
        store = IndexStore(index_dir if index_dir is not None else default_index_dir(corpus))
        live = store.live_manifest()  # a re-index keeps the index's model and backend
        model = model or env_setting("RAG_MODEL") or (
            None if config else _recorded_model(live))
        recorded = Config.from_dict(live.get("config") or {}) if live and not config else None
        config = copy.deepcopy(config) if config else Config()
        if recorded is not None:  # and its chunking (without a config of the caller's)
            _keep_shape(config, recorded)
        if model:
            config.model = model
        config.model = canonical_model_name(config.model)
        if backend is not None:
            if backend not in BACKENDS:
                raise BackendError(f"unknown backend {backend!r}; use one of "
                                   f"{', '.join(BACKENDS)}")
            config.storage.backend, config.storage.uri = backend, uri
        elif uri is not None:
            config.storage.backend, config.storage.uri = "milvus", uri
        if backend is None and uri is None and config.storage == StorageConfig():
            config.storage = _recorded_storage(live, store.root)
        # the encoder that embeds this index (recorded in its manifest's config)
        config.encoder = resolve_encoder(_env_encoder() or config.encoder, config.model)
        encoder = make_encoder(config.model, cache_dir() / "embeddings", config.batch_size,
                               variant=config.encoder, model_cache_dir=cache_dir())
        analyzer = Analyzer()
        store_backend = open_backend(backend_spec(config, store), store.root)
        try:
            # a current index is opened without the writer lock (no wait on another writer,
            # and a read-only folder is fine); a stale or missing one is built under it
            data = (indexer.current_if_fresh(store, corpus, config, store_backend)
                    if reuse_current else None)
            if data is None:
                with store.locked():
                    data = indexer.refresh(store, corpus, config, encoder, analyzer,
                                           store_backend, progress)
        except BaseException:
            store_backend.close()
            raise
        return cls(store, data, config, encoder, analyzer, corpus, store_backend)

    @classmethod
    def load(cls, index_dir: Path | str | None = None, model: str | None = None,
             config: Config | None = None, refresh: bool = True,
             uri: str | None = None) -> Assistant:
        """Open an existing index. A different ``model`` than the index's is an error; a
        stale index (its corpus files changed) is rebuilt incrementally when ``refresh``.
        The backend (FAISS or Milvus and its uri) comes from the manifest; ``uri``
        overrides the recorded Milvus address (needed when it carried credentials).

        Model and chunking always come from the index's manifest; retrieval and answer
        settings from ``config`` (default: the current defaults)."""
        if index_dir is not None:
            index_dir = check_path(index_dir, "index_dir")
        _check_settings(model, config, uri)
        store = IndexStore(index_dir if index_dir is not None else default_index_dir())
        backend = open_backend(stored_spec(read_manifest(store.current()), uri, store.root),
                               store.root)
        try:
            data = IndexData.load(store.current(), backend=backend)
        except IndexFormatError as exc:
            backend.close()
            # only an older format is rebuilt on open; a newer one is another version's index
            upgraded = _upgrade(store, model, config) if refresh and not exc.newer else None
            if upgraded is None:
                raise
            return upgraded
        except BaseException:
            backend.close()
            raise
        try:
            return cls._open(store, data, backend, model, config, refresh, uri)
        except BaseException:
            backend.close()
            raise

    @classmethod
    def _open(cls, store: IndexStore, data: IndexData, backend: Backend, model: str | None,
              config: Config | None, refresh: bool, uri: str | None) -> Assistant:
        manifest = data.manifest
        saved = Config.from_dict(manifest.get("config", {}))
        config = copy.deepcopy(config) if config else Config()
        config.model = manifest["model"]
        _keep_shape(config, saved)  # the settings that shape the index come from it
        config.storage = saved.storage
        if config.storage.backend == "milvus":  # the uri opened (given, or a moved Lite file)
            config.storage.uri = uri or getattr(backend, "uri", None) or config.storage.uri
        if model and canonical_model_name(model) != manifest["model"]:
            raise ModelMismatchError(
                f"the index at {store.root} was built with model {manifest['model']!r} "
                f"(dim {manifest['dim']}), not {model!r}; rebuild it with "
                f"`python -m rag index --index {store.root} --model {model}`")
        # queries (and refreshes) use the fastest encoder of the index's vector family
        config.encoder = query_encoder(manifest.get("config", {}).get("encoder"),
                                       manifest["model"])
        encoder = make_encoder(manifest["model"], cache_dir() / "embeddings", config.batch_size,
                               variant=config.encoder, model_cache_dir=cache_dir())
        if encoder.dim != manifest["dim"]:
            raise ModelMismatchError(
                f"model {manifest['model']!r} now gives {encoder.dim}-d vectors but the index "
                f"at {store.root} holds {manifest['dim']}-d ones; rebuild the index")
        corpus = corpus_of(manifest) or BUNDLED_CORPUS
        assistant = cls(store, data, config, encoder, Analyzer(), corpus, backend)
        if refresh:
            assistant._refresh_on_open(manifest)
        return assistant

    def _refresh_on_open(self, manifest: dict[str, Any]) -> None:
        """Bring the index up to date with its corpus. A corpus that is gone or has no
        readable documents now cannot give a new index: the last one stays in use, with a
        warning that says so (``rag index`` on a corpus with articles replaces it)."""
        built = str(manifest.get("created") or manifest.get("build") or "earlier")
        if not self.corpus.exists():
            log.warning("corpus %s no longer exists; answering from the index built %s in %s",
                        self.corpus, built, self.store.root)
            return
        try:
            if indexer.is_current(self.store, self.corpus, self.config, self._data):
                return  # nothing to write: no lock (a read-only or busy folder is fine)
            if self._refresh(wait=False) is None:
                log.warning("another process is writing the index at %s; answering from "
                            "the index built %s until it is done", self.store.root, built)
        except (CorpusError, IndexNotWritableError, ModelMismatchError, OSError) as exc:
            # OSError: a folder made read-only, a full disk (the new build is discarded);
            # ModelMismatchError: another process swapped in a build of other settings
            log.warning("%s; answering from the index built %s in %s", exc, built,
                        self.store.root)

    def refresh(self, progress: bool = False) -> bool:
        """Rebuild incrementally if the corpus files changed; True if a rebuild happened."""
        return bool(self._refresh(progress))

    def _refresh(self, progress: bool = False, wait: bool = True) -> bool | None:
        """`refresh` under the writer lock; None (nothing done) when ``wait`` is False and
        another process holds the lock."""
        self._check_open()
        with self._write_lock, self.store.locked(wait) as held:
            if not held:
                return None
            live = self.store.live_manifest()  # None: no readable one (rebuilt below)
            if live is not None and live.get("build") != self.build_id:
                self._check_settings_of(live, "refresh it")
            old = self._data
            data = indexer.refresh(self.store, self.corpus, self.config, self.encoder,
                                   self.analyzer, self.backend, progress, current=old)
            self._set_data(data)
        return data is not old

    def close(self) -> None:
        """Release the backend's connection (a Milvus client); the assistant is unusable
        afterwards. Needed only to reopen a Milvus Lite file from another process."""
        self._closed = True
        self.backend.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (questions and writes are then an error)."""
        return self._closed

    def _check_open(self) -> None:
        """A clear error for a question or a write after ``close()`` (a Milvus one was
        "should create connection first", as if the server were at fault)."""
        if self._closed:
            raise BackendError(f"this Assistant of {self.store.root} was closed (close(), or "
                               "the end of its `with` block); open the index again with "
                               "rag.Assistant.load(...)")

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _set_data(self, data: IndexData) -> None:
        # the build's own corpus: a build another process made of another corpus (`rag index
        # --index X --corpus B`, followed) is refreshed from B, never rebuilt from the old one
        self.corpus = corpus_of(data.manifest) or self.corpus
        self._data = data
        self._retriever = Retriever(data, self.encoder, self.analyzer, self.config.retrieval)
        self._answerer = Answerer(data, self.analyzer, self.config.answer)
        self._reader_answerer = None

    @property
    def reader(self) -> Reader:
        """The trained span reader (its model loads on the first question)."""
        with self._reader_lock:
            if self._reader is None:
                cfg = self.config.answer
                self._reader = Reader(max_length=cfg.reader_max_length, stride=cfg.reader_stride,
                                      runtime=cfg.reader_runtime,
                                      threads=max(1, min(cfg.reader_threads, os.cpu_count() or 1)),
                                      base_tokenizer=getattr(self.encoder, "tokenizer_of", None))
        return self._reader

    def _answerer_for(self, reader: bool, retriever: Retriever | None = None
                      ) -> Answerer | ReaderAnswerer:
        """The answerer over ``retriever``'s data (default: the current one), so that a
        question answered while another thread switches builds stays within one build."""
        retriever = retriever or self._retriever
        heuristic = self._answerer
        if heuristic.data is not retriever.data:
            heuristic = Answerer(retriever.data, self.analyzer, self.config.answer)
        if not reader:
            return heuristic
        current = self._reader_answerer
        if current is None or current.retriever is not retriever:
            current = ReaderAnswerer(retriever.data, retriever, self.reader, self.config.answer,
                                     heuristic)
            if retriever is self._retriever:
                self._reader_answerer = current
        return current

    def _follow_live(self) -> None:
        """Switch to the live build when another process (`rag index`, a refresh) has swapped
        in a new one since this assistant loaded its build: a chat serves what the indexer
        wrote, without a restart. Looked at every ``FOLLOW_EVERY_S`` at most (one small
        read); skipped while this process writes. A build made with other settings (another
        model, other chunks) or that cannot be loaded is not followed: the current one stays,
        with one warning per such build."""
        now = time.monotonic()
        if now - self._checked_at < FOLLOW_EVERY_S:
            return
        if not self._write_lock.acquire(blocking=False):
            return
        try:
            self._checked_at = now
            live = self._other_live_build()
            if live is None or live.name == self._not_followed:
                return
            self._not_followed = live.name  # until it is loaded: warn once, try once
            if read_manifest(live).get("build_key") != self._data.manifest.get("build_key"):
                log.warning("the live build %s of %s was made with other settings (model, "
                            "chunking); still answering from build %s: reopen the index to "
                            "use it", live.name, self.store.root, self.build_id)
                return
            data = IndexData.load(live, backend=self.backend)
            log.info("switching to the live build %s (was %s)", live.name, self.build_id)
            self._set_data(data)
        except Exception as exc:  # noqa: BLE001 - the loaded build keeps answering
            log.warning("cannot switch to the live build of %s, still answering from build "
                        "%s: %s", self.store.root, self.build_id, exc)
        finally:
            self._write_lock.release()

    # ----------------------------------------------------------------------- questions
    def retrieve(self, query: str, k: int = 5, *, mode: str | None = None,
                 filters: Filters | None = None, timings: dict[str, float] | None = None,
                 **filter_kwargs: Any) -> list[Hit]:
        """The ``k`` best chunks (overlapping chunks of one document de-duplicated)."""
        query = check_question(query)
        k = check_k(k)
        filters = _filters(filters, filter_kwargs)
        _check_timings(timings)
        self._check_open()
        self._follow_live()
        retriever = self._retriever
        retrieval = retriever.run(query, mode, filters, timings)
        return [_hit(retriever.data, i, s)
                for i, s in retriever.distinct(retrieval.candidates, k)]

    def unmatched_filters(self, filters: Filters | None = None, **filter_kwargs: Any
                          ) -> str | None:
        """The message naming ``filters`` when no indexed document passes them (a mistyped
        source is not "no results"), else None."""
        return _unmatched(self._retriever, _filters(filters, filter_kwargs))

    def answer(self, question: str, k: int = 5, *, mode: str | None = None,
               filters: Filters | None = None, history: list[str] | None = None,
               timings: dict[str, float] | None = None, reader: bool | None = None,
               **filter_kwargs: Any) -> Answer:
        """Up to ``k`` verbatim, cited snippets, or ``answered=False`` when evidence is weak.

        ``reader`` (default ``config.answer.reader``, True): the trained reader picks the
        spans and ``Answer.short_answer`` is set; False: the fast heuristic sentence scorer."""
        started = time.perf_counter()
        question = check_question(question)
        k, history = check_k(k), check_history(history)
        _check_timings(timings)
        # reader="no" (a string) is true: it used the reader that was being turned off
        check_optional(reader, bool, "reader", "True (the trained reader) or False (the "
                       "heuristic)")
        self._check_open()
        # an earlier question refused as code or markup is no subject: "那平安健康呢？" after
        # a pasted SQL line searched "平安健康 * FROM users WHERE id=1" and was refused
        history = [h for h in history if not is_junk_question(h)] if history else history
        filters = _filters(filters, filter_kwargs)
        if is_junk_question(question):  # code, markup or a foreign script: nothing to find
            return Answer(question, False, [], REFUSAL, [], question)
        self._follow_live()
        retriever = self._retriever  # one build for the whole question
        unmatched = _unmatched(retriever, filters)  # a mistyped source: not "not in the corpus"
        if unmatched:
            return Answer(question, False, [], unmatched, [], question)
        timings = timings if timings is not None else {}
        query = question
        if history:
            from rag.followup import contextualize

            query = contextualize(question, history, self.analyzer)
        use_reader = self.config.answer.reader if reader is None else bool(reader)
        answerer = self._answerer_for(use_reader, retriever)
        cfg = self.config.answer  # the heuristic, and the reader's choice of passages, use
        # sentence similarity even when the search itself is by keywords
        similarity = cfg.reader_focus_chars > 0 or cfg.reader_passages == "sentence"
        retrieval = retriever.run(query, mode, filters, timings,
                                  need_vector=not use_reader or similarity)
        tick = time.perf_counter()
        asked = retrieval.question or query  # a non-Chinese question: its translation
        extraction = answerer.run(asked, retrieval, k)
        timings["answer"] = time.perf_counter() - tick
        hits = [_hit(retriever.data, i, s)
                for i, s in retriever.distinct(retrieval.candidates, k)]
        answered = bool(extraction.snippets) and (
            extraction.evidence >= answerer.threshold(query))  # by the language asked in
        timings["total"] = time.perf_counter() - started
        if not answered:
            return Answer(question, False, [], REFUSAL + _filtered(filters), hits, query)
        n = len(extraction.snippets)
        message = f"找到 {n} 条原文片段。Found {n} verbatim snippet{'s' if n > 1 else ''}."
        short = extraction.snippets[0].answer
        return Answer(question, True, extraction.snippets, message, hits, query, short)

    # ------------------------------------------------------------------------ documents
    def document(self, doc_id: str) -> Document:
        data = self._data
        pos = data.doc_pos.get(doc_id) if isinstance(doc_id, str) else None  # a list: no crash
        if pos is None:
            hint = ""  # a JSONL record's integer id is the doc_id "2", not 2
            if isinstance(doc_id, int) and not isinstance(doc_id, bool) and str(
                    doc_id) in data.doc_pos:
                hint = f" (doc_ids are strings: {str(doc_id)!r})"
            raise UnknownDocumentError(f"no document with doc_id {doc_id!r:.200} in this "
                                       f"index{hint}")
        return data.documents[pos].copy()  # a change by the caller stays the caller's

    def documents(self) -> list[Document]:
        """Copies of every document (changing one changes nothing in the index)."""
        return [doc.copy() for doc in self._data.documents]

    def sources(self) -> list[str]:
        """Distinct ``source`` metadata values, for filters."""
        return _sources(self._data)

    @property
    def n_documents(self) -> int:
        return len(self._data.documents)

    @property
    def build_id(self) -> str | None:
        """The name of the build answered from (a new one for every change of the corpus),
        without copying the manifest (which lists every corpus file)."""
        return self._data.manifest.get("build")

    @property
    def manifest(self) -> dict[str, Any]:
        """A copy of the index's manifest (build, counts, corpus, settings)."""
        return copy.deepcopy(self._data.manifest)

    @property
    def chunks(self) -> list[Chunk]:
        """Copies of the indexed chunks, in index order."""
        return [replace(c) for c in self._data.chunks]

    @property
    def index_dir(self) -> Path:
        return self.store.root

    def chunk_texts_for_embedding(self) -> list[str]:
        """The exact chunk strings embedded at index time (prompt excluded)."""
        return [embedding_text(c) for c in self._data.chunks]

    def add_files(self, paths: list[Path | str] | Path | str, *,
                  wait: bool = True) -> AddResult:
        """Validate, copy into the index's ``added/`` folder and re-index incrementally.
        ``paths``: a list of files, or one file. ``wait=False``: while another process
        writes the index (a `rag index` can take hours), an ``IndexNotWritableError`` at
        once instead of waiting for it (the chat's upload).

        Bad files (type, hidden name, size, binary, encoding, no text) are reported and change
        nothing. Nothing is ever overwritten: a name already taken gets a new doc_id
        (``name-2``), content already in the corpus is reported in ``present``. If
        re-indexing fails, the copied files are removed again. Writers are serialised (a
        lock per index directory, across processes)."""
        paths = check_paths(paths, "paths")
        self._check_open()
        result = AddResult()
        with self._write_lock, self.store.locked(bool(wait)) as held:
            if not held:
                raise IndexNotWritableError(  # no server path: the chat shows it
                    "another process is writing this index (`rag index`, or an upload "
                    "elsewhere); nothing was added, try again when it is done")
            current = self._latest()
            if current is not self._data:
                self._check_settings_of(current.manifest, "add files")
            known = {digest: path for path, digest in
                     current.manifest.get("corpus", {}).get("files", {}).items()}
            plans, report = plan_uploads(
                list(paths), self.store.added, set(current.doc_pos), known,
                max_document_bytes=self.config.corpus.max_document_bytes)
            result.errors, result.present = report.errors, report.present
            if not plans:
                return result
            written = stage(plans)
            try:  # the live build's corpus (another process may have switched it)
                corpus = corpus_of(current.manifest) or self.corpus
                data = indexer.refresh(self.store, corpus, self.config, self.encoder,
                                       self.analyzer, self.backend, False, current=current)
            except BaseException:
                unstage(written)
                raise
            self._set_data(data)
        for plan in plans:
            missing = [d for d in plan.doc_ids if d not in data.doc_pos]
            if missing:  # e.g. the file had no text after cleaning: say so, never "added"
                result.errors.append(f"{plan.source.name}：未能索引 / could not be indexed "
                                     "(see the server log)")
            result.added.extend(d for d in plan.doc_ids if d in data.doc_pos)
        return result

    def _check_settings_of(self, live: dict[str, Any], action: str) -> None:
        """A ModelMismatchError when ``live`` (the build another process swapped in) was made
        with other settings than this assistant's: refreshing, or adding files, would
        rebuild the whole index with this assistant's model and chunking, undoing that
        process's re-index (`rag index --model …` while the chat ran)."""
        if live.get("build_key") == self.config.build_key():
            return
        theirs, ours = live.get("model"), self._data.manifest.get("model")
        what = (f"model {theirs!r}; this process uses {ours!r}" if theirs != ours
                else "its chunking, encoder or index recipe")
        raise ModelMismatchError(  # no server path: the chat shows it
            f"this index was rebuilt by another process with other settings ({what}); "
            f"reopen the index (restart the chat) to {action}, so that its new build is kept")

    def _latest(self) -> IndexData:
        """The live build on disk (another process may have added files since we loaded)."""
        try:
            live = self._other_live_build() if self.store.exists() else None
            if live is not None:
                return IndexData.load(live, backend=self.backend)
        except Exception as exc:  # noqa: BLE001 - fall back to what we have
            log.warning("cannot reload the live index, using the loaded one: %s", exc)
        return self._data

    def _other_live_build(self) -> Path | None:
        """The live build's folder when it is not the loaded one (another process, or this
        one's refresh, swapped one in since), else None."""
        live = self.store.current()
        return None if live.name == self.build_id else live


def _sources(data: IndexData) -> list[str]:
    return sorted({d.metadata["source"] for d in data.documents if d.metadata.get("source")})


def _unmatched(retriever: Retriever, filters: Filters | None) -> str | None:
    """The message naming ``filters`` when no document of ``retriever``'s build passes
    them, else None."""
    if retriever.passes_any(filters):
        return None
    return _no_match(filters, _sources(retriever.data))


def _hit(data: IndexData, idx: int, score: float) -> Hit:
    chunk = data.chunks[idx]
    doc = data.documents[data.chunk_doc[idx]]
    return Hit(doc_id=chunk.doc_id, title=chunk.title, text=chunk.text,
               score=round(float(score), 6), start=chunk.start, end=chunk.end,
               metadata=own_metadata(doc.metadata))


# control characters (NUL…) and invisible format characters (zero-width space, BOM…)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2060-\u2064\ufeff]")


def check_question(question: str) -> str:
    """The stripped question with control characters (NUL…) made spaces; empty, over-long
    or not-text questions (unpaired surrogates: bytes that were not UTF-8) are a clear
    error."""
    if question is None:
        raise InvalidQuestionError(EMPTY_QUESTION)
    if not isinstance(question, str):
        raise InvalidQuestionError(f"问题必须是文本。The question must be a string, not "
                                   f"{type(question).__name__}.")
    if SURROGATE.search(question):
        raise InvalidQuestionError(
            "问题含有无法识别的字符（不是有效的 UTF-8 文本）。The question holds bytes that are "
            "not valid UTF-8 text; check the terminal's or the client's encoding.")
    question = _CONTROL.sub(" ", question).strip()
    if not question:
        raise InvalidQuestionError(EMPTY_QUESTION)
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"问题太长（{len(question)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内。"
            f"The question is too long ({len(question)} characters; "
            f"at most {MAX_QUESTION_CHARS}).")
    return question


def _filtered(filters: Filters | None) -> str:
    """What a refusal adds when filters narrowed the search (the answer may be elsewhere)."""
    if filters is None or filters.is_empty():
        return ""
    return (" 仅在符合筛选条件的文章中查找。Only the documents that pass the filters were "
            "searched.")


def _no_match(filters: Filters, sources: list[str]) -> str:
    """The message for filters that no indexed document passes, naming them."""
    parts = []
    if filters.source:
        known = ", ".join(sources[:10]) + (" …" if len(sources) > 10 else "")
        parts.append(f"source {filters.source!r} (sources in this index: {known or 'none'})")
    if filters.date_from or filters.date_to:
        parts.append(f"dates {filters.date_from or '…'} to {filters.date_to or '…'}")
    if filters.doc_ids:
        parts.append(f"{len(filters.doc_ids)} doc_id(s)")
    return ("没有符合筛选条件的文章。No document matches the filters: " + "; ".join(parts) + ".")


def _check_settings(model: Any, config: Any, uri: Any = None) -> None:
    """``model`` (a name or folder), ``config`` and ``uri`` must have their types, or be
    None; an empty ``uri`` is an error (it used to mean a Milvus Lite file by default)."""
    check_optional(model, str, "model", "a sentence-transformers model name or folder (str)")
    if model is not None and not model.strip():  # " " built an index of the model ""
        raise InvalidArgumentError("model is empty: give a sentence-transformers model name "
                                   "or folder, or leave it out (None) for the index's own")
    check_optional(uri, str, "uri", "a Milvus uri (str)")
    if uri is not None and not uri.strip():
        raise InvalidArgumentError("uri is empty: give a Milvus Lite .db file or a server "
                                   "address, or leave it out (None)")
    check_optional(config, Config, "config", "a rag.Config")
    if config is not None:
        check_config(config)


def _check_timings(timings: Any) -> None:
    """``timings`` is a dict the stages' seconds are written into, or None (a list or a
    string was a TypeError from deep inside the retriever)."""
    check_optional(timings, dict, "timings", "a dict (filled with seconds per stage)")


def _env_encoder() -> str | None:
    """``RAG_ENCODER`` (the encoder a build uses), checked: a typo is one clear error, not a
    ValueError traceback."""
    encoder = env_setting("RAG_ENCODER")
    if encoder and encoder not in ENCODERS:
        raise InvalidArgumentError(f"RAG_ENCODER={encoder!r} is not an encoder; use one of "
                                   f"{', '.join(ENCODERS)}, or unset it")
    return encoder or None


def _filters(filters: Filters | None, kwargs: dict[str, Any]) -> Filters | None:
    unknown = set(kwargs) - {"source", "date_from", "date_to", "doc_ids"}
    if unknown:
        raise TypeError(f"unexpected argument(s): {', '.join(sorted(unknown))}")
    if kwargs:
        filters = Filters(**{**(filters.__dict__ if filters else {}), **kwargs})
    return check_filters(filters)


def _upgrade(store: IndexStore, model: str | None, config: Config | None) -> Assistant | None:
    """Rebuild an index of an older format from its own corpus (recorded in its manifest),
    or None if that corpus is gone (the caller then reports the format error)."""
    try:
        manifest = read_manifest(store.current())
    except Exception:  # noqa: BLE001
        return None
    corpus = corpus_of(manifest)
    if corpus is None or not corpus.exists():
        return None
    log.warning("index at %s has an older format; rebuilding it from its corpus %s",
                store.root, corpus)
    entry = manifest.get("backend") or {}
    return Assistant.build(corpus, store.root, model=model or manifest.get("model"),
                           config=config, backend=entry.get("name", "faiss"),
                           uri=entry.get("uri"))


def _keep_shape(config: Config, saved: Config) -> None:
    """Give ``config`` the settings of ``saved`` (an index's) that shape what it stores and
    are in its build key besides the model: chunking, the corpus size limit, the ANN
    recipe. A re-index without a config (`rag index --index DIR`, `rag ask --corpus`, the
    chat given --corpus) rebuilt an index of custom chunking with the default one."""
    config.chunking, config.corpus = copy.deepcopy(saved.chunking), copy.deepcopy(saved.corpus)
    for name in ("ann_threshold", "ann_index", "ann_recall_target"):
        setattr(config.retrieval, name, getattr(saved.retrieval, name))


def _backend_of(data: IndexData) -> Backend:
    if data.backend is not None:
        return data.backend
    from rag.backends.faiss import FaissBackend

    return FaissBackend()


def _recorded_model(manifest: dict[str, Any] | None) -> str | None:
    """The embedding model a build was asked for (its saved configuration's ``model``: a
    name or a folder, as given); None without a build."""
    config = (manifest or {}).get("config")
    model = config.get("model") if isinstance(config, dict) else None
    return model if isinstance(model, str) and model else None


def _recorded_storage(manifest: dict[str, Any] | None, index_root: Path) -> StorageConfig:
    """The backend a build of the index at ``index_root`` was written with (FAISS when there
    is no build)."""
    if manifest is None:
        return StorageConfig()
    try:
        spec = stored_spec(manifest, index_root=index_root)
    except Exception:  # noqa: BLE001 - no recorded uri (it carried credentials): the default
        return StorageConfig()
    return StorageConfig(spec.name, spec.uri) if spec.name == "milvus" else StorageConfig()
