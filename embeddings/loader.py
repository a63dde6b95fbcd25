"""Load sentence-transformers models: the rebuilt default e5 model or any local / hub model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from embeddings.base import DEFAULT_ALIASES, DEFAULT_MODEL
from embeddings.convert import default_model_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_PASSAGE_PROMPT_NAMES = ("passage", "document", "corpus")


class ModelLoadError(ValueError):
    """An embedding model could not be loaded."""


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set to a truthy value."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _error(name: str, exc: BaseException) -> ModelLoadError:
    msg = (f"cannot load embedding model {name!r}: it must be a sentence-transformers model "
           "name or a local sentence-transformers folder")
    if hub_offline():
        msg += " (the Hugging Face hub is offline: HF_HUB_OFFLINE is set, so only local folders "
        msg += "and models already in the local cache can be used)"
    return ModelLoadError(f"{msg}; {type(exc).__name__}: {exc}")


def load_sentence_transformer(
    name_or_path: str | None = None, cache_dir: Path | str | None = None
) -> SentenceTransformer:
    """Load a model on CPU; None or an alias of the default loads the rebuilt multilingual-e5-small.

    Raises:
        ModelLoadError: the model cannot be found or loaded.
    """
    from sentence_transformers import SentenceTransformer

    name = (name_or_path or DEFAULT_MODEL).strip()
    try:
        if name in DEFAULT_ALIASES:
            path = default_model_dir(cache_dir)
            return SentenceTransformer(str(path), device="cpu", local_files_only=True)
        return SentenceTransformer(name, device="cpu", local_files_only=hub_offline())
    except Exception as exc:  # any failure (missing repo, bad folder, conversion) -> one type
        raise _error(name, exc) from exc


def model_prompts(model: SentenceTransformer) -> tuple[str | None, str | None]:
    """Prompt names for (queries, passages): "query" and "passage" (or "document" / "corpus").

    Only non-empty prompts count; a model without them gets ``(None, None)``.
    """
    prompts = getattr(model, "prompts", None) or {}
    query = "query" if prompts.get("query") else None
    passage = next((n for n in _PASSAGE_PROMPT_NAMES if prompts.get(n)), None)
    return query, passage
