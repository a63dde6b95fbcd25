"""jieba's prefix dictionary from a compact cache file: the same dictionary, 4× faster to load.

jieba keeps its parsed dictionary (about 500k words and prefixes with their frequencies) in a
``marshal`` file that takes about a second to load here, the largest single cost of a cold
``rag ask``. The same data as one UTF-8 block of words and an int64 array of frequencies loads
in about 0.3 s. The file is derived from jieba's own initialisation (so it is exactly jieba's
dictionary), written once per jieba version and dictionary file, atomically; a missing,
foreign or damaged file is rebuilt.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from pathlib import Path

import jieba
import numpy as np

log = logging.getLogger(__name__)
MAGIC = b"rag-news jieba prefix dictionary 1\n"
_HEADER = struct.Struct("<qqq")  # entries, total frequency, bytes of the word block


def cache_file(cache_dir: Path) -> Path:
    """The cache file for the installed jieba and its default dictionary."""
    dict_file = Path(jieba.__file__).with_name(jieba.DEFAULT_DICT_NAME)
    size = dict_file.stat().st_size if dict_file.is_file() else 0
    return Path(cache_dir) / "jieba" / f"prefix-dict-{jieba.__version__}-{size}.bin"


def tokenizer(cache_dir: Path) -> jieba.Tokenizer:
    """An initialised ``jieba.Tokenizer`` of the default dictionary, read from the cache under
    ``cache_dir`` (written on first use)."""
    tok = jieba.Tokenizer()
    path = cache_file(cache_dir)
    loaded = read(path)
    if loaded is not None:
        tok.FREQ, tok.total = loaded
        tok.initialized = True
        return tok
    tok.initialize()
    try:
        write(path, tok.FREQ, tok.total)
    except OSError as exc:  # a read-only cache: jieba's own cache still works
        log.warning("cannot write the jieba dictionary cache %s: %s", path, exc)
    return tok


def write(path: Path, freq: dict[str, int], total: int) -> None:
    words = "\n".join(freq).encode("utf-8")
    values = np.fromiter(freq.values(), dtype="<i8", count=len(freq))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC)
            out.write(_HEADER.pack(len(freq), total, len(words)))
            out.write(words)
            out.write(values.tobytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path: Path) -> tuple[dict[str, int], int] | None:
    """(frequencies, total) from ``path``, or None when it is missing or not a whole file of
    this format."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    start = len(MAGIC) + _HEADER.size
    if not blob.startswith(MAGIC) or len(blob) < start:
        return None
    count, total, size = _HEADER.unpack_from(blob, len(MAGIC))
    if len(blob) != start + size + 8 * count:
        return None
    try:
        words = blob[start:start + size].decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    if len(words) != count:
        return None
    values = np.frombuffer(blob, dtype="<i8", offset=start + size, count=count)
    return dict(zip(words, values.tolist(), strict=True)), int(total)
