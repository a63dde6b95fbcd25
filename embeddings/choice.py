"""Which encoder serves a model: ``torch`` (sentence-transformers), ``onnx`` (fp32 ONNX Runtime,
the same vectors) or ``onnx-int8`` (dynamic int8; cosine >= 0.99 to fp32, its own vectors).

``auto`` picks ``onnx-int8`` for the default model (faster on CPU, no torch at query time) and
``torch`` for any other model. An index records its concrete variant; queries to it are
encoded by the fastest variant of the same *vector family* (fp32: torch or onnx; int8)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from embeddings.base import DEFAULT_MODEL, TextEncoder, canonical_model_name

ENCODERS = ("auto", "torch", "onnx", "onnx-int8")
AUTO_DEFAULT = "onnx-int8"


def _onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_encoder(choice: str | None, model: str | None = None) -> str:
    """The concrete variant for ``choice`` ("auto" resolved); a bad name is a ValueError."""
    choice = (choice or "auto").strip().lower()
    if choice not in ENCODERS:
        raise ValueError(f"unknown encoder {choice!r}; use one of {', '.join(ENCODERS)}")
    if choice != "auto":
        if choice != "torch" and canonical_model_name(model) != DEFAULT_MODEL:
            raise ValueError(f"encoder {choice!r} serves {DEFAULT_MODEL} only, not {model!r}; "
                             "use encoder 'torch' (or 'auto') for other models")
        return choice
    if canonical_model_name(model) == DEFAULT_MODEL and _onnxruntime_installed():
        return AUTO_DEFAULT
    return "torch"


def vector_family(variant: str | None) -> str:
    """"int8" for the quantised encoder, "fp32" for torch and fp32 ONNX (same vectors)."""
    return "int8" if variant == "onnx-int8" else "fp32"


def query_encoder(index_variant: str | None, model: str | None = None) -> str:
    """The variant that encodes queries (and refreshes) for an index built with
    ``index_variant`` (None: an index from before encoders were recorded, i.e. torch): fp32
    indexes are served by fp32 ONNX (no torch) for the default model."""
    variant = index_variant or "torch"
    if (variant == "torch" and canonical_model_name(model) == DEFAULT_MODEL
            and _onnxruntime_installed()):
        return "onnx"
    return variant


def make_encoder(model: str | None, cache_dir: Path | None, batch_size: int = 32, *,
                 variant: str = "auto", query_threads: int = 1,
                 passage_threads: int | None = None,
                 model_cache_dir: Path | None = None) -> TextEncoder:
    """An encoder of ``model`` by ``variant`` (see :func:`resolve_encoder`); nothing heavy is
    imported or loaded until it first encodes. ``cache_dir``: the embedding cache folder;
    ``model_cache_dir``: the folder whose ``models/`` holds the rebuilt default model."""
    variant = resolve_encoder(variant, model)
    if variant == "torch":
        from embeddings.encoder import Encoder

        return Encoder(model, cache_dir, batch_size, query_threads, passage_threads,
                       model_cache_dir=model_cache_dir)
    from embeddings.onnx_encoder import OnnxEncoder

    return OnnxEncoder(model, cache_dir, batch_size, query_threads, passage_threads,
                       variant=variant, model_cache_dir=model_cache_dir)
