"""Milvus backend: one collection per index build, through ``pymilvus.MilvusClient(uri)``.

``uri`` is a local ``*.db`` file (Milvus Lite, embedded: one process per file) or a server
(``http://host:19530``; same code). A collection holds each chunk's dense vector (FLAT, inner
product: exact, like FAISS's flat index) and its BM25 document weights as a sparse vector
(``rag.backends.sparse_bm25``); the word list and document frequencies stay in the build
folder, so IDF is applied to the query. Documents, chunk offsets and sentence vectors stay in
the build folder as with FAISS.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from rag import ann_tuning as tuning
from rag.ann_tuning import EF_CONSTRUCTION, HNSW_M, Calibration
from rag.backends.sparse_bm25 import DocFreqView, SparseBM25
from rag.errors import BackendError, RagError

log = logging.getLogger(__name__)

KEYWORD_FILE = "bm25_sparse.json"
TOKEN_ENV = "RAG_MILVUS_TOKEN"  # a server's token ("user:password" or an API key); never stored
INSERT_BATCH = 1000
MILVUS_INDEX = {"flat": "FLAT", "hnsw": "HNSW", "ivf": "IVF_FLAT"}
SEARCH_PARAM = {"hnsw": "ef", "ivf": "nprobe"}
MAX_EF = 32768  # Milvus's upper bound of HNSW ef
_ID_FILTER_MAX = 10_000  # allowed ids per filter expression (longer lists: in parts)
MIN_SERVER = (2, 4)  # sparse float vectors (the BM25 field) came with Milvus 2.4


# ------------------------------------------------------------------------------ connection
def is_lite(uri: str) -> bool:
    """A local Milvus Lite file (pymilvus starts it in-process) rather than a server URL."""
    return "://" not in uri


def normalise_uri(uri: str) -> str:
    """Absolute path for a Lite file (it must end in ``.db``); a server URL unchanged."""
    if not is_lite(uri):
        return uri
    path = Path(uri).expanduser().resolve()
    if path.suffix != ".db":
        raise BackendError(f"a Milvus Lite uri must be a file ending in .db, not {uri!r} "
                           "(or give a server: --uri http://host:19530)")
    return str(path)


def storable_uri(uri: str) -> str | None:
    """The uri to record in the manifest, or None when it carries credentials (then the
    user gives ``--uri`` again when opening the index)."""
    if is_lite(uri):
        return uri
    parts = urlsplit(uri)
    if parts.username or parts.password or re.search(r"(?i)token|key|secret|password",
                                                     parts.query):
        return None
    return urlunsplit(parts)


class _Clients:
    """One MilvusClient per uri in this process, shared by every index that uses it.

    pymilvus keys its connections by uri, so closing one of two clients of a uri would close
    both; the client is closed when its last user releases it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Any, int]] = {}

    def acquire(self, uri: str) -> Any:
        with self._lock:
            if uri in self._open:
                client, users = self._open[uri]
                self._open[uri] = (client, users + 1)
                return client
            client = _connect(uri)
            self._open[uri] = (client, 1)
            return client

    def release(self, uri: str) -> None:
        with self._lock:
            client, users = self._open.get(uri, (None, 0))
            if client is None:
                return
            if users > 1:
                self._open[uri] = (client, users - 1)
                return
            del self._open[uri]
        client.close()
        if is_lite(uri):
            _stop_lite_server(uri)


def _stop_lite_server(uri: str) -> None:
    """Stop this process's Milvus Lite server of ``uri``. pymilvus's ``close`` leaves it
    running, holding the file's lock, until the process exits: another process could not open
    the file after ``Assistant.close()`` (found by the third robustness probe)."""
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:
        return
    server_manager_instance.release_server(uri)


_CLIENTS = _Clients()


