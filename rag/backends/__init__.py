"""Search backends behind one interface (``rag.backends.base``): ``faiss`` (embedded default)
and ``milvus`` (Milvus Lite file or Milvus server)."""

from __future__ import annotations

from pathlib import Path

from rag.backends.base import BACKENDS, Backend, BackendSpec, KeywordIndex, VectorIndex
from rag.errors import BackendError

__all__ = ["BACKENDS", "Backend", "BackendSpec", "KeywordIndex", "VectorIndex",
           "default_uri", "open_backend"]

LITE_FILE = "milvus.db"


def default_uri(index_root: Path) -> str:
    """Milvus Lite file of an index when no ``uri`` is given: ``<index dir>/milvus.db``."""
    return str(Path(index_root).expanduser().resolve() / LITE_FILE)


def open_backend(spec: BackendSpec, index_root: Path) -> Backend:
    """The backend named by ``spec`` for the index directory ``index_root``."""
    if spec.name == "faiss":
        from rag.backends.faiss import FaissBackend

        return FaissBackend()
    if spec.name == "milvus":
        from rag.backends.milvus import MilvusBackend

        return MilvusBackend(spec.uri or default_uri(index_root), index_root)
    raise BackendError(f"unknown backend {spec.name!r}; use one of {', '.join(BACKENDS)}")
