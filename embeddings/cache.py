"""On-disk embedding cache keyed by (model, prompt, text hash), in one SQLite file per model."""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class EmbeddingCache:
    """Vectors already computed for a model, so that re-indexing embeds only new text."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._broken = False  # a damaged file found while in use: stop reading and writing
        try:
            self._db = self._open()
        except sqlite3.OperationalError as exc:  # locked past the timeout, read-only, I/O
            log.warning("embedding cache %s cannot be used (%s); continuing without it", path,
                        exc)
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
            self._broken = True
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            log.warning("embedding cache %s is unreadable (%s); moved to %s and started anew "
                        "(it is only a cache: vectors are computed again)", path, exc, aside.name)
            for suffix in ("", "-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    side.replace(aside.with_name(aside.name + suffix))
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            db.execute("SELECT key, vec FROM emb LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _damaged(self, exc: sqlite3.DatabaseError) -> None:
        if not self._broken:
            log.warning("embedding cache %s is damaged (%s); continuing without it",
                        self.path, exc)
        self._broken = True

    @classmethod
    def for_model(cls, root: Path, model_id: str, dim: int) -> EmbeddingCache:
        slug = re.sub(r"[^\w.-]+", "_", model_id).strip("_")[:80] or "model"
        return cls(root / f"{slug}-{dim}.sqlite", dim)

    @staticmethod
    def key(model_id: str, prompt: str, text: str) -> str:
        return hashlib.sha1(f"{model_id}\0{prompt}\0{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            if self._broken:
                return found
            try:
                for i in range(0, len(keys), 500):
                    part = list(keys[i:i + 500])
                    marks = ",".join("?" * len(part))
                    rows = self._db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})",
                                            part)
                    for key, blob in rows:
                        vec = self._vector(blob)
                        if vec is not None:
                            found[key] = vec
            except sqlite3.DatabaseError as exc:
                self._damaged(exc)
                return {}
        return found

    def _vector(self, blob: object) -> np.ndarray | None:
        """A stored row as a vector, or None (a miss: computed again) when the row is not
        ``dim`` finite float32 values: a damaged page or a foreign writer must never crash a
        build or put NaN/garbage vectors into an index."""
        if not isinstance(blob, bytes) or len(blob) != 4 * self.dim:
            return None
        vec = np.frombuffer(blob, dtype=np.float32)
        return vec if np.isfinite(vec).all() else None

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vectors)]
        with self._lock:
            if self._broken:
                return
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)",
                                         rows)
            except sqlite3.DatabaseError as exc:
                self._damaged(exc)

    def __len__(self) -> int:
        with self._lock:
            if self._broken:
                return 0
            return int(self._db.execute("SELECT COUNT(*) FROM emb").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