class _LiteNoise(logging.Filter):
    """Drops the tracebacks that Milvus Lite's in-process server and pymilvus log at ERROR
    for a failure that pymilvus then raises, so that the one-line error made of it is all
    the console shows: the Lite file's lock held by another process or a Lite file that
    cannot be opened (``_connect`` says why), a damaged collection (its RPC fails, logged
    twice: by Lite's servicer and by pymilvus's ``_log_rpc_error``), and pymilvus's
    ``AllocTimestamp`` call, which Lite does not implement (twice per build, while the index
    is built all the same)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.name == "grpc._server":
            return not isinstance(error, NotImplementedError)
        if record.name == "pymilvus.decorators":
            return not record.getMessage().startswith("RPC error")
        return error is None  # Lite's server manager and servicer: raised to the caller


_LITE_NOISE = _LiteNoise()
_NOISY_LOGGERS = ("milvus_lite.server_manager", "milvus_lite.adapter.grpc.servicer",
                  "grpc._server", "pymilvus.decorators")


def _quiet_lite_logs() -> None:
    """Attach :class:`_LiteNoise` to the loggers of :data:`_NOISY_LOGGERS` (once)."""
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if _LITE_NOISE not in logger.filters:
            logger.addFilter(_LITE_NOISE)


def _connect(uri: str) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise BackendError("the Milvus backend needs pymilvus: pip install "
                           "'pymilvus[milvus-lite]>=2.6' (or `pip install rag-news[milvus]`)"
                           ) from exc
    token = os.environ.get(TOKEN_ENV, "")
    _quiet_lite_logs()
    if is_lite(uri):
        _refuse_foreign_folder(uri)
    try:
        if is_lite(uri):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            return MilvusClient(uri)
        client = MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
    except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds for one cause
        if is_lite(uri):
            raise _lite_error(uri, exc) from exc
        raise BackendError(f"cannot connect to the Milvus server {uri}: {exc}") from exc
    check_server_version(client, uri)
    return client


# what Milvus Lite keeps in its folder (milvus-lite 2.5): one of them marks a folder as its own
LITE_MARKERS = ("LOCK", "collections", "databases", ".database-staging")


def _refuse_foreign_folder(uri: str) -> None:
    """A folder named ``*.db`` holding files, none of them Milvus Lite's, is someone else's
    (``--uri ~/photos.db``): Milvus Lite would write its data among them."""
    path = Path(uri)
    if not path.is_dir() or any((path / name).exists() for name in LITE_MARKERS):
        return
    try:
        found = next(path.iterdir(), None)
    except OSError:
        return  # unreadable: Milvus Lite's own error says so
    if found is not None:
        raise BackendError(
            f"{uri} is a folder that is not a Milvus Lite store (it holds {found.name!r} and "
            "no Milvus Lite data): give another --uri (a new name ending in .db), or an empty "
            "folder")


def _lite_error(uri: str, exc: Exception) -> BackendError:
    """Why the Lite file ``uri`` could not be opened, with the fix (pymilvus only says
    "Open local milvus failed")."""
    if Path(uri).is_file():
        return BackendError(
            f"cannot open the Milvus Lite file {uri}: it is a file, but Milvus Lite keeps "
            "its data in a folder of that name (a file of an older Milvus Lite or of another "
            "program cannot be used); give another --uri, or move the file away")
    cause = _lite_open_error(uri)
    if type(cause).__name__ == "DataDirLockedError":
        return BackendError(
            f"cannot open the Milvus Lite file {uri}: another process has it open "
            "(DataDirLockedError: Milvus Lite allows one process per file). Stop that "
            "process (e.g. the chat) first, or run a Milvus server so that the chat and "
            "the indexer can share it: --uri http://localhost:19530 (see README, "
            "'Scaling out')")
    reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause or exc
    return BackendError(f"cannot open the Milvus Lite file {uri}: {reason}")


def check_server_version(client: Any, uri: str) -> None:
    """Refuse a server older than :data:`MIN_SERVER` before anything is written: it would
    fail later, half way through a build, on the sparse BM25 field ("create index on 104 field
    is not supported", measured with Milvus 2.3.5). An unreadable version passes."""
    try:
        version = str(client.get_server_version())
    except Exception:  # noqa: BLE001 - a server without the call is not refused for it
        return
    found = re.search(r"(\d+)\.(\d+)", version)
    if found and (int(found[1]), int(found[2])) < MIN_SERVER:
        client.close()
        raise BackendError(
            f"the Milvus server {uri} runs {version}, but this backend needs Milvus "
            f"{MIN_SERVER[0]}.{MIN_SERVER[1]} or newer (BM25 is stored as sparse vectors, new "
            "in 2.4): upgrade the server (the v2.6.x docker compose file, README 'Scaling "
            "out'), or use the default backend or a Milvus Lite file")


def _lite_open_error(uri: str) -> Exception | None:
    """The error Milvus Lite gives when it opens ``uri`` directly (its lock held by another
    process: ``DataDirLockedError``; a path it cannot create: an OSError), else None."""
    try:
        from milvus_lite.db import MilvusLite
    except ImportError:
        return None
    try:
        MilvusLite(uri).close()
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is the reason
        return exc
    return None


def collection_prefix(index_root: Path) -> str:
    """Collections of one index directory share a prefix (a server may hold many indexes)."""
    digest = hashlib.sha1(str(Path(index_root).expanduser().resolve()).encode()).hexdigest()
    return f"rag_{digest[:10]}_"


# ----------------------------------------------------------------------------- structures
class MilvusVectorIndex:
    """Dense chunk vectors in a Milvus collection, inner product: FLAT (exact), or above the
    exact-search threshold HNSW / IVF_FLAT whose search parameter (``ef`` / ``nprobe``) is
    calibrated when the build is saved (:meth:`MilvusBackend.save`), as for FAISS."""

    def __init__(self, vectors: np.ndarray | None, size: int, dim: int,
                 client: Any = None, collection: str | None = None, kind: str = "flat",
                 search_value: int = 0, calibration: Calibration | None = None,
                 calibration_source: str = "", ann: dict[str, Any] | None = None) -> None:
        self.pending = vectors  # held until the build is saved (inserted), then dropped
        self._size, self._dim = size, dim
        self.client, self.collection = client, collection
        self.kind = kind  # "flat" | "hnsw" | "ivf"
        self.search_value = search_value  # ef (hnsw) or nprobe (ivf)
        self.calibration, self.calibration_source = calibration, calibration_source
        self.ann = ann or {}  # recall target and calibration queries, until saved

    @property
    def size(self) -> int:
        return self._size

    @property
    def dim(self) -> int:
        return self._dim

    def describe(self) -> dict:
        info: dict[str, Any] = {"type": self.kind, "size": self.size, "dim": self.dim,
                                "engine": "milvus", "index": MILVUS_INDEX[self.kind],
                                "metric": "IP", "collection": self.collection}
        if self.kind != "flat":
            info.update(self.build_params())
            info[SEARCH_PARAM[self.kind]] = self.search_value
        if self.calibration is not None:
            info["calibration"] = {**self.calibration.to_dict(),
                                   "queries": self.calibration_source}
        return info

    def build_params(self) -> dict[str, int]:
        """The index's build parameters."""
        if self.kind == "hnsw":
            return {"M": HNSW_M, "efConstruction": EF_CONSTRUCTION}
        if self.kind == "ivf":
            return {"nlist": max(1, int(4 * math.sqrt(max(self.size, 1))))}
        return {}

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               value: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row; ``value``: an ef / nprobe other than the
        calibrated one (the calibration tries them)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k = min(k, self.size)
        scores = np.zeros((len(queries), max(k, 0)), dtype=np.float32)
        ids = np.full((len(queries), max(k, 0)), -1, dtype=np.int64)
        if k <= 0:
            return scores, ids
        value = self.search_value if value is None else value
        if allowed is not None and self.kind != "flat" and self.size:
            # a filter keeps a share of the rows: search that much wider (as for FAISS)
            share = max(len(allowed) / self.size, 1e-6)
            cap = self.build_params()["nlist"] if self.kind == "ivf" else MAX_EF
            value = min(cap, int(math.ceil(value / share)))
        params = (None if self.kind == "flat" else
                  {"ef": max(value, k)} if self.kind == "hnsw" else {"nprobe": value})
        results = _search(self.client, self.collection, "dense",
                          [q.tolist() for q in queries], k, allowed, params)
        for row, hits in enumerate(results):
            for col, (i, s) in enumerate(hits[:k]):
                ids[row, col], scores[row, col] = i, s
        return scores, ids


class MilvusKeywordIndex:
    """BM25 over sparse vectors in the same collection; IDF from the local table."""

    def __init__(self, bm25: SparseBM25, token_lists: list[list[str]] | None = None,
                 client: Any = None, collection: str | None = None) -> None:
        self.bm25 = bm25
        self.pending = token_lists
        self.client, self.collection = client, collection

    @property
    def n_docs(self) -> int:
        return self.bm25.n_docs

    @property
    def doc_freq(self) -> Mapping[str, int]:
        return DocFreqView(self.bm25)

    def idf(self, word: str) -> float:
        return self.bm25.idf(word)

    def top(self, tokens: list[str], n: int, mask: np.ndarray | None = None
            ) -> dict[int, float]:
        query = self.bm25.query(tokens)
        if not query or n <= 0:
            return {}
        allowed = None if mask is None else np.flatnonzero(mask)
        # a little more than n, so that ties at the cut are ordered by id as bm25s does
        hits = _search(self.client, self.collection, "sparse", [query],
                       min(n + 10, self.n_docs), allowed)[0]
        hits = sorted(((i, s) for i, s in hits if s > 0), key=lambda h: (-h[1], h[0]))
        return dict(hits[:n])


def _search(client: Any, collection: str | None, field: str, data: list, limit: int,
            allowed: np.ndarray | None, params: dict[str, int] | None = None
            ) -> list[list[tuple[int, float]]]:
    """(id, score) lists, best first, one per query; ``allowed`` restricts the ids (a long
    list is searched in parts whose results are merged); ``params``: the index's search
    parameters (ef, nprobe)."""
    if client is None or collection is None:
        raise BackendError("this Milvus index is not saved yet (no collection)")
    if allowed is None:
        return _search_expr(client, collection, field, data, limit, "", params)
    merged: list[list[tuple[int, float]]] = [[] for _ in data]
    for lo in range(0, len(allowed), _ID_FILTER_MAX):
        part = allowed[lo:lo + _ID_FILTER_MAX]
        expr = f"id in [{','.join(str(int(i)) for i in part)}]"
        for row, hits in enumerate(_search_expr(client, collection, field, data,
                                                min(limit, len(part)), expr, params)):
            merged[row].extend(hits)
    return [sorted(hits, key=lambda h: (-h[1], h[0]))[:limit] for hits in merged]


def _search_expr(client: Any, collection: str, field: str, data: list, limit: int,
                 expr: str, params: dict[str, int] | None = None
                 ) -> list[list[tuple[int, float]]]:
    search_params: dict[str, Any] = {"metric_type": "IP"}
    if params:
        search_params["params"] = params
    try:
        results = client.search(collection, data=data, anns_field=field, limit=limit,
                                filter=expr, search_params=search_params,
                                output_fields=[])
    except Exception as exc:  # noqa: BLE001
        raise BackendError(f"Milvus search in collection {collection!r} failed: {exc}") from exc
    return [[(int(h["id"]), float(h["distance"])) for h in hits] for hits in results]


# -------------------------------------------------------------------------------- backend
class MilvusBackend:
    """Stores each build of the index at ``index_root`` as a collection at ``uri``."""

    name = "milvus"

    def __init__(self, uri: str, index_root: Path) -> None:
        self.uri = normalise_uri(uri)
        self.prefix = collection_prefix(index_root)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _CLIENTS.acquire(self.uri)
        return self._client

    def build(self, vectors: np.ndarray, token_lists: list[list[str]], ann_threshold: int,
              **ann: Any) -> tuple[MilvusVectorIndex, MilvusKeywordIndex]:
        """FLAT up to ``ann_threshold`` vectors, else ``ann["kind"]`` ("hnsw" or "ivf", as
        IVF_FLAT) with its search parameter calibrated on save to ``ann["recall_target"]``
        recall@10 against exact search, on ``ann["calibration_queries"]`` (else perturbed
        indexed vectors). Milvus Lite builds these indexes too."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        kind = "flat"
        if len(vectors) > ann_threshold:
            kind = ann.get("kind") or "ivf"
            if kind not in SEARCH_PARAM:
                raise ValueError(f"unknown approximate index {kind!r}; use hnsw or ivf")
        options = {"recall_target": ann.get("recall_target", tuning.DEFAULT_TARGET),
                   "calibration_queries": ann.get("calibration_queries")}
        dense = MilvusVectorIndex(vectors, len(vectors), int(vectors.shape[1]), kind=kind,
                                  ann=options)
        return dense, MilvusKeywordIndex(SparseBM25.fit(token_lists), token_lists)

    def save(self, vectors: MilvusVectorIndex, keyword: MilvusKeywordIndex, folder: Path
             ) -> dict[str, Any]:
        """Insert the build into a new collection named after its folder; on any failure
        (or Ctrl-C) the half-written collection is dropped again."""
        if vectors.pending is None or keyword.pending is None:
            raise BackendError("this Milvus index was already saved")
        name = self.prefix + re.sub(r"\W", "_", folder.name.removeprefix(".tmp-"))
        client = self.client
        started = time.perf_counter()
        try:
            _create_collection(client, name, vectors.dim, MILVUS_INDEX[vectors.kind],
                               vectors.build_params())
            for lo in range(0, vectors.size, INSERT_BATCH):
                rows = [{"id": i, "dense": vectors.pending[i].tolist(),
                         "sparse": keyword.bm25.document(keyword.pending[i])}
                        for i in range(lo, min(lo + INSERT_BATCH, vectors.size))]
                client.insert(name, rows)
            if hasattr(client, "flush"):
                client.flush(name)
            if vectors.kind != "flat":
                _calibrate(client, name, vectors)
        except BaseException as exc:
            _drop(client, name)
            if isinstance(exc, Exception) and not isinstance(exc, RagError):
                raise BackendError(f"writing Milvus collection {name!r} at {self.uri} "
                                   f"failed: {exc}") from exc
            raise
        keyword.bm25.save(folder / KEYWORD_FILE)
        for part in (vectors, keyword):
            part.client, part.collection, part.pending = client, name, None
        return {"name": self.name, "uri": storable_uri(self.uri), "collection": name,
                "insert_seconds": round(time.perf_counter() - started, 3)}

    def load(self, folder: Path, manifest: dict[str, Any]
             ) -> tuple[MilvusVectorIndex, MilvusKeywordIndex]:
        entry = manifest.get("backend") or {}
        name = entry.get("collection")
        client = self.client
        if not name or not client.has_collection(name):
            raise BackendError(
                f"the Milvus collection {name!r} of build {folder.name} is missing at "
                f"{self.uri}; rebuild the index with `python -m rag index --backend milvus "
                f"--uri {self.uri} --index <dir>`")
        try:  # a new process (or a restarted server) finds collections released
            _load_collection(client, name)
        except Exception as exc:  # noqa: BLE001
            raise BackendError(f"cannot load the Milvus collection {name!r} at {self.uri} for "
                               f"searching: {exc}") from exc
        bm25 = SparseBM25.load(folder / KEYWORD_FILE)
        rows = int(client.get_collection_stats(name).get("row_count", -1))
        info = manifest.get("vector_index") or {}
        kind = info.get("type", "flat") if info.get("engine") == "milvus" else "flat"
        calibration = info.get("calibration")
        dense = MilvusVectorIndex(
            None, rows, int(manifest.get("dim", 0)), client, name, kind=kind,
            search_value=int(info.get(SEARCH_PARAM.get(kind, ""), 0) or 0),
            calibration=Calibration.from_dict(calibration) if calibration else None,
            calibration_source=(calibration or {}).get("queries", ""))
        return dense, MilvusKeywordIndex(bm25, None, client, name)

    def prune(self, kept: list[dict[str, Any]]) -> None:
        """Drop this index's collections that no kept build names (older builds, and
        builds that were interrupted before their swap)."""
        names = {(m.get("backend") or {}).get("collection") for m in kept}
        client = self.client
        for name in client.list_collections():
            if name.startswith(self.prefix) and name not in names:
                _drop(client, name)

    def connect(self) -> None:
        """Connect (and check the server's version) now."""
        _ = self.client

    def close(self) -> None:
        if self._client is not None:
            self._client = None
            _CLIENTS.release(self.uri)


def _calibrate(client: Any, name: str, dense: MilvusVectorIndex) -> None:
    """Choose the smallest ef / nprobe whose recall@10 against exact search (computed here
    from the vectors being inserted) reaches the target plus the sample margin."""
    _wait_for_index(client, name, "dense")  # else the search is brute force: recall 1.0
    client.release_collection(name)  # reload: searches now go through the built index
    _load_collection(client, name)
    dense.client, dense.collection = client, name  # searchable now

    def search(queries: np.ndarray, k: int, value: int) -> np.ndarray:
        return dense.search(queries, k, value=value)[1]

    grid = (tuning.EF_GRID if dense.kind == "hnsw"
            else tuning.nprobe_grid(dense.build_params()["nlist"]))
    calibration, source = tuning.calibrate_index(
        search, dense.pending, dense.ann.get("calibration_queries"), grid,
        float(dense.ann.get("recall_target", tuning.DEFAULT_TARGET)), SEARCH_PARAM[dense.kind])
    dense.search_value = calibration.value
    dense.calibration, dense.calibration_source = calibration, source
    dense.ann = {}


def _load_collection(client: Any, name: str, attempts: int = 4) -> None:
    """``load_collection``, tried again after a pause when it fails: Milvus Lite sometimes
    fails to read a just-written index file ("read error … Resource temporarily
    unavailable") and reads it at the next try; the last failure is raised."""
    for attempt in range(attempts):
        try:
            client.load_collection(name)
            return
        except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException and others
            if attempt == attempts - 1:
                raise
            log.debug("loading Milvus collection %s failed (%s); trying again", name, exc)
            time.sleep(0.5 * (attempt + 1))


def _wait_for_index(client: Any, name: str, field: str, timeout: float = 6 * 3600) -> None:
    """Block until the index of ``field`` covers every inserted row (Milvus builds it in the
    background after a flush; until then searches scan the rows exactly)."""
    deadline = time.monotonic() + timeout
    while True:
        info = client.describe_index(name, field) or {}
        total, done = info.get("total_rows"), info.get("indexed_rows")
        if info.get("state") == "Finished" and not info.get("pending_index_rows") and \
                (total is None or done == total):
            return
        if info.get("state") == "Failed":
            raise BackendError(f"Milvus could not build the {field} index of {name!r}: "
                               f"{info.get('index_state_fail_reason') or info}")
        if time.monotonic() > deadline:
            raise BackendError(f"the {field} index of {name!r} was not built within "
                               f"{timeout:.0f} s: {info}")
        time.sleep(0.2)


def _create_collection(client: Any, name: str, dim: int, index_type: str = "FLAT",
                       index_params: dict[str, int] | None = None) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    params = client.prepare_index_params()
    params.add_index(field_name="dense", index_type=index_type, metric_type="IP",
                     params=index_params or {})
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=params,
                             consistency_level="Strong")


def _drop(client: Any, name: str) -> None:
    try:
        if client.has_collection(name):
            client.drop_collection(name)
    except Exception:  # noqa: BLE001 - best effort; prune retries later
        pass
